package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/campusguard/campusguard/internal/config"
)

func TestGPIOListNoChip(t *testing.T) {
	var out, errb bytes.Buffer
	code := gpioList(func() ([]chipInfo, error) { return nil, nil }, &out, &errb)
	if code != 1 || !strings.Contains(errb.String(), "this machine has no GPIO chip (/dev/gpiochip* is missing)") {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
}

func TestGPIOListChips(t *testing.T) {
	var out, errb bytes.Buffer
	chips := []chipInfo{{Name: "gpiochip0", Label: "pinctrl-bcm2711", Path: "/dev/gpiochip0", Lines: []lineInfo{
		{Number: 17, Name: "GPIO17", Function: "In/High"},
		{Number: 18, Name: "GPIO18", Function: "Out/Low", Consumer: "campusguard"},
		{Number: 19, Function: "In/Low"},
	}}}
	if code := gpioList(func() ([]chipInfo, error) { return chips, nil }, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, w := range []string{`/dev/gpiochip0  gpiochip0  label "pinctrl-bcm2711", 3 lines`,
		"17    GPIO17               In/High      free", "18    GPIO18               Out/Low      campusguard", "19    -"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("missing %q in:\n%s", w, out.String())
		}
	}
}

// TestGPIOWatchSim: levels typed for a simulated line come out as the daemon's
// debounced events; a glitch shorter than the debounce makes none. The debounce runs
// on a fake clock, so the glitch is shorter than it however slowly the test runs.
func TestGPIOWatchSim(t *testing.T) {
	const wait = 10 * time.Second // bounds every wait for a signal
	in, typed := io.Pipe()
	clk := clockwork.NewFakeClock()
	oldIn, oldClock := stdin, watchClock
	stdin, watchClock = in, clk
	defer func() { stdin, watchClock = oldIn, oldClock }()
	defer typed.Close()

	outR, outW := io.Pipe()
	events := make(chan string, 100)
	lines := make(chan []string, 1)
	go func() {
		var all []string
		sc := bufio.NewScanner(outR)
		for sc.Scan() {
			all = append(all, sc.Text())
			if f := strings.Fields(sc.Text()); len(f) >= 2 {
				events <- f[1]
			}
		}
		lines <- all
	}()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var errb bytes.Buffer
	exit := make(chan int, 1)
	go func() {
		exit <- gpioWatch(ctx, []string{"--sim", "--debounce", "50ms", "GPIO17"}, outW, &errb)
		_ = outW.Close()
	}()

	level := func(s string) {
		t.Helper()
		wrote := make(chan error, 1)
		go func() { _, err := io.WriteString(typed, s+"\n"); wrote <- err }()
		select {
		case err := <-wrote:
			if err != nil {
				t.Fatal(err)
			}
		case code := <-exit:
			t.Fatalf("gpio watch ended (exit %d) before level %s was read", code, s)
		case <-time.After(wait):
			t.Fatalf("level %s not read", s)
		}
	}
	// again types s three more times (the level the line already has: it arms no
	// timer). A line is read only once the one before it went to the pin, whose
	// reader takes that edge only once it handed over the level before it, which the
	// input loop takes only once it handled the one before that: after three more
	// lines, the input loop handled every level typed before them.
	again := func(s string) {
		t.Helper()
		for i := 0; i < 3; i++ {
			level(s)
		}
	}
	// waiters waits until n timers wait on gpio watch's clock: the input's heartbeat
	// ticker (every 60 s, never reached here), started once the pin is open, and the
	// input loop's debounce timer.
	waiters := func(n int) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		if err := clk.BlockUntilContext(ctx, n); err != nil {
			t.Fatalf("%d timers not waiting: %v", n, err)
		}
	}
	await := func(want string) {
		t.Helper()
		select {
		case got := <-events:
			if got != want {
				t.Fatalf("event %s, want %s", got, want)
			}
		case <-time.After(wait):
			t.Fatalf("no %s event", want)
		}
	}

	waiters(1) // the pin is open: opening it drops edges typed before
	level("0") // pressed
	waiters(2)
	clk.Advance(50 * time.Millisecond)
	await("pressed")
	level("1") // a bounce...
	level("0") // ...back before the debounce: still pressed
	again("0") // the bounce's timer is stopped
	level("1") // released
	waiters(2)
	clk.Advance(50 * time.Millisecond)
	await("released")

	cancel()
	var code int
	select {
	case code = <-exit:
	case <-time.After(wait):
		t.Fatal("gpio watch did not stop")
	}
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	all := <-lines
	var types []string
	for _, l := range all {
		if f := strings.Fields(l); len(f) >= 2 {
			types = append(types, f[1])
		}
	}
	if strings.Join(types, ",") != "pressed,released" {
		t.Fatalf("events %v, want pressed, released:\n%s\n%s", types, strings.Join(all, "\n"), errb.String())
	}
}

func TestGPIOWatchNoChip(t *testing.T) {
	if len(config.GPIOChips()) > 0 {
		t.Skip("this machine has GPIO chips")
	}
	var out, errb bytes.Buffer
	if code := gpioWatch(context.Background(), []string{"GPIO17"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "no GPIO chip") {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
}
