package siren

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/event"
)

// pinOutput is a minimal Output over a periph pin, as the daemon's adapter to the GPIO
// driver would be: it plays the pattern on its own goroutine and stops after maxOn.
type pinOutput struct {
	pin   gpio.PinOut
	clock clockwork.Clock

	mu       sync.Mutex
	stop     chan struct{}
	done     chan struct{}
	silenced chan struct{} // receives after every Silence (buffered; optional)
}

func (o *pinOutput) Sound(p Pattern, maxOn time.Duration) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.halt()
	if err := o.pin.Out(gpio.High); err != nil {
		return err
	}
	o.stop, o.done = make(chan struct{}), make(chan struct{})
	go o.play(p, maxOn, o.stop, o.done)
	return nil
}

func (o *pinOutput) play(p Pattern, maxOn time.Duration, stop, done chan struct{}) {
	defer close(done)
	end := o.clock.Now().Add(maxOn)
	level := gpio.High
	for {
		wait := o.clock.Until(end)
		if p.Mode == Pulse {
			step := p.On
			if level == gpio.Low {
				step = p.Off
			}
			wait = min(wait, step)
		}
		select {
		case <-stop:
			return
		case <-o.clock.After(wait):
		}
		if !o.clock.Now().Before(end) {
			_ = o.pin.Out(gpio.Low)
			return
		}
		level = !level
		_ = o.pin.Out(level)
	}
}

// halt stops the pattern goroutine and waits for it (o.mu held).
func (o *pinOutput) halt() {
	if o.stop != nil {
		close(o.stop)
		<-o.done
		o.stop, o.done = nil, nil
	}
}

func (o *pinOutput) Silence() error { return o.Off() }

func (o *pinOutput) Off() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.halt()
	err := o.pin.Out(gpio.Low)
	if o.silenced != nil {
		o.silenced <- struct{}{}
	}
	return err
}

func TestGpiotestPinBehindOutput(t *testing.T) {
	clock := clockwork.NewFakeClock()
	pin := NewLevelPin(&gpiotest.Pin{N: "SIREN1", Num: 17, Clock: clock}, 16)
	out := &pinOutput{pin: pin, clock: clock}
	cfg := Config{
		Outputs: []OutputConfig{{ID: "gate-siren", PatternConfig: PatternConfig{Pattern: Pulse, PulseOn: 100 * time.Millisecond, PulseOff: 200 * time.Millisecond, MaxOn: time.Second}}},
		Routes:  []Route{{Zones: []string{"guardroom"}, Outputs: []string{"gate-siren"}}},
	}
	s, err := New(cfg, map[string]Output{"gate-siren": out}, Options{Clock: clock, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	expect := func(want gpio.Level) {
		t.Helper()
		pin.Expect(ctx, t, want)
		if pin.Read() != want {
			t.Fatalf("pin reads %s, want %s", pin.Read(), want)
		}
	}
	advance := func(d time.Duration) {
		t.Helper()
		// The sink's max-on timer and the pattern goroutine's wait.
		if err := clock.BlockUntilContext(ctx, 2); err != nil {
			t.Fatal(err)
		}
		clock.Advance(d)
	}

	a := alarm("a1", "guardroom", event.KindPanic, alerting.Critical)
	if err := s.Sound(a); err != nil {
		t.Fatal(err)
	}
	expect(gpio.High)
	advance(100 * time.Millisecond)
	expect(gpio.Low)
	advance(200 * time.Millisecond)
	expect(gpio.High)
	if err := s.Release(a); err != nil {
		t.Fatal(err)
	}
	expect(gpio.Low)

	// Steady until the max on-time: the adapter and the sink both turn it off.
	s2cfg := cfg
	s2cfg.Name = "siren2"
	s2cfg.Outputs = []OutputConfig{{ID: "gate-siren", PatternConfig: PatternConfig{Pattern: Steady, MaxOn: time.Second}}}
	s2, err := New(s2cfg, map[string]Output{"gate-siren": out}, Options{Clock: clock, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if err := s2.Sound(a); err != nil {
		t.Fatal(err)
	}
	expect(gpio.High)
	out.mu.Lock()
	out.silenced = make(chan struct{}, 4)
	out.mu.Unlock()
	advance(time.Second)
	select { // the sink's own cut-off, whether or not the adapter's came first
	case <-out.silenced:
	case <-ctx.Done():
		t.Fatal("the sink did not silence the output at its max on-time")
	}
	pin.OnlyLow(t, "the max on-time")
	if pin.Read() != gpio.Low {
		t.Fatal("pin still high")
	}
	if st := s2.Outputs()[0]; st.Sounding || !st.TimedOut {
		t.Fatalf("after max on: %+v", st)
	}
}
