package gpio

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"
)

// outRig is a driver with one output on pin SO.
func outRig(t *testing.T, oc OutputConfig) (*rig, *tpin, *Output) {
	t.Helper()
	so := newTPin("SO", gpio.High)
	oc.ID, oc.PinRef = "siren", PinRef{Pin: "SO"}
	r := newRig(t, Config{Outputs: []OutputConfig{oc}}, so)
	off := gpio.Low
	if oc.ActiveLevel == "low" {
		off = gpio.High
	}
	if so.awaitOut(t) != off {
		t.Fatal("output not driven off at start")
	}
	return r, so, r.d.Output("siren")
}

// expectOut waits for the next write and for the timer callback that made it to
// finish (State takes the output's lock).
func expectOut(t *testing.T, p *tpin, o *Output, want gpio.Level) {
	t.Helper()
	if got := p.awaitOut(t); got != want {
		t.Fatalf("pin %s = %v, want %v", p.N, got, want)
	}
	o.State()
}

func TestOutputSteadyMaxOn(t *testing.T) {
	r, so, o := outRig(t, OutputConfig{MaxOn: 3 * time.Minute})
	if err := o.Sound(Steady(), 0); err != nil {
		t.Fatal(err)
	}
	expectOut(t, so, o, gpio.High)
	st := o.State()
	if !st.Sounding || !st.On || st.Pattern != "steady" || !st.Until.Equal(r.clk.Now().Add(3*time.Minute)) {
		t.Fatalf("state %+v", st)
	}
	r.clk.Advance(3*time.Minute - ms)
	so.noOut(t)
	r.clk.Advance(ms)
	expectOut(t, so, o, gpio.Low)
	if st := o.State(); st.Sounding || st.On || st.Stopped != "expired" {
		t.Fatalf("state after max_on %+v", st)
	}
	// Turning off by itself is not a silence: the next trigger sounds at once.
	if err := o.Sound(Steady(), 0); err != nil {
		t.Fatal(err)
	}
	expectOut(t, so, o, gpio.High)
}

func TestOutputDurationBelowMaxOn(t *testing.T) {
	r, so, o := outRig(t, OutputConfig{})
	if err := o.Sound(Steady(), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	expectOut(t, so, o, gpio.High)
	r.clk.Advance(10 * time.Second)
	expectOut(t, so, o, gpio.Low)
}

func TestOutputDurationCappedByMaxOn(t *testing.T) {
	r, so, o := outRig(t, OutputConfig{MaxOn: time.Minute})
	if err := o.Sound(Steady(), time.Hour); err != nil {
		t.Fatal(err)
	}
	expectOut(t, so, o, gpio.High)
	r.clk.Advance(time.Minute)
	expectOut(t, so, o, gpio.Low)
}

func TestOutputPulsePattern(t *testing.T) {
	r, so, o := outRig(t, OutputConfig{Pattern: "pulse:300ms/700ms", MaxOn: 2500 * time.Millisecond})
	if err := o.Sound(Pattern{}, 0); err != nil { // the configured default pattern
		t.Fatal(err)
	}
	expectOut(t, so, o, gpio.High)
	if st := o.State(); st.Pattern != "pulse:300ms/700ms" {
		t.Fatalf("pattern %q", st.Pattern)
	}
	for i := 0; i < 2; i++ {
		r.clk.Advance(299 * ms)
		so.noOut(t)
		r.clk.Advance(ms)
		expectOut(t, so, o, gpio.Low)
		r.clk.Advance(700 * ms)
		expectOut(t, so, o, gpio.High)
	}
	// 2.5 s max on ends the third cycle's off period early.
	r.clk.Advance(300 * ms)
	expectOut(t, so, o, gpio.Low)
	r.clk.Advance(200 * ms)
	expectOut(t, so, o, gpio.Low)
	if st := o.State(); st.Sounding || st.Stopped != "expired" {
		t.Fatalf("still sounding after max_on: %+v", st)
	}
	r.clk.Advance(time.Minute)
	so.noOut(t)
}

func TestOutputSOSPattern(t *testing.T) {
	r, so, o := outRig(t, OutputConfig{})
	u := 100 * ms
	if err := o.Sound(SOS(u), 0); err != nil {
		t.Fatal(err)
	}
	expectOut(t, so, o, gpio.High)
	want := SOS(u).steps()
	for i := 0; i < len(want); i++ {
		r.clk.Advance(want[i].d)
		next := want[(i+1)%len(want)]
		expectOut(t, so, o, gpio.Level(next.on))
	}
}

func TestOutputActiveLow(t *testing.T) {
	_, so, o := outRig(t, OutputConfig{ActiveLevel: "low"})
	if err := o.Sound(Steady(), 0); err != nil {
		t.Fatal(err)
	}
	expectOut(t, so, o, gpio.Low)
	o.Silence()
	expectOut(t, so, o, gpio.High)
}

func TestOutputSoundReplacesPattern(t *testing.T) {
	r, so, o := outRig(t, OutputConfig{})
	if err := o.Sound(Pulse(time.Second, time.Second), 0); err != nil {
		t.Fatal(err)
	}
	expectOut(t, so, o, gpio.High)
	since := o.State().Since
	r.clk.Advance(time.Second)
	expectOut(t, so, o, gpio.Low)
	if err := o.Sound(Steady(), 0); err != nil {
		t.Fatal(err)
	}
	expectOut(t, so, o, gpio.High)
	r.clk.Advance(10 * time.Second) // the old pulse timers are gone
	so.noOut(t)
	if st := o.State(); st.Pattern != "steady" || !st.Since.Equal(since) {
		t.Fatalf("state %+v", st)
	}
}

func TestOutputSilenceWhenQuietIsNoop(t *testing.T) {
	_, so, o := outRig(t, OutputConfig{})
	o.Silence()
	so.noOut(t)
	if err := o.Sound(Steady(), 0); err != nil {
		t.Fatalf("silence of a quiet output suppressed a trigger: %v", err)
	}
	expectOut(t, so, o, gpio.High)
}

func TestOutputPinMissingIsFault(t *testing.T) {
	r := newRig(t, Config{Outputs: []OutputConfig{{ID: "siren", PinRef: PinRef{Pin: "SO"}}}})
	o := r.d.Output("siren")
	if st := o.State(); st.Fault == "" {
		t.Fatalf("state %+v, want a fault", st)
	}
	if h := r.d.Health(); h.State != "degraded" {
		t.Fatalf("health %+v", h)
	}
	if err := o.Sound(Steady(), 0); err == nil {
		t.Fatal("sound on a missing pin succeeded")
	}
	so := newTPin("SO", gpio.Low)
	r.src.Set("SO", so)
	if err := o.Sound(Steady(), 0); err != nil { // opens the pin again
		t.Fatal(err)
	}
	if so.awaitOut(t) != gpio.Low || so.awaitOut(t) != gpio.High {
		t.Fatal("want off at open, then on")
	}
	if err := r.d.Silence("nope"); !errors.Is(err, ErrUnknownOutput) {
		t.Fatalf("silence unknown: %v", err)
	}
}

// TestOutputStopKeepsNoGuard: however an output stopped (a person's silence, Off
// without a person, the max_on cut-off), the next Sound sounds at once. The 30 s
// re-sound rule (GB 50394) is the alarm's, kept in alerting; the line keeps no guard,
// so a different alarm on the same siren is never held quiet by an earlier silence.
func TestOutputStopKeepsNoGuard(t *testing.T) {
	tests := []struct {
		name    string
		stop    func(r *rig, so *tpin, o *Output)
		stopped string // OutputState.Stopped after the stop
	}{
		{"person silences", func(_ *rig, so *tpin, o *Output) { o.Silence(); expectOut(t, so, o, gpio.Low) }, "silenced"},
		{"driver silence", func(r *rig, so *tpin, o *Output) {
			if err := r.d.Silence("siren"); err != nil {
				t.Fatal(err)
			}
			expectOut(t, so, o, gpio.Low)
		}, "silenced"},
		{"off without a person", func(_ *rig, so *tpin, o *Output) { o.Off(); expectOut(t, so, o, gpio.Low) }, "off"},
		{"driver off", func(r *rig, so *tpin, o *Output) {
			if err := r.d.Off("siren"); err != nil {
				t.Fatal(err)
			}
			expectOut(t, so, o, gpio.Low)
		}, "off"},
		{"max_on cut-off", func(r *rig, so *tpin, o *Output) { r.clk.Advance(time.Minute); expectOut(t, so, o, gpio.Low) }, "expired"},
		{"silence then off", func(_ *rig, so *tpin, o *Output) {
			o.Silence()
			expectOut(t, so, o, gpio.Low)
			o.Off() // not sounding: changes nothing
			so.noOut(t)
		}, "silenced"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, so, o := outRig(t, OutputConfig{MaxOn: time.Minute})
			if err := o.Sound(Steady(), 0); err != nil {
				t.Fatal(err)
			}
			expectOut(t, so, o, gpio.High)
			tc.stop(r, so, o)
			if st := o.State(); st.Sounding || st.On || st.Stopped != tc.stopped {
				t.Fatalf("state after stop %+v, want stopped %q", st, tc.stopped)
			}
			r.clk.Advance(5 * time.Second)
			if err := o.Sound(Steady(), 0); err != nil {
				t.Fatalf("Sound 5 s after: %v, want it to sound", err)
			}
			expectOut(t, so, o, gpio.High)
		})
	}
}

func TestDriverOffUnknownOutput(t *testing.T) {
	r := newRig(t, Config{})
	if err := r.d.Off("nope"); !errors.Is(err, ErrUnknownOutput) {
		t.Fatalf("off unknown: %v", err)
	}
}

// ioctlLinePin models a GPIO character-device line driven the way periph's gpioioctl
// drives it: the first Out on a line that is not an output yet makes it one, which
// the kernel does at the low (inactive) level, and only then writes the level asked
// for. Every level the line shows is recorded by the embedded tpin.
type ioctlLinePin struct {
	*tpin
	output bool
}

func (p *ioctlLinePin) Out(l gpio.Level) error {
	if !p.output {
		p.output = true
		if err := p.tpin.Out(gpio.Low); err != nil {
			return err
		}
	}
	return p.tpin.Out(l)
}

// ioctlSource hands out ioctlLinePins; OutputPin requests the line as an output
// already at its initial level, as HostSource does for character-device lines.
type ioctlSource struct{ *MapSource }

func (s ioctlSource) OutputPin(name string, initial gpio.Level) (gpio.PinIO, error) {
	p, err := s.Pin(name)
	if err != nil {
		return nil, err
	}
	lp := p.(*ioctlLinePin)
	lp.output = true
	if err := lp.tpin.Out(initial); err != nil {
		return nil, err
	}
	return lp, nil
}

// TestOutputFirstLevelIsOff: the first level an output's line shows is the off level,
// for active-high and active-low relays, on plain gpiotest pins and on lines that a
// direction change would drive low, at start, after a reload that changed the output,
// and when a missing pin is opened on the next Sound.
func TestOutputFirstLevelIsOff(t *testing.T) {
	for _, active := range []string{"high", "low"} {
		off, on := gpio.Low, gpio.High
		if active == "low" {
			off, on = gpio.High, gpio.Low
		}
		for _, ioctl := range []bool{false, true} {
			name := fmt.Sprintf("active %s, gpiotest pin", active)
			if ioctl {
				name = fmt.Sprintf("active %s, character-device line", active)
			}
			t.Run(name, func(t *testing.T) {
				pin := func(n string) (gpio.PinIO, *tpin) {
					// The line idles at the on level: only a write may change it.
					tp := newTPin(n, on)
					if ioctl {
						return &ioctlLinePin{tpin: tp}, tp
					}
					return tp, tp
				}
				first := func(tp *tpin) {
					t.Helper()
					if got := tp.awaitOut(t); got != off {
						t.Fatalf("first level on %s: %v, want off (%v)", tp.N, got, off)
					}
					for len(tp.outs) > 0 {
						if got := <-tp.outs; got != off {
							t.Fatalf("%s went %v while opening, want only off (%v)", tp.N, got, off)
						}
					}
				}
				ms := NewMapSource(nil)
				var src PinSource = ms
				if ioctl {
					src = ioctlSource{ms}
				}
				p1, t1 := pin("SO")
				ms.Set("SO", p1)
				d, err := New(Options{Source: src, Publisher: newRecorder(), Logger: quietLog()})
				if err != nil {
					t.Fatal(err)
				}
				oc := OutputConfig{ID: "siren", PinRef: PinRef{Pin: "SO"}, ActiveLevel: active}
				if err := d.Apply(Config{Outputs: []OutputConfig{oc}}); err != nil {
					t.Fatal(err)
				}
				first(t1) // start

				// A reload that changes the output opens its line again.
				p2, t2 := pin("SO")
				ms.Set("SO", p2)
				oc.Pattern = "pulse"
				if err := d.Apply(Config{Outputs: []OutputConfig{oc}}); err != nil {
					t.Fatal(err)
				}
				if got := t1.awaitOut(t); got != off { // the old line turned off as it closes
					t.Fatalf("closing: %v", got)
				}
				first(t2)

				// A pin missing at start is opened by the next Sound: off first, then on.
				oc.PinRef.Pin = "S9"
				if err := d.Apply(Config{Outputs: []OutputConfig{oc}}); err != nil {
					t.Fatal(err)
				}
				t2.awaitOut(t)
				p3, t3 := pin("S9")
				ms.Set("S9", p3)
				if err := d.Sound("siren", Steady(), 0); err != nil {
					t.Fatal(err)
				}
				if got := t3.awaitOut(t); got != off {
					t.Fatalf("first level after a late open: %v, want off", got)
				}
				for t3.awaitOut(t) != on { // off again as the line is driven: still off
				}
			})
		}
	}
}
