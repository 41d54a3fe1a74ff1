package gpio

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/campusguard/campusguard/event/eventtest"
	"github.com/jonboulle/clockwork"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"
)

// wait is the test's guard against a hang, not a timing assertion.
const wait = 5 * time.Second

// tpin is a gpiotest pin that tells the test when the driver configured it as an
// input (In returned, so edges sent now are not flushed) and every level the driver
// wrote to it.
type tpin struct {
	*gpiotest.Pin
	inC  chan struct{}
	outs chan gpio.Level
}

func newTPin(name string, l gpio.Level) *tpin {
	return &tpin{
		// Unbuffered edges: a send returns once the driver's WaitForEdge took it.
		// The pin's own clock is real: it only bounds the edge wait.
		Pin:  &gpiotest.Pin{N: name, L: l, EdgesChan: make(chan gpio.Level), Clock: clockwork.NewRealClock()},
		inC:  make(chan struct{}, 16),
		outs: make(chan gpio.Level, 1024),
	}
}

func (p *tpin) In(pull gpio.Pull, edge gpio.Edge) error {
	err := p.Pin.In(pull, edge)
	p.inC <- struct{}{}
	return err
}

func (p *tpin) Out(l gpio.Level) error {
	err := p.Pin.Out(l)
	p.outs <- l
	return err
}

func (p *tpin) level() gpio.Level { return p.Pin.Read() }

// awaitIn waits until the driver opened the pin as an input.
func (p *tpin) awaitIn(t *testing.T) {
	t.Helper()
	select {
	case <-p.inC:
	case <-time.After(wait):
		t.Fatalf("pin %s never opened", p.N)
	}
}

// edge sends a level change to the driver.
func (p *tpin) edge(t *testing.T, l gpio.Level) {
	t.Helper()
	select {
	case p.EdgesChan <- l:
	case <-time.After(wait):
		t.Fatalf("pin %s: nobody waits for edges", p.N)
	}
}

// awaitOut waits for the driver's next write to the pin.
func (p *tpin) awaitOut(t *testing.T) gpio.Level {
	t.Helper()
	select {
	case l := <-p.outs:
		return l
	case <-time.After(wait):
		t.Fatalf("pin %s: no write", p.N)
		return false
	}
}

// noOut asserts the driver wrote nothing since the last awaitOut.
func (p *tpin) noOut(t *testing.T) {
	t.Helper()
	select {
	case l := <-p.outs:
		t.Fatalf("pin %s: unexpected write %v", p.N, l)
	default:
	}
}

// newRecorder is the Publisher the driver's events go to.
func newRecorder() *eventtest.Recorder { return eventtest.NewRecorder(nil) }

// rig is a driver on gpiotest pins with a fake clock.
type rig struct {
	d     *Driver
	clk   *clockwork.FakeClock
	rec   *eventtest.Recorder
	src   *MapSource
	steps chan string
	pins  map[string]*tpin
	stop  func()
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// newRig builds a driver with the given pins (all initially at their level) and
// config, and runs it. Heartbeats are off unless cfg asks for them.
func newRig(t *testing.T, cfg Config, pins ...*tpin) *rig {
	t.Helper()
	r := &rig{
		clk:   clockwork.NewFakeClockAt(time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)),
		rec:   newRecorder(),
		src:   NewMapSource(nil),
		steps: make(chan string, 1024),
		pins:  map[string]*tpin{},
	}
	for _, p := range pins {
		r.src.Set(p.N, p)
		r.pins[p.N] = p
	}
	d, err := New(Options{Site: "s01", Source: r.src, Publisher: r.rec, Clock: r.clk, Logger: quietLog(), EdgeTimeout: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	d.stepHook = func(dev string) { r.steps <- dev }
	if cfg.Heartbeat == 0 {
		cfg.Heartbeat = -1
	}
	if err := d.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	r.d = d
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	var once bool
	r.stop = func() {
		if once {
			return
		}
		once = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(wait):
			t.Error("Run did not stop")
		}
	}
	t.Cleanup(r.stop)
	return r
}

// step waits until an input's loop handled one more thing (sample, timer, reset).
func (r *rig) step(t *testing.T) {
	t.Helper()
	select {
	case <-r.steps:
	case <-time.After(wait):
		t.Fatal("input made no step")
	}
}

// edge sends an edge and waits until the input handled it.
func (r *rig) edge(t *testing.T, pin string, l gpio.Level) {
	t.Helper()
	r.pins[pin].edge(t, l)
	r.step(t)
}

// advance moves the fake clock; when the input has a timer due, wait for its step.
func (r *rig) advance(t *testing.T, d time.Duration, fires bool) {
	t.Helper()
	r.clk.Advance(d)
	if fires {
		r.step(t)
	}
}

// newOpenRig starts a rig over one pin P1, idle high, and returns once cfg's input
// opened it and read its level at open.
func newOpenRig(t *testing.T, cfg Config) *rig {
	t.Helper()
	p := newTPin("P1", gpio.High)
	r := newRig(t, cfg, p)
	p.awaitIn(t)
	r.step(t)
	return r
}
