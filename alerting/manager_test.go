package alerting_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/event"
)

func TestFireIsJournaledAndDelivered(t *testing.T) {
	e := newEnv(t, baseConfig())
	e.handle(panicTrigger("box-gate", true))
	a := e.onlyAlarm()
	if a.ID != fmt.Sprintf("s01-%s-000001", e.j.Epoch()) || a.Zone != "gate" || a.Location != "门卫室" || a.DeviceKind != event.KindPanic {
		t.Fatalf("alarm %+v", a)
	}
	// journaled before Handle returned
	if d, err := e.j.Alarm(a.ID); err != nil || d.Alarm.State != alerting.Firing || len(d.History) != 1 {
		t.Fatalf("journal %+v %v", d, err)
	}
	if got := e.sinksOf(a.ID, alerting.Fired); !sameSet(got, []string{"staff", "mqtt", "police"}) {
		t.Fatalf("fired to %v", got)
	}
	for _, s := range []string{"staff", "mqtt", "police"} {
		if n := e.sinks[s].recv(t); n.ID != a.ID+"/1" || n.Transition != alerting.Fired {
			t.Errorf("%s got %s %s", s, n.ID, n.Transition)
		}
	}
	if s, _ := e.local.counts(); s != 1 {
		t.Errorf("siren sounded %d times", s)
	}
}

func TestAck(t *testing.T) {
	e := newEnv(t, baseConfig())
	e.handle(panicTrigger("box-gate", true))
	a := e.onlyAlarm()
	ctx := context.Background()
	if err := e.m.Ack(ctx, a.ID, "", "x"); !errors.Is(err, alerting.ErrNoPerson) {
		t.Fatalf("ack without person: %v", err)
	}
	e.clock.Advance(20 * time.Second)
	if err := e.m.Ack(ctx, a.ID, "guard-wang", "on my way"); err != nil {
		t.Fatal(err)
	}
	if err := e.m.Ack(ctx, a.ID, "guard-li", ""); !errors.Is(err, alerting.ErrAlreadyAcked) {
		t.Fatalf("second ack: %v", err)
	}
	if err := e.m.Ack(ctx, "nope", "guard-li", ""); !errors.Is(err, alerting.ErrNotFound) {
		t.Fatalf("unknown ack: %v", err)
	}
	a = e.onlyAlarm()
	if a.State != alerting.Acknowledged || a.AckedBy != "guard-wang" || a.AckNote != "on my way" || !a.AckedAt.Equal(t0.Add(20*time.Second)) {
		t.Fatalf("acked alarm %+v", a)
	}
	d, _ := e.j.Alarm(a.ID)
	last := d.History[len(d.History)-1]
	if last.Action != string(alerting.Acked) || last.By != "guard-wang" || last.Note != "on my way" {
		t.Fatalf("history %+v", last)
	}
	if got := e.sinksOf(a.ID, alerting.Acked); !sameSet(got, []string{"staff", "mqtt", "police"}) {
		t.Fatalf("ack to %v", got)
	}
	if _, q := e.local.counts(); q != 1 {
		t.Errorf("siren silenced %d times", q)
	}
}

func escalationConfig() alerting.Config {
	c := baseConfig()
	c.Escalation = alerting.Escalation{Police: true, Tiers: []alerting.Tier{
		{After: time.Minute, Sinks: []string{"tier1"}},
		{After: 5 * time.Minute, Sinks: []string{"tier2"}},
	}}
	return c
}

func TestEscalationTiming(t *testing.T) {
	e := newEnv(t, escalationConfig())
	e.handle(alerting.Trigger{Rule: "fall", Key: "radar-b3", DeviceID: "radar-b3", Firing: true, Severity: alerting.Critical})
	a := e.onlyAlarm()
	steps := []struct {
		at    time.Duration
		tier  int
		sinks []string
	}{
		{59 * time.Second, 0, nil},
		{time.Minute, 1, []string{"tier1"}},
		{4*time.Minute + 59*time.Second, 1, nil},
		{5 * time.Minute, 2, []string{"tier2", "police"}},
		{time.Hour, 2, nil},
	}
	var want []string
	for _, s := range steps {
		e.m.Tick(t0.Add(s.at))
		got := e.onlyAlarm()
		if got.Escalation != s.tier {
			t.Fatalf("at %s escalation %d, want %d", s.at, got.Escalation, s.tier)
		}
		want = append(want, s.sinks...)
		if esc := e.sinksOf(a.ID, alerting.Escalated); !sameSet(esc, want) {
			t.Fatalf("at %s escalations to %v, want %v", s.at, esc, want)
		}
	}
	n := e.sinks["tier2"].recv(t)
	if n.Tier != 2 || n.Transition != alerting.Escalated {
		t.Errorf("tier2 got %+v", n)
	}
}

func TestAckStopsEscalation(t *testing.T) {
	e := newEnv(t, escalationConfig())
	e.handle(panicTrigger("box-gate", true))
	a := e.onlyAlarm()
	e.m.Tick(t0.Add(30 * time.Second))
	if err := e.m.Ack(context.Background(), a.ID, "guard", ""); err != nil {
		t.Fatal(err)
	}
	e.m.Tick(t0.Add(time.Hour))
	if esc := e.sinksOf(a.ID, alerting.Escalated); len(esc) != 0 {
		t.Fatalf("acked alarm escalated to %v", esc)
	}
	// minor alarms need no ack: never escalate
	e.handle(camTrigger("cam-1", "no_hat", alerting.Minor, event.TypeDetection))
	e.m.Tick(t0.Add(2 * time.Hour))
	for _, x := range e.m.Active() {
		if x.Escalation != 0 {
			t.Fatalf("escalated %+v", x)
		}
	}
}

func TestSilenceExpiry(t *testing.T) {
	e := newEnv(t, baseConfig())
	ctx := context.Background()
	id, err := e.m.Silence(ctx, alerting.Silence{Matchers: alerting.Matchers{"device": "cam-1"}, End: t0.Add(10 * time.Minute),
		Reason: "camera being serviced", By: "installer"})
	if err != nil {
		t.Fatal(err)
	}
	e.handle(camTrigger("cam-1", "smoking", alerting.Major, event.TypeDetection))
	a := e.onlyAlarm()
	if !a.Silenced {
		t.Fatal("not silenced")
	}
	if d := e.deliveries(a.ID); len(d) != 0 {
		t.Fatalf("silenced alarm delivered: %v", d)
	}
	if got := e.m.Silences(); len(got) != 1 || got[0].ID != id {
		t.Fatalf("silences %+v", got)
	}
	e.m.Tick(t0.Add(9*time.Minute + 59*time.Second))
	if d := e.deliveries(a.ID); len(d) != 0 {
		t.Fatalf("delivered before expiry: %v", d)
	}
	e.m.Tick(t0.Add(10 * time.Minute))
	if len(e.m.Silences()) != 0 || e.onlyAlarm().Silenced {
		t.Fatal("silence did not expire")
	}
	// still firing and never notified: notified now
	if got := e.sinksOf(a.ID, alerting.Fired); !sameSet(got, []string{"staff"}) {
		t.Fatalf("after expiry fired to %v", got)
	}
	p, _ := e.j.Records(journalRecords("silence_expired"))
	if len(p.Records) != 1 || p.Records[0].By != "installer" {
		t.Fatalf("expiry record %+v", p.Records)
	}
}

func TestUnsilence(t *testing.T) {
	e := newEnv(t, baseConfig())
	ctx := context.Background()
	id, err := e.m.Silence(ctx, alerting.Silence{Matchers: alerting.Matchers{"zone": "kitchen"}, End: t0.Add(time.Hour), Reason: "drill", By: "ops"})
	if err != nil {
		t.Fatal(err)
	}
	e.handle(camTrigger("cam-2", "stranger", alerting.Major, event.TypeDetection))
	a := e.onlyAlarm()
	if err := e.m.Unsilence(ctx, id, "ops"); err != nil {
		t.Fatal(err)
	}
	if got := e.sinksOf(a.ID, alerting.Fired); !sameSet(got, []string{"staff"}) {
		t.Fatalf("after unsilence fired to %v", got)
	}
	for _, bad := range []alerting.Silence{
		{End: t0.Add(time.Hour), Reason: "r", By: "b"},
		{Matchers: alerting.Matchers{"zone": "x"}, End: t0.Add(time.Hour), By: "b"},
		{Matchers: alerting.Matchers{"zone": "x"}, End: t0.Add(-time.Hour), Reason: "r", By: "b"},
	} {
		if _, err := e.m.Silence(ctx, bad); err == nil {
			t.Errorf("silence %+v accepted", bad)
		}
	}
}

func TestInhibition(t *testing.T) {
	cfg := baseConfig()
	cfg.Inhibit = []alerting.InhibitRule{
		// a device offline mutes its own detections
		{SourceMatch: alerting.Matchers{"rule": "device_offline"}, TargetMatch: alerting.Matchers{"kind": "kitchen_camera"}, Equal: []string{"device"}},
		// a site-wide power failure mutes per-device offline alarms
		{SourceMatch: alerting.Matchers{"rule": "power_fail"}, TargetMatch: alerting.Matchers{"rule": "device_offline"}, Equal: []string{"site"}},
	}
	e := newEnv(t, cfg)
	offline := camTrigger("cam-1", "device_offline", alerting.Major, event.TypeOffline)
	e.handle(offline)
	e.handle(camTrigger("cam-1", "smoking", alerting.Major, event.TypeDetection))
	e.handle(camTrigger("cam-2", "smoking", alerting.Major, event.TypeDetection))
	byKey := map[string]alerting.Alarm{}
	for _, a := range e.m.Active() {
		byKey[a.Rule+"/"+a.DeviceID] = a
	}
	muted, other := byKey["smoking/cam-1"], byKey["smoking/cam-2"]
	if !muted.Inhibited || other.Inhibited || byKey["device_offline/cam-1"].Inhibited {
		t.Fatalf("inhibited flags: %+v", byKey)
	}
	if d := e.deliveries(muted.ID); len(d) != 0 {
		t.Fatalf("inhibited alarm delivered %v", d)
	}
	if got := e.sinksOf(other.ID, alerting.Fired); !sameSet(got, []string{"staff"}) {
		t.Fatalf("other camera fired to %v", got)
	}
	// the camera comes back: its detection, still firing, is notified now
	offline.Firing = false
	e.handle(offline)
	if got := e.sinksOf(muted.ID, alerting.Fired); !sameSet(got, []string{"staff"}) {
		t.Fatalf("after source resolved, fired to %v", got)
	}

	// power failure first: the offline alarms that follow are muted
	e.handle(alerting.Trigger{Rule: "power_fail", Key: "site", Firing: true, Severity: alerting.Critical})
	e.handle(camTrigger("cam-2", "device_offline", alerting.Major, event.TypeOffline))
	for _, a := range e.m.Active() {
		if a.Rule == "device_offline" && !a.Inhibited {
			t.Fatalf("offline not inhibited by power failure: %+v", a)
		}
	}
}

func TestGrouping(t *testing.T) {
	cfg := baseConfig()
	cfg.Routes.Routes = append(cfg.Routes.Routes, alerting.Route{
		Match: alerting.Matchers{"zone": "kitchen"}, Sinks: []string{"staff"},
		GroupBy: []string{"zone", "rule"}, GroupWait: 30 * time.Second, GroupInterval: 5 * time.Minute,
	})
	e := newEnv(t, cfg)
	for i := range 20 {
		tr := camTrigger("cam-1", "no_hat", alerting.Minor, event.TypeDetection)
		tr.Key = fmt.Sprintf("cam-1/person-%d", i)
		e.handle(tr)
	}
	// a critical alarm on the same route is never delayed by grouping
	crit := camTrigger("cam-2", "fire", alerting.Critical, event.TypeDetection)
	e.handle(crit)
	n := e.sinks["staff"].recv(t)
	if n.Alarm.Rule != "fire" || n.Count != 1 {
		t.Fatalf("first notification %+v, want the critical one", n)
	}
	e.m.Tick(t0.Add(29 * time.Second))
	select {
	case n := <-e.sinks["staff"].ch:
		t.Fatalf("group sent before group_wait: %+v", n)
	default:
	}
	e.m.Tick(t0.Add(30 * time.Second))
	n = e.sinks["staff"].recv(t)
	if n.Count != 20 || len(n.Group) != 20 || n.Transition != alerting.Fired {
		t.Fatalf("group notification count %d group %d", n.Count, len(n.Group))
	}
	// one more during the group interval waits for it
	tr := camTrigger("cam-1", "no_hat", alerting.Minor, event.TypeDetection)
	tr.Key = "late"
	e.handle(tr)
	e.m.Tick(t0.Add(time.Minute))
	select {
	case n := <-e.sinks["staff"].ch:
		t.Fatalf("sent before group_interval: %+v", n)
	default:
	}
	e.m.Tick(t0.Add(5*time.Minute + 30*time.Second))
	if n := e.sinks["staff"].recv(t); n.Count != 1 || n.Alarm.Key != "late" {
		t.Fatalf("second group %+v", n)
	}
}

func TestGroupSurvivesRestart(t *testing.T) {
	cfg := baseConfig()
	cfg.Routes.GroupBy = []string{"rule"}
	cfg.Routes.GroupWait = time.Minute
	e := newEnv(t, cfg)
	for i := range 3 {
		tr := camTrigger("cam-1", "no_mask", alerting.Minor, event.TypeDetection)
		tr.Key = fmt.Sprint(i)
		e.handle(tr)
	}
	e.restart()
	e.m.Tick(t0.Add(time.Minute))
	if n := e.sinks["staff"].recv(t); n.Count != 3 {
		t.Fatalf("restored group count %d", n.Count)
	}
}

func TestRepeatInterval(t *testing.T) {
	cfg := baseConfig()
	cfg.Routes.RepeatInterval = time.Hour
	e := newEnv(t, cfg)
	e.handle(camTrigger("cam-1", "rodent", alerting.Major, event.TypeDetection))
	a := e.onlyAlarm()
	e.m.Tick(t0.Add(59 * time.Minute))
	e.m.Tick(t0.Add(time.Hour))
	if got := e.sinksOf(a.ID, alerting.Refired); !sameSet(got, []string{"staff"}) {
		t.Fatalf("repeat to %v", got)
	}
}

func TestSubscribeResync(t *testing.T) {
	e := newEnv(t, baseConfig())
	sub := e.m.Subscribe(1)
	defer sub.Close()
	e.handle(camTrigger("cam-1", "a", alerting.Minor, event.TypeDetection))
	e.handle(camTrigger("cam-1", "b", alerting.Minor, event.TypeDetection)) // dropped: buffer full
	if u := <-sub.C(); u.Alarm.Rule != "a" || u.Resync {
		t.Fatalf("first update %+v", u)
	}
	e.handle(camTrigger("cam-1", "c", alerting.Minor, event.TypeDetection))
	if u := <-sub.C(); u.Alarm.Rule != "c" || !u.Resync {
		t.Fatalf("after a drop want resync: %+v", u)
	}
}

func TestDeliveryRetryAndPermanent(t *testing.T) {
	e := newEnv(t, baseConfig())
	e.sinks["staff"].setFail(errors.New("broker down"))
	e.handle(camTrigger("cam-1", "smoking", alerting.Major, event.TypeDetection))
	a := e.onlyAlarm()
	// The worker tries, fails, records the failure and sleeps on its back-off: then
	// the fake clock has two waiters, Run's ticker and the back-off.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.clock.BlockUntilContext(ctx, 2); err != nil {
		t.Fatalf("worker not backing off: %v", err)
	}
	if h := e.m.SinkHealth()["staff"].Health(); h.State == "up" {
		t.Fatalf("staff health after a failed attempt: %+v", h)
	}
	e.sinks["staff"].setFail(nil)
	e.clock.Advance(alerting.DefaultBackoffMin) // the first back-off
	if n := e.sinks["staff"].recv(t); n.ID != a.ID+"/1" {
		t.Fatalf("retried %s", n.ID)
	}
	e.sinks["mqtt"].setFail(&alerting.Permanent{Err: errors.New("400 bad request")})
	e.handle(panicTrigger("box-gate", true))
	p := e.m.Active()[0]
	// The outcome is stored lazily: a commit writes what the worker recorded.
	awaitRecorded(t, e.recorded, "mqtt delivery rejected in the journal", func() bool {
		if err := e.j.Commit(alerting.Commit{}); err != nil {
			t.Fatal(err)
		}
		d, _ := e.j.Alarm(p.ID)
		for _, x := range d.Deliveries {
			if x.Sink == "mqtt" && x.State == alerting.Rejected {
				return true
			}
		}
		return false
	})
}

func TestConcurrentHandle(t *testing.T) {
	e := newEnv(t, baseConfig())
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tr := camTrigger("cam-1", "x", alerting.Minor, event.TypeDetection)
			tr.Key = fmt.Sprint(i)
			if err := e.m.Handle(context.Background(), tr); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := len(e.m.Active()); n != 50 {
		t.Fatalf("%d active", n)
	}
	act, _ := e.j.Active()
	if len(act) != 50 {
		t.Fatalf("%d journaled", len(act))
	}
}
