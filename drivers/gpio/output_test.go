package gpio

import (
	"errors"
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

// TestGB50394_SilencedSirenSoundsAgainAfter30s: "After the siren was silenced, a new
// trigger more than 30 s later sounds it again" (GB 50394-2007 §5.2.4).
func TestGB50394_SilencedSirenSoundsAgainAfter30s(t *testing.T) {
	r, so, o := outRig(t, OutputConfig{})
	if err := o.Sound(Steady(), 0); err != nil {
		t.Fatal(err)
	}
	expectOut(t, so, o, gpio.High)
	o.Silence()
	expectOut(t, so, o, gpio.Low)
	if st := o.State(); st.Stopped != "silenced" || !st.SilencedAt.Equal(r.clk.Now()) {
		t.Fatalf("state %+v", st)
	}

	r.clk.Advance(30 * time.Second)
	if err := o.Sound(Steady(), 0); !errors.Is(err, ErrSuppressed) {
		t.Fatalf("trigger 30 s after silence: %v, want ErrSuppressed", err)
	}
	so.noOut(t)
	r.clk.Advance(ms)
	if err := o.Sound(Steady(), 0); err != nil {
		t.Fatalf("trigger 30.001 s after silence: %v", err)
	}
	expectOut(t, so, o, gpio.High)
}

func TestOutputResoundDisabled(t *testing.T) {
	_, so, o := outRig(t, OutputConfig{ResoundAfter: -1})
	for i := 0; i < 3; i++ {
		if err := o.Sound(Steady(), 0); err != nil {
			t.Fatal(err)
		}
		expectOut(t, so, o, gpio.High)
		o.Silence()
		expectOut(t, so, o, gpio.Low)
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
