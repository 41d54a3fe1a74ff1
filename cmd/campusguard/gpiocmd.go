package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jonboulle/clockwork"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"
	"periph.io/x/host/v3"
	"periph.io/x/host/v3/gpioioctl"

	gpiodrv "github.com/campusguard/campusguard/drivers/gpio"
	"github.com/campusguard/campusguard/event"
	"github.com/campusguard/campusguard/internal/config"
)

// stdin is the sim pin's level input for `gpio watch --sim` (tests replace it).
var stdin io.Reader = os.Stdin

// watchClock is the clock of `gpio watch`'s debounce and hold (nil: the real clock;
// tests set a fake one).
var watchClock clockwork.Clock

// cmdGPIO: gpio list | gpio watch PIN.
func cmdGPIO(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: campusguard gpio list | gpio watch [flags] PIN")
		return 2
	}
	switch args[0] {
	case "list":
		return gpioList(listHostChips, stdout, stderr)
	case "watch":
		return gpioWatch(ctx, args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "campusguard gpio: unknown subcommand %q (list, watch)\n", args[0])
	return 2
}

// chipInfo is one GPIO chip as `gpio list` shows it.
type chipInfo struct {
	Name, Label, Path string
	Lines             []lineInfo
}

type lineInfo struct {
	Number   int
	Name     string
	Function string // In/High, Out/Low...
	Consumer string // who holds the line ("" = free)
}

// listHostChips reads this machine's GPIO chips through periph's character-device
// driver (the one the daemon uses).
func listHostChips() ([]chipInfo, error) {
	if len(config.GPIOChips()) == 0 {
		return nil, nil
	}
	if _, err := host.Init(); err != nil {
		return nil, fmt.Errorf("gpio host init: %w", err)
	}
	var out []chipInfo
	for _, c := range gpioioctl.Chips {
		ci := chipInfo{Name: c.Name(), Label: c.Label(), Path: c.Path()}
		for _, l := range c.Lines() {
			ci.Lines = append(ci.Lines, lineInfo{Number: l.Number(), Name: l.Name(), Function: l.Function(), Consumer: l.Consumer()})
		}
		out = append(out, ci)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

func gpioList(list func() ([]chipInfo, error), stdout, stderr io.Writer) int {
	chips, err := list()
	if err != nil {
		fmt.Fprintf(stderr, "campusguard gpio list: %v\n", err)
		return 1
	}
	if len(chips) == 0 {
		fmt.Fprintln(stderr, "campusguard gpio list: this machine has no GPIO chip (/dev/gpiochip* is missing).\n"+
			"  The board's GPIO driver is not loaded, or this box has no GPIO: wire the buttons and sirens\n"+
			"  to a gateway that has, or use MQTT devices (docs/mqtt-mapping.md).")
		return 1
	}
	for _, c := range chips {
		fmt.Fprintf(stdout, "%s  %s  label %q, %d lines\n", c.Path, c.Name, c.Label, len(c.Lines))
		fmt.Fprintf(stdout, "  %-5s %-20s %-12s %s\n", "line", "name", "state", "held by")
		for _, l := range c.Lines {
			name := l.Name
			if name == "" {
				name = "-"
			}
			held := l.Consumer
			if held == "" {
				held = "free"
			}
			state := l.Function
			if state == "" {
				state = "-"
			}
			fmt.Fprintf(stdout, "  %-5d %-20s %-12s %s\n", l.Number, name, state, held)
		}
	}
	fmt.Fprintln(stdout, "\nIn gpio.inputs / gpio.outputs use the line's name (pin: GPIO17) or its chip and number\n(chip: gpiochip0, line: 17). A line held by another program cannot be opened.")
	return 0
}

// gpioWatch runs the daemon's own GPIO input code on one line and prints the events
// it makes: debounced and held exactly as in the daemon.
func gpioWatch(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gpio watch", flag.ContinueOnError)
	fs.SetOutput(stderr)
	contact := fs.String("contact", "no", "no (normally open) or nc (normally closed)")
	active := fs.String("active-level", "low", "the level while the contact is closed: low or high")
	pull := fs.String("pull", "", "up, down or none (default: up for active-level low)")
	debounce := fs.Duration("debounce", gpiodrv.DefaultDebounce, "how long a level must be stable (e.g. 20ms)")
	hold := fs.Duration("hold", 0, "how long the contact must stay active before it counts")
	kind := fs.String("kind", "panic", "device kind, for the event names (panic, antifall...)")
	sim := fs.Bool("sim", false, "watch a simulated line: type 0/low or 1/high on stdin to set its level")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: campusguard gpio watch [flags] PIN   (PIN: GPIO17, a line name, or gpiochip0/17)")
		fs.PrintDefaults()
	}
	if !parseArgs(fs, args, 1) {
		return 2
	}
	ref := gpiodrv.PinRef{Pin: fs.Arg(0)}
	if i := strings.LastIndexByte(ref.Pin, '/'); i > 0 {
		if n, err := strconv.Atoi(ref.Pin[i+1:]); err == nil {
			ref = gpiodrv.PinRef{Chip: ref.Pin[:i], Line: n}
		}
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	var src gpiodrv.PinSource
	if *sim {
		idle := gpio.High
		if (*active == "high") != (*contact == "nc") {
			idle = gpio.Low
		}
		p := &gpiotest.Pin{N: ref.Name(), L: idle, EdgesChan: make(chan gpio.Level)}
		src = gpiodrv.NewMapSource(map[string]gpio.PinIO{ref.Name(): p})
		ctx = feedLevels(ctx, p.EdgesChan, stderr)
	} else if len(config.GPIOChips()) == 0 {
		fmt.Fprintln(stderr, "campusguard gpio watch: this machine has no GPIO chip (/dev/gpiochip* is missing); --sim watches a simulated line")
		return 1
	}
	pr := &printer{w: stdout}
	d, err := gpiodrv.New(gpiodrv.Options{Site: "watch", Source: src, Publisher: pr, Clock: watchClock,
		Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		fmt.Fprintf(stderr, "campusguard gpio watch: %v\n", err)
		return 1
	}
	in := gpiodrv.InputConfig{Device: "watch", Kind: event.Kind(*kind), PinRef: ref, Contact: *contact,
		ActiveLevel: *active, Pull: *pull, Debounce: *debounce, Hold: *hold}
	if err := d.Apply(gpiodrv.Config{Inputs: []gpiodrv.InputConfig{in}}); err != nil {
		fmt.Fprintf(stderr, "campusguard gpio watch: %v\n", err)
		return 2
	}
	fmt.Fprintf(stderr, "watching %s (contact %s, active %s, debounce %s, hold %s); Ctrl-C stops\n",
		ref.Name(), *contact, *active, *debounce, *hold)
	if err := d.Run(ctx); err != nil && ctx.Err() == nil {
		fmt.Fprintf(stderr, "campusguard gpio watch: %v\n", err)
		return 1
	}
	return 0
}

// feedLevels sends the levels typed on stdin to a simulated pin; the returned context
// ends at the end of the input.
func feedLevels(ctx context.Context, ch chan<- gpio.Level, stderr io.Writer) context.Context {
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		defer cancel()
		sc := bufio.NewScanner(stdin)
		for sc.Scan() {
			var l gpio.Level
			switch strings.ToLower(strings.TrimSpace(sc.Text())) {
			case "0", "low", "l":
				l = gpio.Low
			case "1", "high", "h":
				l = gpio.High
			case "":
				continue
			default:
				fmt.Fprintln(stderr, "type 0 (low) or 1 (high)")
				continue
			}
			select {
			case ch <- l:
			case <-ctx.Done():
				return
			}
		}
		// Let the last level settle through debounce and hold before stopping.
		select {
		case <-time.After(500 * time.Millisecond):
		case <-ctx.Done():
		}
	}()
	return ctx
}

// printer prints each event the driver publishes, one line each.
type printer struct {
	mu sync.Mutex
	w  io.Writer
}

func (p *printer) Publish(_ context.Context, e event.Event) (event.Event, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	at := e.ReceivedAt
	if at.IsZero() {
		at = time.Now()
	}
	var fields []string
	for k, v := range e.Fields {
		fields = append(fields, fmt.Sprintf("%s=%v", k, v))
	}
	sort.Strings(fields)
	fmt.Fprintf(p.w, "%s  %-10s %s\n", at.Format("15:04:05.000"), e.Type, strings.Join(fields, " "))
	return e, nil
}
