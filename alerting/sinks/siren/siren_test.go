package siren

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/cfgerr"
	"github.com/campusguard/campusguard/event"
	"github.com/campusguard/campusguard/health"
	"github.com/campusguard/campusguard/internal/testenv"
	"github.com/campusguard/campusguard/site"
)

// recorder is an in-process Output that records its calls.
type recorder struct {
	mu    sync.Mutex
	calls []string
	fail  error       // returned (once) by the next call when set
	ch    chan string // every call is also sent here (buffered)
}

func newRecorder() *recorder { return &recorder{ch: make(chan string, 64)} }

func (r *recorder) add(c string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		err := r.fail
		r.fail = nil
		r.calls = append(r.calls, c+" FAILED")
		r.ch <- c + " FAILED"
		return err
	}
	r.calls = append(r.calls, c)
	r.ch <- c
	return nil
}

func (r *recorder) Sound(p Pattern, maxOn time.Duration) error {
	return r.add(fmt.Sprintf("sound %s %s", p, maxOn))
}
func (r *recorder) Silence() error { return r.add("silence") }
func (r *recorder) Off() error     { return r.add("off") }

func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.calls
	r.calls = nil
	return c
}

func (r *recorder) failNext(err error) {
	r.mu.Lock()
	r.fail = err
	r.mu.Unlock()
}

// await waits for the next call (sent by a timer goroutine).
func (r *recorder) await(t *testing.T, want string) {
	t.Helper()
	select {
	case c := <-r.ch:
		if c != want {
			t.Fatalf("next call %q, want %q", c, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no call %q", want)
	}
}

var quiet = slog.New(slog.DiscardHandler)

var testSite = &site.Site{
	ID:        "s01",
	Buildings: []site.Building{{ID: "gate"}, {ID: "b3"}},
	Zones: []site.Zone{
		{ID: "guardroom", Building: "gate"},
		{ID: "b3-2f", Building: "b3"},
		{ID: "b3-3f", Building: "b3"},
		{ID: "kitchen"},
	},
}

func testConfig() Config {
	return Config{
		SilenceOnAck: true,
		Outputs: []OutputConfig{
			{ID: "gate-siren", PatternConfig: PatternConfig{Pattern: Steady, MaxOn: 3 * time.Minute}},
			{ID: "b3-strobe", PatternConfig: PatternConfig{Pattern: Pulse, PulseOn: 200 * time.Millisecond, PulseOff: 800 * time.Millisecond, MaxOn: 10 * time.Minute}},
			{ID: "office-buzzer", PatternConfig: PatternConfig{Pattern: Steady, MaxOn: time.Minute}},
		},
		Routes: []Route{
			{Zones: []string{"guardroom"}, DeviceKinds: []event.Kind{event.KindPanic}, Outputs: []string{"gate-siren", "office-buzzer"}},
			// critical alarms in building b3 pulse fast.
			{Buildings: []string{"b3"}, MinSeverity: alerting.Critical, Outputs: []string{"b3-strobe"},
				PatternConfig: PatternConfig{PulseOn: 100 * time.Millisecond, PulseOff: 100 * time.Millisecond}},
			{Buildings: []string{"b3"}, MinSeverity: alerting.Major, Outputs: []string{"b3-strobe"}},
			{DeviceKinds: []event.Kind{event.KindKitchenCamera}, MinSeverity: alerting.Major, Outputs: []string{"office-buzzer"}},
		},
	}
}

type rig struct {
	s     *Sink
	clock *clockwork.FakeClock
	outs  map[string]*recorder
	reg   *prometheus.Registry
}

func newRig(t *testing.T, mod func(*Config)) *rig {
	t.Helper()
	cfg := testConfig()
	if mod != nil {
		mod(&cfg)
	}
	r := &rig{clock: clockwork.NewFakeClockAt(time.Date(2026, 11, 20, 13, 3, 12, 0, time.UTC)), outs: map[string]*recorder{}, reg: prometheus.NewRegistry()}
	outs := map[string]Output{}
	for _, o := range cfg.Outputs {
		r.outs[o.ID] = newRecorder()
		outs[o.ID] = r.outs[o.ID]
	}
	s, err := New(cfg, outs, Options{Site: testSite, Clock: r.clock, Registerer: r.reg, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	r.s = s
	return r
}

// calls returns and clears every output's calls, as "output: call" lines.
func (r *rig) calls() []string {
	var out []string
	for _, id := range []string{"gate-siren", "b3-strobe", "office-buzzer"} {
		rec, ok := r.outs[id]
		if !ok {
			continue
		}
		for _, c := range rec.take() {
			out = append(out, id+": "+c)
		}
		for len(rec.ch) > 0 {
			<-rec.ch
		}
	}
	return out
}

// gateOnly keeps the gate siren and one route to it.
func gateOnly(c *Config) {
	c.Outputs = c.Outputs[:1]
	c.Routes = []Route{{Zones: []string{"guardroom"}, Outputs: []string{"gate-siren"}}}
}

func alarm(id, zone string, kind event.Kind, sev alerting.Severity) alerting.Alarm {
	a := alerting.Alarm{ID: id, Zone: zone, DeviceKind: kind, Severity: sev, State: alerting.Firing, Count: 1,
		FiredAt: time.Date(2026, 11, 20, 13, 3, 12, 0, time.UTC)}
	if kind == event.KindPanic {
		a.Class = alerting.ClassPanic // a press of the panic button
	}
	return a
}

func TestRouting(t *testing.T) {
	tests := []struct {
		name string
		a    alerting.Alarm
		want []string
	}{
		{"panic at the gate", alarm("a1", "guardroom", event.KindPanic, alerting.Critical),
			[]string{"gate-siren: sound steady 3m0s", "office-buzzer: sound steady 1m0s"}},
		{"critical in b3 pulses fast", alarm("a2", "b3-2f", event.KindAntiFall, alerting.Critical),
			[]string{"b3-strobe: sound pulse 100ms/100ms 10m0s"}},
		{"major in b3 pulses slowly", alarm("a3", "b3-3f", event.KindAntiFall, alerting.Major),
			[]string{"b3-strobe: sound pulse 200ms/800ms 10m0s"}},
		{"minor in b3 stays quiet", alarm("a4", "b3-3f", event.KindAntiFall, alerting.Minor), nil},
		{"kitchen smoking", alarm("a5", "kitchen", event.KindKitchenCamera, alerting.Major),
			[]string{"office-buzzer: sound steady 1m0s"}},
		{"kitchen no hat", alarm("a6", "kitchen", event.KindKitchenCamera, alerting.Minor), nil},
		{"antifall at the gate matches nothing", alarm("a7", "guardroom", event.KindAntiFall, alerting.Critical), nil},
		{"unknown zone", alarm("a8", "nowhere", event.KindPanic, alerting.Critical), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, nil)
			if err := r.s.Sound(tc.a); err != nil {
				t.Fatal(err)
			}
			if got := r.calls(); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("calls %q, want %q", got, tc.want)
			}
		})
	}
}

// Several alarms in one zone: the siren stays on until every one is silenced or resolved.
func TestReferenceCounting(t *testing.T) {
	r := newRig(t, gateOnly)
	a := alarm("a1", "guardroom", event.KindPanic, alerting.Critical)
	b := alarm("b1", "guardroom", event.KindPanic, alerting.Critical)
	steps := []struct {
		name string
		do   func() error
		want []string
	}{
		{"first alarm sounds", func() error { return r.s.Sound(a) }, []string{"gate-siren: sound steady 3m0s"}},
		{"second alarm restarts the on-time", func() error { return r.s.Sound(b) }, []string{"gate-siren: sound steady 3m0s"}},
		{"silencing one keeps it on", func() error { return r.s.Silence(a) }, nil},
		{"silencing it again changes nothing", func() error { return r.s.Silence(a) }, nil},
		{"resolving the other turns it off, without a person", func() error { return r.s.Release(b) }, []string{"gate-siren: off"}},
		{"resolving the silenced one changes nothing", func() error { return r.s.Release(a) }, nil},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got := r.calls(); !reflect.DeepEqual(got, st.want) {
			t.Fatalf("%s: calls %q, want %q", st.name, got, st.want)
		}
	}
	if n := testutil.ToFloat64(r.s.m.alarms); n != 0 {
		t.Fatalf("active alarms gauge %v", n)
	}
}

func TestResolveAllTurnsOff(t *testing.T) {
	r := newRig(t, nil)
	ctx := context.Background()
	a := alarm("a1", "guardroom", event.KindPanic, alerting.Critical)
	b := alarm("a2", "b3-2f", event.KindAntiFall, alerting.Critical)
	for _, x := range []alerting.Alarm{a, b} {
		if err := r.s.Deliver(ctx, alerting.Notification{ID: "n-" + x.ID, Transition: alerting.Fired, Alarm: x, Count: 1}); err != nil {
			t.Fatal(err)
		}
	}
	r.calls()
	a.State, b.State = alerting.Resolved, alerting.Resolved
	n := alerting.Notification{ID: "g1", Transition: alerting.ResolvedT, Alarm: a, Group: []alerting.Alarm{a, b}, Count: 2}
	if err := r.s.Deliver(ctx, n); err != nil {
		t.Fatal(err)
	}
	want := []string{"gate-siren: off", "b3-strobe: off", "office-buzzer: off"}
	if got := r.calls(); !reflect.DeepEqual(got, want) {
		t.Fatalf("calls %q, want %q", got, want)
	}
	for _, o := range r.s.Outputs() {
		if o.Sounding || len(o.Alarms) > 0 {
			t.Fatalf("output %+v still held", o)
		}
	}
}

// GB 50394: after the siren was silenced, a new trigger more than 30 s later sounds it
// again. The decision is the alarm's (alerting.Resounds): on the journaled path a new
// trigger the policy keeps quiet comes marked Quiet and stays quiet; a different alarm
// always sounds; a trigger the policy lets sound does.
func TestGB50394_ResoundAfterSilence(t *testing.T) {
	r := newRig(t, gateOnly)
	ctx := context.Background()
	a := alarm("a1", "guardroom", event.KindPanic, alerting.Critical)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(r.s.Sound(a))
	must(r.s.Silence(a))
	if got := r.calls(); !reflect.DeepEqual(got, []string{"gate-siren: sound steady 3m0s", "gate-siren: silence"}) {
		t.Fatalf("calls %q", got)
	}
	r.clock.Advance(10 * time.Second)
	a.Count = 2
	must(r.s.Deliver(ctx, alerting.Notification{ID: "a1/2", Transition: alerting.Refired, Occurrence: true, Quiet: true, Alarm: a, Count: 1}))
	if got := r.calls(); got != nil {
		t.Fatalf("a trigger the policy keeps quiet sounded: %q", got)
	}
	if n := testutil.ToFloat64(r.s.m.suppressed); n != 1 {
		t.Fatalf("suppressed %v", n)
	}
	// Another alarm in the same zone is never held back.
	b := alarm("b1", "guardroom", event.KindPanic, alerting.Critical)
	must(r.s.Sound(b))
	must(r.s.Release(b))
	if got := r.calls(); !reflect.DeepEqual(got, []string{"gate-siren: sound steady 3m0s", "gate-siren: off"}) {
		t.Fatalf("a new alarm within the hold-off: calls %q", got)
	}
	r.clock.Advance(21 * time.Second) // 31 s after the silence
	a.Count = 3
	must(r.s.Deliver(ctx, alerting.Notification{ID: "a1/3", Transition: alerting.Refired, Occurrence: true, Alarm: a, Count: 1}))
	if got := r.calls(); !reflect.DeepEqual(got, []string{"gate-siren: sound steady 3m0s"}) {
		t.Fatalf("a trigger 31 s after the silence: calls %q", got)
	}
}

// The direct path and the journaled path for the same transition drive the output once.
func TestDirectAndJournaledPathsAreIdempotent(t *testing.T) {
	r := newRig(t, nil)
	ctx := context.Background()
	a := alarm("a1", "guardroom", event.KindPanic, alerting.Critical)
	if err := r.s.Sound(a); err != nil {
		t.Fatal(err)
	}
	for _, tr := range []alerting.Transition{alerting.Fired, alerting.Fired, alerting.Escalated, alerting.ConditionEnd} {
		if err := r.s.Deliver(ctx, alerting.Notification{ID: "n1", Transition: tr, Alarm: a, Count: 1}); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"gate-siren: sound steady 3m0s", "office-buzzer: sound steady 1m0s"}
	if got := r.calls(); !reflect.DeepEqual(got, want) {
		t.Fatalf("calls %q, want %q", got, want)
	}
}

func TestSilenceOnAck(t *testing.T) {
	for _, on := range []bool{true, false} {
		t.Run(fmt.Sprint("silence_on_ack=", on), func(t *testing.T) {
			r := newRig(t, func(c *Config) { gateOnly(c); c.SilenceOnAck = on })
			ctx := context.Background()
			a := alarm("a1", "guardroom", event.KindPanic, alerting.Critical)
			if err := r.s.Deliver(ctx, alerting.Notification{ID: "n1", Transition: alerting.Fired, Alarm: a}); err != nil {
				t.Fatal(err)
			}
			a.State, a.AckedBy = alerting.Acknowledged, "王师傅"
			if err := r.s.Deliver(ctx, alerting.Notification{ID: "n2", Transition: alerting.Acked, Alarm: a}); err != nil {
				t.Fatal(err)
			}
			want := []string{"gate-siren: sound steady 3m0s"}
			if on {
				want = append(want, "gate-siren: silence")
			}
			if got := r.calls(); !reflect.DeepEqual(got, want) {
				t.Fatalf("calls %q, want %q", got, want)
			}
		})
	}
}

// The output goes off after its max on-time and sounds again on a new trigger.
func TestMaxOnTime(t *testing.T) {
	r := newRig(t, gateOnly)
	rec := r.outs["gate-siren"]
	a := alarm("a1", "guardroom", event.KindPanic, alerting.Critical)
	if err := r.s.Sound(a); err != nil {
		t.Fatal(err)
	}
	rec.await(t, "sound steady 3m0s")
	r.clock.Advance(3*time.Minute - time.Millisecond)
	if len(rec.ch) != 0 {
		t.Fatal("silenced before the max on-time")
	}
	r.clock.Advance(time.Millisecond)
	rec.await(t, "off") // the cut-off is no person's silence
	st := r.s.Outputs()[0]
	if st.Sounding || !st.TimedOut || !reflect.DeepEqual(st.Alarms, []string{"a1"}) {
		t.Fatalf("after the cutoff: %+v", st)
	}
	if n := testutil.ToFloat64(r.s.m.cutoffs.WithLabelValues("gate-siren")); n != 1 {
		t.Fatalf("cutoffs %v", n)
	}
	// The same trigger delivered again changes nothing; a new one sounds.
	if err := r.s.Sound(a); err != nil {
		t.Fatal(err)
	}
	a.Count = 2
	if err := r.s.Sound(a); err != nil {
		t.Fatal(err)
	}
	rec.await(t, "sound steady 3m0s")
	if len(rec.ch) != 0 {
		t.Fatalf("extra calls %q", rec.take())
	}
}

// The most urgent alarm holding an output chooses its pattern.
func TestPatternFollowsMostUrgentAlarm(t *testing.T) {
	r := newRig(t, nil)
	major := alarm("m1", "b3-3f", event.KindAntiFall, alerting.Major)
	crit := alarm("c1", "b3-2f", event.KindAntiFall, alerting.Critical)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(r.s.Sound(major))
	must(r.s.Sound(crit))
	must(r.s.Release(crit))
	must(r.s.Release(major))
	want := []string{
		"b3-strobe: sound pulse 200ms/800ms 10m0s",
		"b3-strobe: sound pulse 100ms/100ms 10m0s",
		"b3-strobe: sound pulse 200ms/800ms 10m0s",
		"b3-strobe: off",
	}
	if got := r.calls(); !reflect.DeepEqual(got, want) {
		t.Fatalf("calls %q, want %q", got, want)
	}
}

func TestMutedTestAndResolvedAlarms(t *testing.T) {
	r := newRig(t, nil)
	a := alarm("a1", "guardroom", event.KindPanic, alerting.Critical)
	a.Test = true
	if err := r.s.Sound(a); err != nil {
		t.Fatal(err)
	}
	if got := r.calls(); got != nil {
		t.Fatalf("a test alarm sounded: %q", got)
	}
	a.Test = false
	if err := r.s.Sound(a); err != nil {
		t.Fatal(err)
	}
	r.calls()
	a.Silenced, a.Count = true, 2 // muted by a maintenance silence: a panic sounds anyway
	if err := r.s.Sound(a); err != nil {
		t.Fatal(err)
	}
	if got := r.calls(); !reflect.DeepEqual(got, []string{"gate-siren: sound steady 3m0s", "office-buzzer: sound steady 1m0s"}) {
		t.Fatalf("a muted panic alarm: %q", got)
	}
	k := alarm("k1", "kitchen", event.KindKitchenCamera, alerting.Major)
	if err := r.s.Sound(k); err != nil {
		t.Fatal(err)
	}
	k.Disarmed = true
	if err := r.s.Sound(k); err != nil {
		t.Fatal(err)
	}
	// The buzzer is still held by the panic alarm: nothing turns off.
	if got := r.calls(); !reflect.DeepEqual(got, []string{"office-buzzer: sound steady 1m0s"}) {
		t.Fatalf("a disarmed kitchen alarm: %q", got)
	}
	if st := r.s.Outputs()[2]; !reflect.DeepEqual(st.Alarms, []string{"a1"}) {
		t.Fatalf("buzzer held by %v", st.Alarms)
	}
	t.Run("sound_tests", func(t *testing.T) {
		r := newRig(t, func(c *Config) { c.SoundTests = true })
		a := alarm("a1", "guardroom", event.KindPanic, alerting.Critical)
		a.Test = true
		if err := r.s.Sound(a); err != nil {
			t.Fatal(err)
		}
		if got := r.calls(); len(got) != 2 {
			t.Fatalf("calls %q", got)
		}
	})
}

// A failing output makes Deliver fail and health Down; the pipeline's retry drives it
// again.
func TestOutputFailureIsRetried(t *testing.T) {
	r := newRig(t, gateOnly)
	rec := r.outs["gate-siren"]
	rec.failNext(errors.New("relay board not answering"))
	a := alarm("a1", "guardroom", event.KindPanic, alerting.Critical)
	n := alerting.Notification{ID: "n1", Transition: alerting.Fired, Alarm: a}
	err := r.s.Deliver(context.Background(), n)
	if err == nil || !strings.Contains(err.Error(), "relay board not answering") || !strings.Contains(err.Error(), "gate-siren") {
		t.Fatalf("err %v", err)
	}
	if h := r.s.Health(); h.State != health.Down || h.Detail["last_error"] == nil {
		t.Fatalf("health %+v", h)
	}
	if err := r.s.Deliver(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	if got := r.calls(); !reflect.DeepEqual(got, []string{"gate-siren: sound steady 3m0s FAILED", "gate-siren: sound steady 3m0s"}) {
		t.Fatalf("calls %q", got)
	}
	if h := r.s.Health(); h.State != health.Up {
		t.Fatalf("health %+v", h)
	}
	if n := testutil.ToFloat64(r.s.m.errors.WithLabelValues("gate-siren")); n != 1 {
		t.Fatalf("errors %v", n)
	}
	if n := testutil.ToFloat64(r.s.m.on.WithLabelValues("gate-siren")); n != 1 {
		t.Fatalf("on %v", n)
	}
}

func TestMetricsRegistered(t *testing.T) {
	r := newRig(t, nil)
	n, err := testutil.GatherAndCount(r.reg, "campusguard_siren_output_on")
	if err != nil || n != 3 {
		t.Fatalf("output_on series %d, %v", n, err)
	}
	// A second sink with the same name cannot register: an error, not a panic.
	if _, err := New(testConfig(), map[string]Output{"gate-siren": newRecorder(), "b3-strobe": newRecorder(), "office-buzzer": newRecorder()},
		Options{Registerer: r.reg}); err == nil {
		t.Fatal("duplicate registration accepted")
	}
	// A missing driver output is an error.
	if _, err := New(testConfig(), map[string]Output{}, Options{}); err == nil || !strings.Contains(err.Error(), "gate-siren") {
		t.Fatalf("err %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Config)
		want []string // "key: message fragment"
	}{
		{"valid", func(*Config) {}, nil},
		{"bad pattern", func(c *Config) { c.Outputs[0].Pattern = "wail" }, []string{`outputs[0].pattern: unknown pattern "wail"`}},
		{"pulse without times", func(c *Config) { c.Outputs[1].PulseOn = -1 }, []string{"outputs[1].pulse_on: must be positive", "outputs[1].pulse_on: must not be negative"}},
		{"max on too long", func(c *Config) { c.Outputs[2].MaxOn = 2 * time.Hour }, []string{"outputs[2].max_on: 2h0m0s is longer"}},
		{"duplicate output", func(c *Config) { c.Outputs[1].ID = "gate-siren" }, []string{`outputs[1].id: output "gate-siren" is defined twice`,
			`routes[1].outputs[0]: unknown output "b3-strobe"`, `routes[2].outputs[0]: unknown output "b3-strobe"`}},
		{"unknown output in route", func(c *Config) { c.Routes[1].Outputs = []string{"b3-strobe", "nope"} }, []string{`routes[1].outputs[1]: unknown output "nope"`}},
		{"route without outputs", func(c *Config) { c.Routes[0].Outputs = nil }, []string{"routes[0].outputs: names no output"}},
		{"bad kind and severity", func(c *Config) {
			c.Routes[3].DeviceKinds = []event.Kind{"toaster"}
			c.Routes[3].MinSeverity = "urgent"
		}, []string{`routes[3].device_kinds[0]: unknown device kind "toaster"`, `routes[3].min_severity: unknown severity "urgent"`}},
		{"unknown zone and building", func(c *Config) {
			c.Routes[0].Zones = []string{"roof"}
			c.Routes[1].Buildings = []string{"b9"}
		}, []string{`routes[0].zones[0]: unknown zone "roof"`, `routes[1].buildings[0]: unknown building "b9"`}},
		{"negative resound", func(c *Config) { c.ResoundAfter = -time.Second }, []string{"resound_after: -1s: the re-sound time is fixed at 30s by GB 50394"}},
		{"resound 30s", func(c *Config) { c.ResoundAfter = 30 * time.Second }, nil},
		{"resound below 30s", func(c *Config) { c.ResoundAfter = 10 * time.Second }, []string{"resound_after: 10s: the re-sound time is fixed at 30s by GB 50394"}},
		{"resound above 30s", func(c *Config) { c.ResoundAfter = 31 * time.Second }, []string{"resound_after: 31s: the re-sound time is fixed at 30s by GB 50394"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := testConfig()
			tc.mod(&c)
			c.SetDefaults(cfgerr.Env{})
			var errs cfgerr.List
			c.Validate(&errs)
			c.CheckSite(testSite, &errs)
			testenv.WantErrors(t, &errs, tc.want)
		})
	}
}

func TestSetDefaults(t *testing.T) {
	c := Config{Outputs: []OutputConfig{{ID: "x", PatternConfig: PatternConfig{Pattern: Pulse}}, {ID: "y"}}}
	c.SetDefaults(cfgerr.Env{})
	if c.Name != "siren" || c.ResoundAfter != 0 {
		t.Fatalf("%+v", c)
	}
	want := []PatternConfig{{Pattern: Pulse, PulseOn: DefaultPulseOn, PulseOff: DefaultPulseOff, MaxOn: DefaultMaxOn}, {Pattern: Steady, MaxOn: DefaultMaxOn}}
	for i, o := range c.Outputs {
		if o.PatternConfig != want[i] {
			t.Fatalf("output %d: %+v", i, o.PatternConfig)
		}
	}
}

func BenchmarkSoundRelease(b *testing.B) {
	cfg := testConfig()
	outs := map[string]Output{"gate-siren": nopOutput{}, "b3-strobe": nopOutput{}, "office-buzzer": nopOutput{}}
	s, err := New(cfg, outs, Options{Site: testSite, Clock: clockwork.NewFakeClock(), Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	a := alarm("a1", "guardroom", event.KindPanic, alerting.Critical)
	b.ReportAllocs()
	for b.Loop() {
		_ = s.Sound(a)
		_ = s.Release(a)
	}
}

type nopOutput struct{}

func (nopOutput) Sound(Pattern, time.Duration) error { return nil }
func (nopOutput) Silence() error                     { return nil }
func (nopOutput) Off() error                         { return nil }

// The core's local-output hook: ack silences only with silence_on_ack; reset releases;
// silenced alarms are forgotten once their hold-off is over.
func TestLocalAdapter(t *testing.T) {
	for _, on := range []bool{true, false} {
		t.Run(fmt.Sprint("silence_on_ack=", on), func(t *testing.T) {
			r := newRig(t, func(c *Config) { gateOnly(c); c.SilenceOnAck = on })
			l := Local{S: r.s}
			a := alarm("a1", "guardroom", event.KindPanic, alerting.Critical)
			l.Sound(a)
			a.State = alerting.Acknowledged
			l.Silence(a)
			want := []string{"gate-siren: sound steady 3m0s"}
			if on {
				want = append(want, "gate-siren: silence")
			}
			if got := r.calls(); !reflect.DeepEqual(got, want) {
				t.Fatalf("calls %q, want %q", got, want)
			}
			a.State = alerting.Resolved
			l.Silence(a)
			if got := r.calls(); on && got != nil || !on && !reflect.DeepEqual(got, []string{"gate-siren: silence"}) {
				t.Fatalf("reset: calls %q", got)
			}
			if n := testutil.ToFloat64(r.s.m.alarms); n != 0 {
				t.Fatalf("alarms tracked after reset: %v", n)
			}
		})
	}
	t.Run("forget silenced", func(t *testing.T) {
		r := newRig(t, gateOnly)
		a := alarm("a1", "guardroom", event.KindPanic, alerting.Critical)
		if err := r.s.Sound(a); err != nil {
			t.Fatal(err)
		}
		if err := r.s.Silence(a); err != nil {
			t.Fatal(err)
		}
		r.clock.Advance(31 * time.Second)
		b := alarm("b1", "guardroom", event.KindPanic, alerting.Critical)
		if err := r.s.Sound(b); err != nil {
			t.Fatal(err)
		}
		if n := testutil.ToFloat64(r.s.m.alarms); n != 1 {
			t.Fatalf("alarms tracked %v, want 1 (the silenced one forgotten)", n)
		}
	})
}

// A person's reset turns the siren off, and a notification of the alarm still on its
// way (the journaled path delivers after the direct one) does not sound it again; a
// new alarm still sounds.
func TestLateNotificationAfterResetStaysQuiet(t *testing.T) {
	r := newRig(t, gateOnly)
	l := Local{S: r.s}
	a := alarm("a1", "guardroom", event.KindPanic, alerting.Critical)
	l.Sound(a)
	fired := alerting.Notification{ID: "a1/1", Transition: alerting.Fired, Alarm: a}
	reset := a
	reset.State = alerting.Resolved
	l.Silence(reset)
	r.calls()
	if err := r.s.Deliver(context.Background(), fired); err != nil {
		t.Fatal(err)
	}
	if got := r.calls(); got != nil {
		t.Fatalf("a late fired notification of a reset alarm: calls %q", got)
	}
	b := alarm("a2", "guardroom", event.KindPanic, alerting.Critical)
	if err := r.s.Deliver(context.Background(), alerting.Notification{ID: "a2/1", Transition: alerting.Fired, Alarm: b}); err != nil {
		t.Fatal(err)
	}
	if got := r.calls(); len(got) != 1 || !strings.Contains(got[0], "sound") {
		t.Fatalf("a new alarm after the reset: calls %q", got)
	}
}
