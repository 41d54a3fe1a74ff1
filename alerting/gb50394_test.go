package alerting_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/alerting/journal"
	"github.com/campusguard/campusguard/event"
)

func journalRecords(action string) alerting.RecordQuery { return alerting.RecordQuery{Action: action} }

// GB 50394 §5.2: emergency zones are never disarmable. Silences and a disarmed zone
// mute the staff notification of a panic, never its journal entry, never its police
// report (the mandatory sink), never the siren.
func TestGB50394_PanicNeverDisarmable(t *testing.T) {
	e := newEnv(t, baseConfig())
	ctx := context.Background()
	if err := e.m.Disarm(ctx, "gate", "principal"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Silence(ctx, alerting.Silence{Matchers: alerting.Matchers{"zone": "gate"}, End: t0.Add(time.Hour),
		Reason: "fire drill", By: "principal"}); err != nil {
		t.Fatal(err)
	}
	e.handle(panicTrigger("box-gate", true))
	a := e.onlyAlarm()
	if a.Disarmed {
		t.Error("a panic alarm was marked disarmed")
	}
	if !a.Silenced {
		t.Error("the silence should still be shown on the alarm")
	}
	if d, err := e.j.Alarm(a.ID); err != nil || len(d.History) == 0 {
		t.Fatalf("panic not journaled: %v", err)
	}
	if got := e.sinksOf(a.ID, alerting.Fired); !sameSet(got, []string{"police"}) {
		t.Fatalf("silenced panic went to %v, want police only", got)
	}
	if n := e.sinks["police"].recv(t); n.Alarm.ID != a.ID {
		t.Fatalf("police got %+v", n)
	}
	if s, _ := e.local.counts(); s != 1 {
		t.Error("the siren did not sound for the panic")
	}
	// an inhibition rule cannot mute the police report either
	cfg := baseConfig()
	cfg.Inhibit = []alerting.InhibitRule{{SourceMatch: alerting.Matchers{"rule": "maintenance"}, TargetMatch: alerting.Matchers{"kind": "panic"}}}
	e2 := newEnv(t, cfg)
	e2.handle(alerting.Trigger{Rule: "maintenance", Key: "all", Firing: true, Severity: alerting.Info})
	e2.handle(panicTrigger("box-gate", true))
	for _, x := range e2.m.Active() {
		if x.DeviceKind == event.KindPanic {
			if !x.Inhibited {
				t.Fatal("expected the panic to be shown as inhibited")
			}
			if got := e2.sinksOf(x.ID, alerting.Fired); !sameSet(got, []string{"police"}) {
				t.Fatalf("inhibited panic went to %v", got)
			}
		}
	}
}

// A mandatory sink may also flag itself (the police-link sink's Mandatory method).
func TestGB50394_PanicReachesSelfFlaggedMandatorySink(t *testing.T) {
	cfg := baseConfig()
	cfg.MandatorySinks = nil
	e := newEnvWith(t, cfg, func(s map[string]*sink) { s["police"].mandatory = true })
	if _, err := e.m.Silence(context.Background(), alerting.Silence{Matchers: alerting.Matchers{"kind": "panic"}, End: t0.Add(time.Hour), Reason: "test", By: "ops"}); err != nil {
		t.Fatal(err)
	}
	e.handle(panicTrigger("box-gate", true))
	if got := e.sinksOf(e.onlyAlarm().ID, alerting.Fired); !sameSet(got, []string{"police"}) {
		t.Fatalf("went to %v", got)
	}
}

func newEnvWith(t *testing.T, cfg alerting.Config, tweak func(map[string]*sink)) *env {
	t.Helper()
	e := &env{t: t, path: t.TempDir() + "/journal.db", clock: clockwork.NewFakeClockAt(t0), cfg: cfg, local: &local{}, sinks: map[string]*sink{}}
	for _, n := range []string{"staff", "mqtt", "police", "tier1", "tier2"} {
		e.sinks[n] = newSink(n)
	}
	tweak(e.sinks)
	e.start()
	t.Cleanup(e.close)
	return e
}

// GB 50394 §5.2: an alarm latches — panic and intrusion (anti-fall) alarms stay until a
// person resets them; the condition clearing only marks them Cleared.
func TestGB50394_AlarmLatches(t *testing.T) {
	no := false
	tests := []struct {
		name      string
		trigger   alerting.Trigger
		wantLatch bool
	}{
		{"panic", panicTrigger("box-gate", true), true},
		{"antifall", alerting.Trigger{Rule: "fall", Key: "radar-b3", DeviceID: "radar-b3", Firing: true, Severity: alerting.Critical}, true},
		{"kitchen detection", camTrigger("cam-1", "smoking", alerting.Major, event.TypeDetection), false},
		// A rule cannot unlatch a panic: it stays until a person resets it.
		{"panic with Latch=false", func() alerting.Trigger { tr := panicTrigger("box-gate", true); tr.Latch = &no; return tr }(), true},
		{"antifall with Latch=false", alerting.Trigger{Rule: "fall", Key: "radar-b3", DeviceID: "radar-b3", Firing: true, Severity: alerting.Critical, Latch: &no}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, baseConfig())
			e.handle(tc.trigger)
			id := e.onlyAlarm().ID
			clear := tc.trigger
			clear.Firing, clear.Reason = false, "device back to normal"
			e.handle(clear)
			act := e.m.Active()
			if !tc.wantLatch {
				if len(act) != 0 {
					t.Fatalf("non-latched alarm still open: %+v", act)
				}
				d, _ := e.j.Alarm(id)
				if d.Alarm.State != alerting.Resolved || d.Alarm.ResolvedBy != "rule" {
					t.Fatalf("journal %+v", d.Alarm)
				}
				return
			}
			a := e.onlyAlarm()
			if !a.Latched || !a.Cleared || a.State != alerting.Firing {
				t.Fatalf("latched alarm after clear: %+v", a)
			}
			// the device triggers again: one alarm, notified again
			e.handle(tc.trigger)
			if a := e.onlyAlarm(); a.Cleared || a.Count != 2 || a.ID != id {
				t.Fatalf("refire %+v", a)
			}
			if err := e.m.Resolve(context.Background(), id, "", ""); !errors.Is(err, alerting.ErrNoPerson) {
				t.Fatalf("reset without a person: %v", err)
			}
			if err := e.m.Resolve(context.Background(), id, "guard-wang", "checked, false alarm"); err != nil {
				t.Fatal(err)
			}
			if len(e.m.Active()) != 0 {
				t.Fatal("still open after reset")
			}
			d, _ := e.j.Alarm(id)
			if d.Alarm.ResolvedBy != "guard-wang" {
				t.Fatalf("resolved by %q", d.Alarm.ResolvedBy)
			}
		})
	}
}

// GB 50394 §5.2: tamper, cut or shorted lines and lost transmission paths alarm
// whether the zone is armed or not; a disarmed zone's other alarms are journaled, not
// notified.
func TestGB50394_TamperAlarmsWhetherArmed(t *testing.T) {
	e := newEnv(t, baseConfig())
	if err := e.m.Disarm(context.Background(), "kitchen", "chef"); err != nil {
		t.Fatal(err)
	}
	for _, typ := range []string{event.TypeTamper, event.TypeFault, event.TypeOffline} {
		e.handle(camTrigger("cam-1", "line_"+typ, alerting.Major, typ))
	}
	e.handle(camTrigger("cam-2", "smoking", alerting.Major, event.TypeDetection))
	act := e.m.Active()
	if len(act) != 4 {
		t.Fatalf("%d alarms, want 4", len(act))
	}
	for _, a := range act {
		fired := e.sinksOf(a.ID, alerting.Fired)
		if a.Rule == "smoking" {
			if !a.Disarmed || len(fired) != 0 {
				t.Errorf("detection in disarmed zone: disarmed=%v fired to %v", a.Disarmed, fired)
			}
			if _, err := e.j.Alarm(a.ID); err != nil {
				t.Errorf("not journaled: %v", err)
			}
			continue
		}
		if a.Disarmed || !sameSet(fired, []string{"staff"}) {
			t.Errorf("%s: disarmed=%v fired to %v", a.Rule, a.Disarmed, fired)
		}
	}
	if err := e.m.Disarm(context.Background(), "nowhere", "x"); !errors.Is(err, alerting.ErrUnknownZone) {
		t.Errorf("unknown zone: %v", err)
	}
}

// GB 50394 §5.2: after a power cut the system restores its previous arming state.
func TestGB50394_ArmingRestoredAfterPowerCut(t *testing.T) {
	e := newEnv(t, baseConfig())
	ctx := context.Background()
	if err := e.m.Disarm(ctx, "kitchen", "chef"); err != nil {
		t.Fatal(err)
	}
	if err := e.m.Disarm(ctx, "b3", "teacher"); err != nil {
		t.Fatal(err)
	}
	if err := e.m.Arm(ctx, "b3", "guard"); err != nil {
		t.Fatal(err)
	}
	e.restart()
	if e.m.Armed("kitchen") || !e.m.Armed("b3") || !e.m.Armed("gate") {
		t.Fatalf("arming after restart: %+v", e.m.Arming())
	}
	p, _ := e.j.Records(journalRecords("disarmed"))
	if len(p.Records) != 2 {
		t.Fatalf("disarm records %+v", p.Records)
	}
}

// GB 50394 §5.2 and DB15/T 3968: no signal is lost while another alarm is handled —
// at least 10 simultaneous alarms are each recorded and shown.
func TestGB50394_SimultaneousAlarmsEachKept(t *testing.T) {
	e := newEnv(t, baseConfig())
	const n = 12
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if err := e.m.Handle(context.Background(), panicTrigger(panicID(i), true)); err != nil {
				t.Error(err)
			}
		}()
	}
	close(start)
	wg.Wait()
	act := e.m.Active()
	if len(act) != n {
		t.Fatalf("%d alarms shown, want %d", len(act), n)
	}
	ids := map[string]bool{}
	for _, a := range act {
		ids[a.ID] = true
		if _, err := e.j.Alarm(a.ID); err != nil {
			t.Errorf("%s not journaled", a.ID)
		}
	}
	if len(ids) != n {
		t.Fatalf("ids not unique: %v", ids)
	}
	got := map[string]bool{}
	for range n {
		got[e.sinks["police"].recv(t).Alarm.ID] = true
	}
	if len(got) != n {
		t.Fatalf("police got %d distinct alarms", len(got))
	}
}

// GB 50394 §5.2: state survives a power cut — same active alarms, arming, silences and
// pending deliveries, which resume with the same notification ids.
func TestGB50394_StateSurvivesPowerCut(t *testing.T) {
	e := newEnv(t, baseConfig())
	ctx := context.Background()
	e.sinks["police"].setFail(errors.New("link down"))
	if err := e.m.Disarm(ctx, "kitchen", "chef"); err != nil {
		t.Fatal(err)
	}
	silID, err := e.m.Silence(ctx, alerting.Silence{Matchers: alerting.Matchers{"device": "cam-2"}, End: t0.Add(time.Hour), Reason: "service", By: "installer"})
	if err != nil {
		t.Fatal(err)
	}
	e.handle(panicTrigger("box-gate", true))
	e.handle(alerting.Trigger{Rule: "fall", Key: "radar-b3", DeviceID: "radar-b3", Firing: true, Severity: alerting.Critical})
	before := e.m.Active()
	e.close() // power cut
	e.sinks["police"].setFail(nil)
	e.start()
	after := e.m.Active()
	if len(after) != len(before) {
		t.Fatalf("active %d → %d", len(before), len(after))
	}
	for i := range before {
		if before[i].ID != after[i].ID || before[i].State != after[i].State {
			t.Errorf("alarm %d: %+v → %+v", i, before[i], after[i])
		}
	}
	if e.m.Armed("kitchen") {
		t.Error("arming lost")
	}
	if s := e.m.Silences(); len(s) != 1 || s[0].ID != silID {
		t.Errorf("silences %+v", s)
	}
	// the panic's police report was pending: it resumes with the same id
	n := e.sinks["police"].recv(t)
	if n.ID != before[0].ID+"/1" && n.ID != before[1].ID+"/1" {
		t.Fatalf("resumed %s", n.ID)
	}
	if s, _ := e.local.counts(); s < 3 {
		t.Errorf("siren not restored after the power cut (sounded %d)", s)
	}
	// new alarms after the restart get new ids
	e.handle(panicTrigger(panicID(0), true))
	ids := map[string]bool{}
	for _, a := range e.m.Active() {
		if ids[a.ID] {
			t.Fatalf("id reused: %s", a.ID)
		}
		ids[a.ID] = true
	}
}

// GB 50394 §5.2: after the siren was silenced, a new trigger more than 30 s later
// sounds it again (and one within 30 s does not).
func TestGB50394_SirenResoundsAfter30s(t *testing.T) {
	e := newEnv(t, baseConfig())
	e.handle(panicTrigger("box-gate", true))
	id := e.onlyAlarm().ID
	if err := e.m.Ack(context.Background(), id, "guard", "silence"); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		after time.Duration
		want  int // Sound calls so far
	}{
		{10 * time.Second, 1}, // within 30 s of the silence: stays quiet
		{30 * time.Second, 1},
		{31 * time.Second, 2}, // more than 30 s later: sounds again
	}
	for _, s := range steps {
		e.clock.Advance(s.after - (e.clock.Now().Sub(t0)))
		tr := panicTrigger("box-gate", false)
		e.handle(tr) // released (latched: only Cleared)
		e.handle(panicTrigger("box-gate", true))
		if got, _ := e.local.counts(); got != s.want {
			t.Fatalf("at +%s: siren sounded %d times, want %d", s.after, got, s.want)
		}
	}
}

// FuzzHandle: no trigger content makes the Manager panic or lose the alarm.
func FuzzHandle(f *testing.F) {
	dir := f.TempDir()
	j, err := journal.Open(dir+"/journal.db", journal.Options{})
	if err != nil {
		f.Fatal(err)
	}
	defer j.Close()
	m, err := alerting.New(alerting.Options{Config: baseConfig(), Store: j, Directory: testDirectory(),
		Sinks: []alerting.Sink{newSink("staff"), newSink("mqtt"), newSink("police")}, Local: &local{},
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		f.Fatal(err)
	}
	f.Add("panic", "box-gate", "box-gate", "critical", "gate", "panic", "一键报警", true)
	f.Add("x", "", "", "", "", "", "", false)
	f.Add("r\x00", "k\xff", "nope", "urgent", "zone", "kind", "m", true)
	f.Fuzz(func(t *testing.T, rule, key, dev, sev, zone, kind, msg string, firing bool) {
		tr := alerting.Trigger{Rule: rule, Key: key, DeviceID: dev, Severity: alerting.Severity(sev), Message: msg, Firing: firing,
			Labels: map[string]string{"zone": zone, "kind": kind}}
		err := m.Handle(context.Background(), tr)
		if rule == "" {
			if err == nil {
				t.Fatal("empty rule accepted")
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if firing {
			found := false
			for _, a := range m.Active() {
				found = found || (a.Rule == rule && a.Key == key)
			}
			if !found {
				t.Fatalf("alarm %q/%q lost", rule, key)
			}
		}
	})
}
