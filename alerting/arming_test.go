package alerting_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/alerting/journal"
)

// nights is a stand-in schedule set: "nights" is active 18:00-07:00 (UTC).
type nights struct{}

func (nights) Active(name string, t time.Time) bool {
	return name == "nights" && (t.Hour() >= 18 || t.Hour() < 7)
}

type armEnv struct {
	t     *testing.T
	path  string
	clock *clockwork.FakeClock
	j     *journal.Journal
	m     *alerting.Manager
	staff *sink
}

func newArmEnv(t *testing.T, start time.Time) *armEnv {
	e := &armEnv{t: t, path: filepath.Join(t.TempDir(), "j.db"), clock: clockwork.NewFakeClockAt(start), staff: newSink("staff")}
	e.open()
	t.Cleanup(func() { e.j.Close() })
	return e
}

func (e *armEnv) open() {
	e.t.Helper()
	j, err := journal.Open(e.path, journal.Options{Clock: e.clock})
	if err != nil {
		e.t.Fatal(err)
	}
	cfg := alerting.Config{Routes: alerting.Route{Sinks: []string{"staff"}},
		Arming: alerting.ArmingConfig{Zones: []alerting.ZoneSchedule{{Zone: "b3", Armed: "nights", DelayMax: 30 * time.Minute}}}}
	m, err := alerting.New(alerting.Options{Config: cfg, Store: j, Directory: testDirectory(), Sinks: []alerting.Sink{e.staff},
		Schedules: nights{}, Clock: e.clock, TickEvery: time.Hour, Local: &local{}})
	if err != nil {
		e.t.Fatal(err)
	}
	e.j, e.m = j, m
}

// at moves the clock to hh:mm of the start day and runs the arming check.
func (e *armEnv) at(hh, mm int) {
	e.t.Helper()
	n := e.clock.Now()
	to := time.Date(n.Year(), n.Month(), n.Day(), hh, mm, 0, 0, time.UTC)
	e.clock.Advance(to.Sub(n))
	if err := e.m.ArmingTick(context.Background()); err != nil {
		e.t.Fatal(err)
	}
}

func (e *armEnv) reminderOpen() bool {
	return e.m.IsOpen(alerting.ArmingReminderRule, "b3")
}

// TestArmingSchedule: the balcony is disarmed for school hours and armed at night by
// its schedule; the changes are journaled by "schedule"; a fall in school hours is
// journaled but not notified, at night it is.
func TestArmingSchedule(t *testing.T) {
	e := newArmEnv(t, time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC))
	e.at(10, 0)
	if e.m.Armed("b3") || !e.m.Armed("kitchen") {
		t.Fatalf("at 10:00 b3 armed=%v kitchen armed=%v, want false/true", e.m.Armed("b3"), e.m.Armed("kitchen"))
	}
	e.at(18, 0)
	if !e.m.Armed("b3") {
		t.Fatal("b3 not armed at 18:00")
	}
	p, _ := e.j.Records(alerting.RecordQuery{By: alerting.ByScheduleName})
	if len(p.Records) != 2 || p.Records[0].Action != alerting.ActionArmed || p.Records[1].Action != alerting.ActionDisarmed {
		t.Errorf("schedule records %+v, want disarmed then armed", p.Records)
	}
}

// TestArmingOverrides: who may do what, for how long, with what reason.
func TestArmingOverrides(t *testing.T) {
	ctx := context.Background()
	e := newArmEnv(t, time.Date(2026, 11, 20, 16, 0, 0, 0, time.UTC))
	e.at(16, 0)
	bad := []struct {
		name string
		r    alerting.ArmRequest
		want error
	}{
		{"nobody", alerting.ArmRequest{Zone: "b3", Armed: true}, alerting.ErrNoPerson},
		{"unknown zone", alerting.ArmRequest{Zone: "moon", Armed: true, By: "王"}, alerting.ErrUnknownZone},
		{"guard delay too long", alerting.ArmRequest{Zone: "b3", By: "王", Guard: true, Delay: true, For: time.Hour, Reason: "晚会"}, alerting.ErrTooLong},
		{"guard delay without reason", alerting.ArmRequest{Zone: "b3", By: "王", Guard: true, Delay: true, For: 10 * time.Minute}, alerting.ErrNoReason},
		{"operator disarm without reason", alerting.ArmRequest{Zone: "b3", By: "李", For: time.Hour}, alerting.ErrNoReason},
		{"operator override over 12h", alerting.ArmRequest{Zone: "b3", By: "李", For: 13 * time.Hour, Reason: "x"}, alerting.ErrTooLong},
		{"guard delays a zone without schedule", alerting.ArmRequest{Zone: "kitchen", By: "王", Guard: true, Delay: true, For: 10 * time.Minute, Reason: "x"}, alerting.ErrNoScheduled},
	}
	for _, tc := range bad {
		if err := e.m.SetArming(ctx, tc.r); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	// A late event: the guard arms the balcony at 16:30 when it ends, until the
	// schedule takes over at 18:00.
	e.at(16, 30)
	if err := e.m.SetArming(ctx, alerting.ArmRequest{Zone: "b3", Armed: true, By: "王保安", Guard: true, Reason: "活动结束"}); err != nil {
		t.Fatal(err)
	}
	if !e.m.Armed("b3") {
		t.Fatal("guard's arm did not arm b3")
	}
	// The guard delays tonight's arming by 20 minutes (the parents' meeting runs late).
	if err := e.m.SetArming(ctx, alerting.ArmRequest{Zone: "b3", By: "王保安", Guard: true, Delay: true, For: 20 * time.Minute, Reason: "家长会延时"}); err != nil {
		t.Fatal(err)
	}
	e.at(18, 10)
	if e.m.Armed("b3") {
		t.Fatal("b3 armed at 18:10 despite the delay to 18:20")
	}
	e.at(18, 21)
	if !e.m.Armed("b3") {
		t.Fatal("b3 not armed after the delay")
	}
	// Who and why are journaled.
	p, _ := e.j.Records(alerting.RecordQuery{By: "王保安"})
	if len(p.Records) != 2 || p.Records[0].Note == "" || p.Records[0].Zone != "b3" {
		t.Errorf("guard records %+v", p.Records)
	}
}

// TestArmingReminder: an operator disarms the balcony at night; after remind_after
// the arming-reminder alarm (major, class other) is raised and notified; when the
// override ends the zone arms again and the reminder resolves. The override
// survives a restart.
func TestArmingReminder(t *testing.T) {
	ctx := context.Background()
	e := newArmEnv(t, time.Date(2026, 11, 20, 20, 0, 0, 0, time.UTC))
	e.at(20, 0)
	if err := e.m.SetArming(ctx, alerting.ArmRequest{Zone: "b3", By: "李主任", For: 2 * time.Hour, Reason: "阳台维修"}); err != nil {
		t.Fatal(err)
	}
	e.at(20, 5)
	if e.reminderOpen() {
		t.Fatal("reminder before remind_after")
	}
	// a power cut: the override is restored from the journal
	e.j.Close()
	e.open()
	if e.m.Armed("b3") {
		t.Fatal("override lost across a restart")
	}
	e.at(20, 11)
	if !e.reminderOpen() {
		t.Fatal("no arming reminder 11 minutes after a night disarm")
	}
	var rem alerting.Alarm
	for _, a := range e.m.Active() {
		if a.Rule == alerting.ArmingReminderRule {
			rem = a
		}
	}
	if rem.Severity != alerting.Major || rem.Class != alerting.ClassOther || rem.Disarmed || rem.Labels["arming_zone"] != "b3" {
		t.Errorf("reminder %+v", rem)
	}
	e.at(22, 1)
	if !e.m.Armed("b3") || e.reminderOpen() {
		t.Fatalf("at 22:01 armed=%v reminder=%v, want armed and no reminder", e.m.Armed("b3"), e.reminderOpen())
	}
}
