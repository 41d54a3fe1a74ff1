package gpio

import (
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/campusguard/campusguard/event"
	"github.com/campusguard/campusguard/health"
	"periph.io/x/conn/v3/gpio"
)

const ms = time.Millisecond

func panicInput(mod func(*InputConfig)) Config {
	in := InputConfig{Device: "btn", Kind: event.KindPanic, PinRef: PinRef{Pin: "P1"}, Debounce: -1}
	if mod != nil {
		mod(&in)
	}
	return Config{Inputs: []InputConfig{in}}
}

// TestInputContact covers normally-open and normally-closed contacts with both
// wirings (contact to ground with pull-up, contact to supply with pull-down).
func TestInputContact(t *testing.T) {
	tests := []struct {
		contact, level, pull string
		idle, active         gpio.Level
	}{
		{"no", "low", "none", gpio.High, gpio.Low},  // NO to ground: pressed reads low
		{"no", "high", "none", gpio.Low, gpio.High}, // NO to supply: pressed reads high
		{"nc", "low", "none", gpio.Low, gpio.High},  // NC to ground: closed (low) is normal
		{"nc", "high", "none", gpio.High, gpio.Low}, // NC to supply: closed (high) is normal
	}
	for _, tc := range tests {
		t.Run(tc.contact+"/"+tc.level, func(t *testing.T) {
			p := newTPin("P1", tc.idle)
			r := newRig(t, panicInput(func(c *InputConfig) { c.Contact, c.ActiveLevel, c.Pull = tc.contact, tc.level, tc.pull }), p)
			p.awaitIn(t)
			r.step(t) // the level at open: idle, no event
			r.rec.NoMore(t)

			r.edge(t, "P1", tc.active)
			e := r.rec.Expect(t, event.TypePressed)
			if e.DeviceID != "btn" || e.Kind != event.KindPanic || e.Site != "s01" || e.Source != Source ||
				!e.DeviceTime.Equal(r.clk.Now()) || e.Fields.String("pin") != "P1" {
				t.Fatalf("pressed event: %+v", e)
			}
			r.edge(t, "P1", tc.idle)
			r.rec.Expect(t, event.TypeReleased)
		})
	}
}

func TestInputPullConfiguresPin(t *testing.T) {
	p := newTPin("P1", gpio.Low)
	newRig(t, panicInput(func(c *InputConfig) { c.Pull = "up" }), p)
	p.awaitIn(t)
	p.Lock()
	pull := p.P
	p.Unlock()
	if pull != gpio.PullUp {
		t.Fatalf("pull %v, want up", pull)
	}
}

// TestInputLevelAtStart: an input that is active when it starts (a button held, a
// contact open, a cut supervision line) sends its active event once, after the
// debounce (and hold), with initial=true; a normal one sends nothing.
func TestInputLevelAtStart(t *testing.T) {
	sup := func(c *InputConfig) {
		c.Supervision = &SupervisionConfig{PinRef: PinRef{Pin: "S1"}, Pull: "none", Cause: "cut", Debounce: -1}
	}
	type adv struct {
		d     time.Duration
		fires bool // a timer of the input is due within d
	}
	tests := []struct {
		name     string
		mod      func(*InputConfig)
		p1, s1   gpio.Level // levels at start (S1: supervision, high = cut)
		settle   []adv      // how the fake clock moves before the event is due
		want     []string   // event types, each with initial=true
		wantKind event.Kind
	}{
		{"NO button held, no debounce", nil, gpio.Low, gpio.Low, nil, []string{event.TypePressed}, event.KindPanic},
		{"NO button held, after the debounce", func(c *InputConfig) { c.Debounce = 50 * ms }, gpio.Low, gpio.Low,
			[]adv{{49 * ms, false}, {ms, true}}, []string{event.TypePressed}, event.KindPanic},
		{"NO button held, after debounce and hold", func(c *InputConfig) { c.Debounce = 20 * ms; c.Hold = 100 * ms }, gpio.Low, gpio.Low,
			[]adv{{99 * ms, true}, {ms, true}}, []string{event.TypePressed}, event.KindPanic},
		{"NO button idle", nil, gpio.High, gpio.Low, nil, nil, event.KindPanic},
		{"NO button idle, debounce", func(c *InputConfig) { c.Debounce = 50 * ms }, gpio.High, gpio.Low, []adv{{time.Second, false}}, nil, event.KindPanic},
		{"NC window contact open", func(c *InputConfig) { c.Contact = "nc"; c.Kind = event.KindAntiFall }, gpio.High, gpio.Low, nil, []string{event.TypeActive}, event.KindAntiFall},
		{"NC window contact closed", func(c *InputConfig) { c.Contact = "nc"; c.Kind = event.KindAntiFall }, gpio.Low, gpio.Low, nil, nil, event.KindAntiFall},
		{"supervision cut", sup, gpio.High, gpio.High, nil, []string{event.TypeTamper}, event.KindPanic},
		{"supervision cut and button held", sup, gpio.Low, gpio.High, nil, []string{event.TypePressed, event.TypeTamper}, event.KindPanic},
		{"supervision normal", sup, gpio.High, gpio.Low, nil, nil, event.KindPanic},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, s := newTPin("P1", tc.p1), newTPin("S1", tc.s1)
			cfg := panicInput(func(c *InputConfig) {
				c.Debounce, c.Pull = -1, "none" // gpiotest pins follow the pull
				if tc.mod != nil {
					tc.mod(c)
				}
			})
			hasSup := cfg.Inputs[0].Supervision != nil
			pins := []*tpin{p}
			if hasSup {
				pins = append(pins, s)
			}
			r := newRig(t, cfg, pins...)
			for _, x := range pins {
				x.awaitIn(t)
				r.step(t) // the level read at start
			}
			for _, a := range tc.settle {
				r.rec.NoMore(t)
				r.advance(t, a.d, a.fires)
			}
			got := map[string]bool{}
			for range tc.want {
				e := r.rec.Take(t)
				if e.Fields[FieldInitial] != true || e.Kind != tc.wantKind || e.DeviceID != "btn" {
					t.Fatalf("event %s, want initial=true", e)
				}
				got[e.Type] = true
			}
			for _, w := range tc.want {
				if !got[w] {
					t.Fatalf("events %v, want %v", got, tc.want)
				}
			}
			r.rec.NoMore(t)
			wantActive := slices.ContainsFunc(tc.want, func(typ string) bool { return typ != event.TypeTamper })
			if st := r.d.Inputs()[0]; st.Active != wantActive || st.Tamper != slices.Contains(tc.want, event.TypeTamper) {
				t.Fatalf("status %+v after %v", st, tc.want)
			}
		})
	}
}

// TestInputAddedByReloadReportsLevelAtStart: a reload that adds an input whose
// device is already active reports it, marked initial, like a start.
func TestInputAddedByReloadReportsLevelAtStart(t *testing.T) {
	p1, p2 := newTPin("P1", gpio.High), newTPin("P2", gpio.Low) // P2's button is held
	cfg := Config{Inputs: []InputConfig{{Device: "a", Kind: event.KindPanic, PinRef: PinRef{Pin: "P1"}, Pull: "none", Debounce: -1}}, Heartbeat: -1}
	r := newRig(t, cfg, p1, p2)
	p1.awaitIn(t)
	r.step(t)
	r.rec.NoMore(t)
	cfg.Inputs = append(cfg.Inputs, InputConfig{Device: "b", Kind: event.KindPanic, PinRef: PinRef{Pin: "P2"}, Pull: "none", Debounce: -1})
	if err := r.d.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	p2.awaitIn(t)
	r.step(t)
	if e := r.rec.Expect(t, event.TypePressed); e.DeviceID != "b" || e.Fields[FieldInitial] != true {
		t.Fatalf("event %s, want b pressed with initial=true", e)
	}
	// The next press after a release is a plain press.
	r.edge(t, "P2", gpio.High)
	r.rec.Expect(t, event.TypeReleased)
	r.edge(t, "P2", gpio.Low)
	if e := r.rec.Expect(t, event.TypePressed); e.Fields[FieldInitial] != nil {
		t.Fatalf("second press %s marked initial", e)
	}
}

func TestInputDebounce(t *testing.T) {
	r := newOpenRig(t, panicInput(func(c *InputConfig) { c.Debounce = 20 * ms }))

	r.edge(t, "P1", gpio.Low)
	r.advance(t, 10*ms, false)
	r.edge(t, "P1", gpio.High) // bounce
	r.edge(t, "P1", gpio.Low)
	bounceEnd := r.clk.Now()
	r.advance(t, 19*ms, false)
	r.rec.NoMore(t)
	r.advance(t, 1*ms, true)
	e := r.rec.Expect(t, event.TypePressed)
	if !e.DeviceTime.Equal(bounceEnd) {
		t.Fatalf("device time %v, want the last edge %v", e.DeviceTime, bounceEnd)
	}

	// A glitch shorter than the debounce is not a release.
	r.edge(t, "P1", gpio.High)
	r.advance(t, 5*ms, false)
	r.edge(t, "P1", gpio.Low)
	r.advance(t, time.Second, false)
	r.rec.NoMore(t)
	r.edge(t, "P1", gpio.High)
	r.advance(t, 20*ms, true)
	r.rec.Expect(t, event.TypeReleased)
}

func TestInputHoldTime(t *testing.T) {
	r := newOpenRig(t, panicInput(func(c *InputConfig) { c.Hold = 500 * ms }))

	// Pressed for 499 ms: does not count.
	r.edge(t, "P1", gpio.Low)
	r.advance(t, 499*ms, false)
	r.edge(t, "P1", gpio.High)
	r.advance(t, 5*time.Second, false)
	r.rec.NoMore(t)

	// Pressed and held 500 ms: counts, stamped with the edge time.
	r.edge(t, "P1", gpio.Low)
	pressedAt := r.clk.Now()
	r.advance(t, 499*ms, false)
	r.rec.NoMore(t)
	r.advance(t, 1*ms, true)
	e := r.rec.Expect(t, event.TypePressed)
	if !e.DeviceTime.Equal(pressedAt) || !e.ReceivedAt.Equal(pressedAt.Add(500*ms)) {
		t.Fatalf("device time %v received %v; pressed at %v", e.DeviceTime, e.ReceivedAt, pressedAt)
	}
	r.edge(t, "P1", gpio.High)
	r.rec.Expect(t, event.TypeReleased)
}

// TestInputReportsTheWireEveryTime: the driver does not latch; every press and every
// release of a button is an event, however often (alarms latch in alerting).
func TestInputReportsTheWireEveryTime(t *testing.T) {
	r := newOpenRig(t, panicInput(func(c *InputConfig) { c.Debounce = 20 * ms }))
	for i := range 3 {
		r.edge(t, "P1", gpio.Low)
		r.advance(t, 20*ms, true)
		if e := r.rec.Expect(t, event.TypePressed); e.Fields[FieldInitial] != nil || e.Fields["latched"] != nil {
			t.Fatalf("press %d: %s", i, e)
		}
		if st := r.d.Inputs()[0]; !st.Active {
			t.Fatalf("press %d: status %+v, want active", i, st)
		}
		r.advance(t, 2*time.Second, false)
		r.edge(t, "P1", gpio.High)
		r.advance(t, 20*ms, true)
		r.rec.Expect(t, event.TypeReleased)
		if st := r.d.Inputs()[0]; st.Active {
			t.Fatalf("release %d: status %+v, want normal", i, st)
		}
		r.advance(t, 3*time.Second, false) // the next press 5 s after this one
	}
	r.rec.NoMore(t)
}

func TestInputPresenceTypes(t *testing.T) {
	cfg := Config{Inputs: []InputConfig{{Device: "beam", Kind: event.KindAntiFall, PinRef: PinRef{Pin: "P1"}, Debounce: -1}}}
	r := newOpenRig(t, cfg)
	r.edge(t, "P1", gpio.Low)
	r.rec.Expect(t, event.TypeActive)
	r.edge(t, "P1", gpio.High)
	r.rec.Expect(t, event.TypeInactive)
}

func TestInputSupervisionTamper(t *testing.T) {
	p := newTPin("P1", gpio.High)
	s := newTPin("S1", gpio.Low) // tamper loop closed to ground: normal
	r := newRig(t, panicInput(func(c *InputConfig) {
		c.Supervision = &SupervisionConfig{PinRef: PinRef{Pin: "S1"}, Pull: "none", Cause: "cut", Debounce: -1}
	}), p, s)
	p.awaitIn(t)
	s.awaitIn(t)
	r.step(t)
	r.step(t)
	r.rec.NoMore(t)

	r.edge(t, "S1", gpio.High) // loop cut
	e := r.rec.Expect(t, event.TypeTamper)
	if e.Fields.String("cause") != "cut" || e.Fields.String("pin") != "S1" || e.DeviceID != "btn" {
		t.Fatalf("tamper event %s", e)
	}
	if st := r.d.Inputs()[0]; !st.Tamper {
		t.Fatalf("status %+v", st)
	}
	r.edge(t, "S1", gpio.Low)
	r.rec.Expect(t, event.TypeTamperRestore)
	// The alarm pair still works.
	r.edge(t, "P1", gpio.Low)
	r.rec.Expect(t, event.TypePressed)
}

func TestInputPinCannotOpenIsFault(t *testing.T) {
	cfg := panicInput(nil)
	r := newOpenRig(t, cfg)
	r.stop()

	// A pin the source does not know: fault, then restore once it appears.
	r = newRig(t, Config{Inputs: []InputConfig{{Device: "btn", Kind: event.KindPanic, PinRef: PinRef{Pin: "P9"}, Debounce: -1}}})
	e := r.rec.Expect(t, event.TypeFault)
	if e.Fields.String("error") == "" || e.Fields.String("pin") != "P9" {
		t.Fatalf("fault event %s", e)
	}
	if h := r.d.Health(); h.State != health.Degraded {
		t.Fatalf("health %+v, want degraded", h)
	}
	if err := r.clk.BlockUntilContext(t.Context(), 1); err != nil { // the retry timer
		t.Fatal(err)
	}
	p9 := newTPin("P9", gpio.High)
	r.src.Set("P9", p9)
	r.pins["P9"] = p9
	r.clk.Advance(DefaultRetry)
	r.rec.Expect(t, event.TypeFaultRestore)
	p9.awaitIn(t)
	r.step(t)
	if h := r.d.Health(); h.State != health.Up {
		t.Fatalf("health %+v, want up", h)
	}
	r.edge(t, "P9", gpio.Low)
	r.rec.Expect(t, event.TypePressed)
}

// failPin is a pin whose edge wait fails at once while bad is set (a line whose file
// descriptor went away).
type failPin struct {
	*tpin
	bad atomic.Bool
}

func (p *failPin) WaitForEdge(d time.Duration) bool {
	if p.bad.Load() {
		return false
	}
	return p.tpin.WaitForEdge(d)
}

func TestInputReadErrorIsFault(t *testing.T) {
	fp := &failPin{tpin: newTPin("P1", gpio.High)}
	fp.bad.Store(true)
	r := newRig(t, Config{})
	r.src.Set("P1", fp)
	r.pins["P1"] = fp.tpin
	if err := r.d.Apply(panicInput(func(c *InputConfig) { c.Debounce = 0 })); err != nil { // heartbeat default on
		t.Fatal(err)
	}
	fp.awaitIn(t)
	r.step(t)
	r.step(t) // the fault report
	e := r.rec.Expect(t, event.TypeFault)
	if e.Fields.String("error") != "edge wait fails at once" {
		t.Fatalf("fault event %s", e)
	}
	// The heartbeat ticker and the reader's back-off timer.
	if err := r.clk.BlockUntilContext(t.Context(), 2); err != nil {
		t.Fatal(err)
	}
	fp.bad.Store(false)
	r.clk.Advance(DefaultRetry)
	r.step(t) // restore report
	r.rec.Expect(t, event.TypeFaultRestore)
	r.step(t) // level re-read after the fault
	r.rec.NoMore(t)
}

func TestInputHeartbeat(t *testing.T) {
	cfg := panicInput(nil)
	cfg.Heartbeat = time.Minute
	r := newOpenRig(t, cfg)
	if err := r.clk.BlockUntilContext(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	r.advance(t, time.Minute, true)
	e := r.rec.Expect(t, event.TypeHeartbeat)
	if e.DeviceID != "btn" || e.Source != Source {
		t.Fatalf("heartbeat %s", e)
	}
}

func TestApplyReload(t *testing.T) {
	p1, p2, so := newTPin("P1", gpio.High), newTPin("P2", gpio.High), newTPin("SO", gpio.Low)
	cfg := Config{
		Inputs: []InputConfig{
			{Device: "a", Kind: event.KindPanic, PinRef: PinRef{Pin: "P1"}, Debounce: -1},
			{Device: "b", Kind: event.KindPanic, PinRef: PinRef{Pin: "P2"}, Debounce: -1},
		},
		Outputs:   []OutputConfig{{ID: "siren", PinRef: PinRef{Pin: "SO"}}},
		Heartbeat: -1,
	}
	r := newRig(t, cfg, p1, p2, so)
	p1.awaitIn(t)
	p2.awaitIn(t)
	r.step(t)
	r.step(t)
	if so.awaitOut(t) != gpio.Low {
		t.Fatal("output not driven off at start")
	}
	r.d.mu.Lock()
	inA, inB, out := r.d.inputs["a"], r.d.inputs["b"], r.d.outputs["siren"]
	r.d.mu.Unlock()

	// The same config again: nothing restarts.
	if err := r.d.Apply(cloneConfig(cfg)); err != nil {
		t.Fatal(err)
	}
	r.d.mu.Lock()
	same := r.d.inputs["a"] == inA && r.d.inputs["b"] == inB && r.d.outputs["siren"] == out
	r.d.mu.Unlock()
	if !same {
		t.Fatal("unchanged inputs or outputs were restarted")
	}
	so.noOut(t)

	// Change b's hold, drop the output: b restarts, a keeps running, the siren is off.
	cfg2 := cloneConfig(cfg)
	cfg2.Inputs[1].Hold = 100 * ms
	cfg2.Outputs = nil
	if err := out.Sound(Steady(), 0); err != nil {
		t.Fatal(err)
	}
	so.awaitOut(t)
	if err := r.d.Apply(cfg2); err != nil {
		t.Fatal(err)
	}
	if so.awaitOut(t) != gpio.Low {
		t.Fatal("removed output not turned off")
	}
	if r.d.Output("siren") != nil {
		t.Fatal("removed output still listed")
	}
	if err := out.Sound(Steady(), 0); !errors.Is(err, ErrClosed) {
		t.Fatalf("sound on a removed output: %v", err)
	}
	p2.awaitIn(t) // b reopened
	r.step(t)
	r.d.mu.Lock()
	same = r.d.inputs["a"] == inA && r.d.inputs["b"] != inB
	r.d.mu.Unlock()
	if !same {
		t.Fatal("wrong inputs restarted")
	}
	r.edge(t, "P1", gpio.Low)
	r.rec.Expect(t, event.TypePressed)

	// An invalid config is refused whole.
	bad := cloneConfig(cfg2)
	bad.Inputs[0].Contact = "maybe"
	if err := r.d.Apply(bad); err == nil {
		t.Fatal("invalid config accepted")
	}
}

func TestRunStopsAndTurnsOutputsOff(t *testing.T) {
	p, so := newTPin("P1", gpio.High), newTPin("SO", gpio.High) // relay left on by a crash
	cfg := panicInput(nil)
	cfg.Outputs = []OutputConfig{{ID: "siren", PinRef: PinRef{Pin: "SO"}}}
	r := newRig(t, cfg, p, so)
	if so.awaitOut(t) != gpio.Low || so.level() != gpio.Low {
		t.Fatal("output not off at start")
	}
	p.awaitIn(t)
	r.step(t)
	if err := r.d.Sound("siren", Pattern{}, 0); err != nil {
		t.Fatal(err)
	}
	if so.awaitOut(t) != gpio.High {
		t.Fatal("siren not on")
	}
	r.stop()
	if so.awaitOut(t) != gpio.Low || so.level() != gpio.Low {
		t.Fatal("output not off at shutdown")
	}
	if err := r.d.Sound("siren", Pattern{}, 0); !errors.Is(err, ErrClosed) {
		t.Fatalf("sound after stop: %v", err)
	}
}
