package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

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
// debounced events; a glitch shorter than the debounce makes none.
func TestGPIOWatchSim(t *testing.T) {
	r, w := io.Pipe()
	old := stdin
	stdin = r
	defer func() { stdin = old }()
	go func() {
		defer w.Close()
		step := func(s string, d time.Duration) { _, _ = io.WriteString(w, s+"\n"); time.Sleep(d) }
		step("0", 200*time.Millisecond) // pressed
		step("1", 5*time.Millisecond)   // a bounce...
		step("0", 200*time.Millisecond) // ...back before the debounce: still pressed
		step("1", 200*time.Millisecond) // released
	}()
	var out, errb bytes.Buffer
	code := gpioWatch(context.Background(), []string{"--sim", "--debounce", "50ms", "GPIO17"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var types []string
	for _, l := range lines {
		if f := strings.Fields(l); len(f) >= 2 {
			types = append(types, f[1])
		}
	}
	if strings.Join(types, ",") != "pressed,released" {
		t.Fatalf("events %v, want pressed, released:\n%s\n%s", types, out.String(), errb.String())
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
