package gpio

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"periph.io/x/conn/v3/gpio"
)

// Errors of Output.
var (
	// ErrClosed: the output was removed by a reload or the driver stopped.
	ErrClosed = errors.New("output closed")
	// ErrUnknownOutput: no output has that id.
	ErrUnknownOutput = errors.New("unknown output")
)

// OutputState is an output's state for alerting, health and the console.
type OutputState struct {
	ID       string    `json:"id"`
	Pin      string    `json:"pin"`
	Sounding bool      `json:"sounding"`          // a pattern is running
	On       bool      `json:"on"`                // the relay is on right now
	Pattern  string    `json:"pattern,omitempty"` // the running pattern
	Since    time.Time `json:"since,omitzero"`    // when it started sounding
	Until    time.Time `json:"until,omitzero"`    // when it turns off by itself
	// Stopped says why it last stopped: "silenced" (by a person), "off" (without a
	// person), "expired" (max_on or the duration asked for ran out), "closed".
	Stopped string `json:"stopped,omitempty"`
	Fault   string `json:"fault,omitempty"`
}

// Output is one relay output. Safe for concurrent use. Pattern steps and the
// automatic turn-off run on clock timers; the pin is written with the lock held.
type Output struct {
	cfg     OutputConfig
	pattern Pattern // the default pattern
	clock   clockwork.Clock
	src     PinSource
	log     *slog.Logger
	metrics *metrics

	mu     sync.Mutex
	pin    gpio.PinIO
	closed bool
	gen    uint64 // bumps on every start/stop; timers of an older gen do nothing
	steps  []step
	idx    int
	stepT  clockwork.Timer
	endT   clockwork.Timer
	state  OutputState
}

func newOutput(cfg OutputConfig, clk clockwork.Clock, src PinSource, log *slog.Logger, m *metrics) *Output {
	p, err := ParsePattern(cfg.Pattern)
	if err != nil {
		p = Steady()
	}
	o := &Output{cfg: cfg, pattern: p, clock: clk, src: src, log: log.With("output", cfg.ID), metrics: m}
	o.state = OutputState{ID: cfg.ID, Pin: cfg.PinRef.Name()}
	o.mu.Lock()
	o.openLocked()
	o.mu.Unlock()
	return o
}

// openLocked resolves the pin and drives it off. The line is requested at its off
// level (OutputSource) where the source can, so the relay never switches on, not
// even for a moment, at start or reload: the first level the line shows is off. o.mu
// held.
func (o *Output) openLocked() bool {
	if o.pin != nil {
		return true
	}
	off := !parseLevel(o.cfg.ActiveLevel)
	var p gpio.PinIO
	var err error
	if src, ok := o.src.(OutputSource); ok {
		p, err = src.OutputPin(o.cfg.PinRef.Name(), off)
	} else {
		p, err = o.src.Pin(o.cfg.PinRef.Name())
	}
	if err == nil {
		err = p.Out(off)
		if err != nil {
			closePin(p)
			err = fmt.Errorf("gpio %s: out: %w", o.cfg.PinRef.Name(), err)
		}
	}
	if err != nil {
		if o.state.Fault == "" {
			o.log.Error("gpio output cannot be opened", "err", err)
		}
		o.state.Fault = err.Error()
		return false
	}
	if o.state.Fault != "" {
		o.log.Info("gpio output opened")
	}
	o.state.Fault = ""
	o.pin = p
	return true
}

// ID is the output's id.
func (o *Output) ID() string { return o.cfg.ID }

// State returns the output's state.
func (o *Output) State() OutputState {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.state
}

// Sound turns the output on with pattern p (the zero Pattern means the configured
// default) for d, or until Silence when d is 0; never longer than max_on, after which
// it turns off by itself. Sounding again while on replaces the pattern and starts a
// new max_on period. It sounds at once whatever stopped it before: the 30 s re-sound
// rule (GB 50394) belongs to the alarm, not to the line. A pin that could not be
// opened is opened again here.
func (o *Output) Sound(p Pattern, d time.Duration) error {
	if p.Name == "" {
		p = o.pattern
	}
	if err := p.Validate(); err != nil {
		return fmt.Errorf("output %s: %w", o.cfg.ID, err)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return fmt.Errorf("output %s: %w", o.cfg.ID, ErrClosed)
	}
	now := o.clock.Now()
	if !o.openLocked() {
		return fmt.Errorf("output %s: %s", o.cfg.ID, o.state.Fault)
	}
	o.stopTimersLocked()
	limit := o.cfg.MaxOn
	if d > 0 && d < limit {
		limit = d
	}
	if !o.state.Sounding {
		o.state.Since = now
	}
	o.state.Sounding = true
	o.state.Pattern = p.String()
	o.state.Until = now.Add(limit)
	o.state.Stopped = ""
	o.steps = p.steps()
	o.idx = 0
	err := o.writeLocked(o.steps[0].on)
	gen := o.gen
	if o.steps[0].d > 0 {
		o.stepT = o.clock.AfterFunc(o.steps[0].d, func() { o.next(gen) })
	}
	o.endT = o.clock.AfterFunc(limit, func() { o.expire(gen) })
	return err
}

// Silence turns the output off because a person silenced it (acknowledged or reset
// the alarm, pressed a silence button); the state records it as "silenced". It keeps
// no guard: the next Sound sounds at once. Silencing an output that is not sounding
// does nothing. Use Off when no person is involved.
func (o *Output) Silence() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed || !o.state.Sounding {
		return
	}
	o.stopLocked("silenced")
}

// Off turns the output off without a person: the alarm's condition cleared, its
// max on-time ran out, it no longer routes here; the state records it as "off".
// Turning off an output that is not sounding does nothing.
func (o *Output) Off() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed || !o.state.Sounding {
		return
	}
	o.stopLocked("off")
}

// close turns the output off for good and releases its line.
func (o *Output) close() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return
	}
	o.stopLocked("closed")
	o.state.Sounding = false
	o.closed = true
	if o.pin != nil {
		closePin(o.pin)
	}
	o.metrics.output(o.cfg.ID, false, true)
}

// next advances the pattern by one step.
func (o *Output) next(gen uint64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if gen != o.gen || o.closed {
		return
	}
	o.idx = (o.idx + 1) % len(o.steps)
	s := o.steps[o.idx]
	_ = o.writeLocked(s.on)
	if s.d > 0 {
		o.stepT = o.clock.AfterFunc(s.d, func() { o.next(gen) })
	}
}

// expire turns the output off when its time is up.
func (o *Output) expire(gen uint64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if gen != o.gen || o.closed {
		return
	}
	o.log.Info("gpio output turned off by itself", "after", o.clock.Now().Sub(o.state.Since))
	o.stopLocked("expired")
}

func (o *Output) stopTimersLocked() {
	o.gen++
	if o.stepT != nil {
		o.stepT.Stop()
		o.stepT = nil
	}
	if o.endT != nil {
		o.endT.Stop()
		o.endT = nil
	}
}

func (o *Output) stopLocked(why string) {
	o.stopTimersLocked()
	o.state.Sounding = false
	o.state.Pattern = ""
	o.state.Until = time.Time{}
	o.state.Stopped = why
	_ = o.writeLocked(false)
}

// writeLocked sets the relay on or off. o.mu held.
func (o *Output) writeLocked(on bool) error {
	o.state.On = on
	o.metrics.output(o.cfg.ID, on, false)
	if o.pin == nil {
		return fmt.Errorf("output %s: not open", o.cfg.ID)
	}
	l := gpio.Level(on == bool(parseLevel(o.cfg.ActiveLevel)))
	if err := o.pin.Out(l); err != nil {
		err = fmt.Errorf("gpio %s: out: %w", o.cfg.PinRef.Name(), err)
		o.state.Fault = err.Error()
		o.log.Error("gpio output write", "err", err)
		return err
	}
	o.state.Fault = ""
	return nil
}
