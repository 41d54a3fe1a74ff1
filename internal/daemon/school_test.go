package daemon

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/alerting/journal"
	"github.com/campusguard/campusguard/alerting/records"
	"github.com/campusguard/campusguard/cfgerr"
	"github.com/campusguard/campusguard/configs"
	"github.com/campusguard/campusguard/drivers/sim"
	"github.com/campusguard/campusguard/event"
	"github.com/campusguard/campusguard/internal/config"
	"github.com/campusguard/campusguard/internal/testenv"
)

// The school's own rules, checked through the running daemon: sound and light on site
// per alarm class, arming by the school calendar, patrol rounds a day, records kept
// whole. Each scenario reads as what the school's security officer checks.

var shanghai = func() *time.Location {
	l, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return l
}()

// schoolRules are the conformance rules with a minor balcony intrusion: severity does
// not decide the sound on site, the signalling table does.
func schoolRules(extra string) *string {
	r := strings.Replace(siteRules, "  - name: balcony-intrusion\n    severity: critical", "  - name: balcony-intrusion\n    severity: minor", 1)
	r += extra
	return &r
}

// radar puts someone on the balcony (or clears it).
func (h *harness) radar(occupied bool) {
	h.mqttDevice("cf/radar/radar-east/state", fmt.Sprintf(`{"occupied":%v}`, occupied))
}

// clockAt is the fake clock's time in the site's zone.
func (h *harness) clockAt() time.Time { return h.clock.Now().In(shanghai) }

// awaitOpen waits until an alarm of rule is open (one that reaches nobody, as in a
// disarmed zone, is seen only there) and returns it.
func (h *harness) awaitOpen(rule string) alerting.Alarm {
	h.t.Helper()
	sub := h.d.p.alerts.Subscribe(64) // before the look, so no change is missed
	defer sub.Close()
	deadline := time.After(10 * time.Second)
	for {
		for _, a := range h.open() {
			if a.Rule == rule {
				return a
			}
		}
		select {
		case <-sub.C():
		case <-deadline:
			h.t.Fatalf("no open alarm of %s within 10 s", rule)
			return alerting.Alarm{}
		}
	}
}

// armingTick runs the arming check as of the fake clock (RunArming's tick).
func (h *harness) armingTick() {
	h.t.Helper()
	if err := h.d.p.alerts.ArmingTick(context.Background()); err != nil {
		h.t.Fatalf("arming check: %v", err)
	}
	h.settle()
}

// Item 1. An intrusion on the anti-fall balcony of severity minor lights the strobe
// on the spot: the siren's routes say where it signals, not local.severities. A panic
// still sounds the gate siren.
func TestSchool_SignallingPerClass(t *testing.T) {
	h := newHarness(t, harnessOpt{rules: schoolRules("")})
	h.radar(true)
	a := h.staffGets(alerting.Fired, "balcony-intrusion", 1).Alarm
	if a.Severity != alerting.Minor || a.Class != alerting.ClassIntrusion {
		t.Fatalf("balcony alarm %+v", a)
	}
	if !h.strobeOn() {
		t.Fatal("a minor intrusion on the anti-fall balcony is silent on site")
	}
	if h.sirenOn() {
		t.Fatal("the balcony's alarm sounds the gate siren, which its route does not name")
	}
	h.reset(a.ID, "王芳")
	h.staffGets(alerting.ResolvedT, "balcony-intrusion", 1)
	if h.strobeOn() {
		t.Fatal("strobe still on after the reset")
	}
	h.pressGate()
	h.staffGets(alerting.Fired, "builtin-panic", 1)
	h.awaitSiren(true)
}

// Item 2. The balcony is armed by a schedule: outside it an intrusion is journaled and
// shown, not notified; the schedule arms the zone (journaled by "schedule"); armed,
// the intrusion reaches staff. An operator disarms it for an hour with a reason: ten
// minutes later the arming-reminder alarm reaches staff; when the override ends the
// zone arms again and the reminder resolves.
func TestSchool_ArmingSchedule(t *testing.T) {
	now := time.Now().In(shanghai)
	from := now.Add(30 * time.Minute).Truncate(time.Minute)
	to := from.Add(4 * time.Hour)
	sched := fmt.Sprintf(`schedules:
  night-test:
    windows: ["%s-%s"]
alerting:
  arming:
    zones:
      - {zone: balcony, armed: night-test}
    remind_after: 10m
`, from.Format("15:04"), to.Format("15:04"))
	h := newHarness(t, harnessOpt{confd: map[string]string{"arming.yaml": sched}})
	h.armingTick()
	if h.d.p.alerts.Armed("balcony") {
		t.Fatal("balcony armed before its schedule")
	}
	// Disarmed: journaled and shown, not notified, silent.
	h.radar(true)
	a := h.awaitOpen("balcony-intrusion")
	h.settle()
	if !a.Disarmed || h.staffCount(alerting.Fired, "balcony-intrusion") != 0 || h.strobeOn() {
		t.Fatalf("disarmed zone: alarm %+v, staff %d, strobe %v", a, h.staffCount(alerting.Fired, "balcony-intrusion"), h.strobeOn())
	}
	h.radar(false)
	h.reset(a.ID, "王芳")
	h.settle()
	// The schedule arms the zone.
	h.advance(from.Sub(h.clockAt()) + time.Minute)
	h.armingTick()
	if !h.d.p.alerts.Armed("balcony") {
		t.Fatal("balcony not armed by its schedule")
	}
	recs, err := h.d.p.journal.Records(journal.RecordQuery{By: alerting.ByScheduleName, Action: alerting.ActionArmed})
	if err != nil || len(recs.Records) != 1 || recs.Records[0].Zone != "balcony" {
		t.Fatalf("schedule's arming record %+v (%v)", recs.Records, err)
	}
	h.radar(true)
	b := h.staffGets(alerting.Fired, "balcony-intrusion", 1).Alarm
	if b.Disarmed || !h.strobeOn() {
		t.Fatalf("armed zone: alarm %+v strobe %v", b, h.strobeOn())
	}
	h.radar(false)
	h.reset(b.ID, "王芳")
	h.staffGets(alerting.ResolvedT, "balcony-intrusion", 1)
	// A guard may not disarm; an operator disarms for an hour with a reason.
	ctx := context.Background()
	if err := h.d.p.alerts.SetArming(ctx, alerting.ArmRequest{Zone: "balcony", By: "张保安", Guard: true, For: 2 * time.Hour, Reason: "x", Delay: true}); !errors.Is(err, alerting.ErrTooLong) {
		t.Fatalf("guard's delay of an hour past delay_max: %v", err)
	}
	if err := h.d.p.alerts.SetArming(ctx, alerting.ArmRequest{Zone: "balcony", By: "李主任", For: time.Hour, Reason: "阳台维修"}); err != nil {
		t.Fatal(err)
	}
	h.advance(11 * time.Minute)
	h.armingTick()
	rem := h.staffGets(alerting.Fired, alerting.ArmingReminderRule, 1).Alarm
	if rem.Severity != alerting.Major || rem.Class != alerting.ClassOther || !strings.Contains(rem.Message, "阳台维修") {
		t.Fatalf("reminder %+v", rem)
	}
	h.advance(50 * time.Minute)
	h.armingTick()
	h.staffGets(alerting.ResolvedT, alerting.ArmingReminderRule, 1)
	if !h.d.p.alerts.Armed("balcony") {
		t.Fatal("balcony not armed again when the override ended")
	}
	// Who, when and why are in the journal.
	recs, _ = h.d.p.journal.Records(journal.RecordQuery{By: "李主任"})
	if len(recs.Records) != 1 || recs.Records[0].Action != alerting.ActionDisarmed || !strings.Contains(recs.Records[0].Note, "阳台维修") {
		t.Fatalf("operator's record %+v", recs.Records)
	}
}

// patrolConf is a patrol section with no reader (nobody patrols): plan "night" at
// the given times.
func patrolConf(times string) string {
	return `devices:
  - {id: reader-1, kind: patrol, name: 巡更手持机, location: 门卫室, zone: gate, driver: sim, heartbeat: -1s}
patrol:
  checkpoints:
    - {id: CP-01, name: 校门, location: 校门门卫室外}
  guards:
    - {id: zhang, name: 张伟, cards: ["A1B2C3D4"]}
  routes:
    - {id: night, name: 夜间巡查路线, checkpoints: [CP-01]}
  plans:
    - {id: night, name: 夜间巡查, route: night, times: [` + times + `], duration: 20m, start_tolerance: 10m}
`
}

// Item 3. check refuses a plan of one round a day for a key area (GB/T 29315: 5), with
// the plan's file and key; live, a day that can no longer make its rounds warns the
// duty screen (the patrol_rounds_short event, a rule's alarm) before the shift ends.
func TestSchool_PatrolRoundsADay(t *testing.T) {
	h := newHarness(t, harnessOpt{confd: map[string]string{"patrol.yaml": patrolConf(`"01:00", "02:00", "03:00", "04:00", "05:00"`)},
		rules: schoolRules(`  - name: patrol-rounds-short
    severity: major
    select: {kinds: [patrol]}
    when: type == "patrol_rounds_short"
    resolve_after: 12h
    message: "{{.Fields.reason}}"
`)})
	// check: one round a day is refused, located at the plan.
	h.write("conf.d/patrol.yaml", patrolConf(`"01:00"`))
	_, err := config.Load(config.DiskSource(h.cfg), config.Options{})
	l := cfgerr.As(err)
	if l == nil || !strings.Contains(l.Error(), "patrol.plans[0]") || !strings.Contains(l.Error(), "fewer than the 5 a day") {
		t.Fatalf("check of a one-round plan: %v", err)
	}
	// Live: the first round of tomorrow is not started; four remain: the day cannot
	// make 5. The duty screen hears it at 01:10, hours before the shift ends.
	local := h.clockAt()
	next := time.Date(local.Year(), local.Month(), local.Day()+1, 1, 11, 0, 0, shanghai)
	h.advance(next.Sub(local))
	m := h.staffGets(alerting.Fired, "patrol-rounds-short", 1)
	if !strings.Contains(m.Alarm.Message, "达不到每日至少5次") {
		t.Fatalf("rounds-short alarm %+v", m.Alarm)
	}
}

// Item 4. An alarm nobody reset for 100 days keeps its whole history through
// compaction, while a resolved one of the same age goes; the export of the day lists
// the open alarm with Chinese headers.
func TestSchool_RecordsKeptWhole(t *testing.T) {
	h := newHarness(t, harnessOpt{})
	h.pressGate()
	open := h.staffGets(alerting.Fired, "builtin-panic", 1).Alarm
	h.ack(open.ID, "王芳")
	h.staffGets(alerting.Acked, "builtin-panic", 1)
	h.radar(true)
	done := h.staffGets(alerting.Fired, "balcony-intrusion", 1).Alarm
	h.radar(false)
	h.reset(done.ID, "王芳")
	h.staffGets(alerting.ResolvedT, "balcony-intrusion", 1)
	before := h.history(open.ID)
	later := h.clock.Now().Add(100 * 24 * time.Hour)
	if _, err := h.d.p.journal.CompactWith(later, journal.Uniform(90*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got := h.history(open.ID); strings.Join(got, ",") != strings.Join(before, ",") || len(got) < 2 {
		t.Fatalf("open alarm's history %v after compaction, was %v", got, before)
	}
	if _, err := h.d.p.journal.Alarm(done.ID); err == nil {
		t.Fatal("a resolved alarm older than retention was kept")
	}
	day := h.clockAt().Format(time.DateOnly)
	from, to, err := records.Range(day, day, shanghai)
	if err != nil {
		t.Fatal(err)
	}
	e, err := records.Collect(h.d.p.journal, from, to, shanghai)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := e.WriteCSV(&b, records.TableAlarms); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "报警编号,发生时间,类别") || !strings.Contains(b.String(), open.ID+",") ||
		!strings.Contains(b.String(), "紧急求助") {
		t.Fatalf("export:\n%s", b.String())
	}
}

// Item 5. The demo shows what it claims.

// demoScenarioAlarms is what each simulator scenario raises, as the README says: the
// rules that may answer it (any one of them).
var demoScenarioAlarms = map[string][]string{
	"panic":          {"builtin-panic"},
	"antifall":       {"antifall-presence", "antifall-presence-night"},
	"window":         {"antifall-window-open"},
	"kitchen":        {"kitchen-detection-burst"},
	"tamper":         {"device-tamper"},
	"camera-offline": {"device-offline"},
	"patrol":         {"patrol-checkpoint-missed"},
	"perimeter":      {"perimeter-intrusion"},
}

// demoCampusDir writes the embedded demo config to a directory with its fixed ports
// replaced by free ones and no scenarios at start.
func demoCampusDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	repl := strings.NewReplacer("127.0.0.1:18830", testenv.FreeAddr(t), "127.0.0.1:17001", testenv.FreeAddr(t),
		"127.0.0.1:9810", testenv.FreeAddr(t), "scenarios: [panic, antifall, kitchen, tamper, camera-offline]", "scenarios: []",
		"level: info", "level: error")
	err := fs.WalkDir(configs.Demo(), ".", func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() {
			return os.MkdirAll(filepath.Join(dir, p), 0o755)
		}
		b, err := fs.ReadFile(configs.Demo(), p)
		if err != nil {
			return err
		}
		if strings.HasSuffix(p, ".yaml") {
			b = []byte(repl.Replace(string(b)))
		}
		return os.WriteFile(filepath.Join(dir, p), b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestSchool_DemoScenariosFire plays every simulator scenario on the demo campus,
// once in school (and kitchen) hours and once at night, and checks that each raises
// the alarm the README promises.
func TestSchool_DemoScenariosFire(t *testing.T) {
	if testing.Short() {
		t.Skip("plays every demo scenario")
	}
	for _, at := range []time.Time{
		time.Date(2026, 11, 20, 10, 0, 0, 0, shanghai),  // a Friday in school and kitchen hours
		time.Date(2026, 11, 20, 22, 30, 0, 0, shanghai), // the same night
	} {
		t.Run(at.Format("15:04"), func(t *testing.T) {
			dir := demoCampusDir(t)
			clock := clockwork.NewFakeClockAt(at)
			ready := make(chan *Daemon, 1)
			d, err := New(Options{Source: config.Source{FS: os.DirFS(dir), Main: "campusguard.yaml", Dir: dir, Demo: true},
				Demo: true, StateDir: filepath.Join(dir, "state"), Logger: harnessLogger(), Clock: clock,
				WatchInterval: time.Hour, Notify: func(string) {}, Ready: func(d *Daemon) { ready <- d }})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- d.Run(ctx) }()
			defer func() {
				cancel()
				<-done
			}()
			select {
			case <-ready:
			case err := <-done:
				t.Fatalf("demo did not start: %v", err)
			case <-time.After(30 * time.Second):
				t.Fatal("demo not ready within 30 s")
			}
			// Every event the daemon takes: the moments to look at the journal again.
			bus := d.bus.Subscribe("test-journal-watch", 256, event.DropOldest)
			for _, name := range sim.ScenarioNames() {
				want, ok := demoScenarioAlarms[name]
				if !ok {
					t.Errorf("scenario %s: no alarm listed for it", name)
					continue
				}
				before := journaledIDs(t, d)
				playScenario(t, d, clock, name)
				a, ok := awaitJournaled(t, d, clock, bus, want, before)
				if !ok {
					t.Errorf("scenario %s at %s: none of %v raised; open: %v", name, at.Format("15:04"), want, openRules(d))
					continue
				}
				// The perimeter is armed by the school calendar: journaled only in
				// school hours, notified at night.
				if name == "perimeter" && a.Disarmed != (at.Hour() == 10) {
					t.Errorf("perimeter alarm at %s: disarmed=%v", at.Format("15:04"), a.Disarmed)
				}
			}
		})
	}
}

// playScenario runs a scenario to its end, moving the fake clock in small steps while
// it holds (a held button, the wait for the next patrol slot).
func playScenario(t *testing.T, d *Daemon, clock *clockwork.FakeClock, name string) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- d.p.sim.RunScenario(context.Background(), name) }()
	for i := 0; ; i++ {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("scenario %s: %v", name, err)
			}
			return
		case <-time.After(2 * time.Millisecond):
		}
		if i > 20000 {
			t.Fatalf("scenario %s did not end", name)
		}
		clock.Advance(250 * time.Millisecond)
	}
}

// journaledIDs are the ids of the alarms in the journal.
func journaledIDs(t *testing.T, d *Daemon) map[string]bool {
	t.Helper()
	p, err := d.p.journal.Alarms(journal.AlarmQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, a := range p.Alarms {
		out[a.ID] = true
	}
	return out
}

// awaitJournaled waits until a new alarm (not in before) of one of rules is in the
// journal. Each time the main loop has processed everything on the bus (its journal
// writes then are on disk) the journal is read; an event coming onto the bus (the
// simulator's MQTT messages on their way) is awaited for a moment, and when none
// comes the clock moves on 250 ms (a rule's for/count timers), 400 times at most.
func awaitJournaled(t *testing.T, d *Daemon, clock *clockwork.FakeClock, bus *event.Subscription, rules []string, before map[string]bool) (alerting.Alarm, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for advances := 0; advances <= 400; {
		if err := d.processed.Wait(ctx, d.bus.Published()); err != nil {
			t.Fatalf("main loop did not process event %d", d.bus.Published())
		}
		if err := d.Ping(ctx); err != nil {
			t.Fatalf("main loop did not answer: %v", err)
		}
		p, err := d.p.journal.Alarms(journal.AlarmQuery{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range p.Alarms {
			if !before[a.ID] && slices.Contains(rules, a.Rule) {
				return a, true
			}
		}
		select {
		case <-bus.C(): // an event came: process it (and any behind it) before the clock moves
			for len(bus.C()) > 0 {
				<-bus.C()
			}
		case <-time.After(20 * time.Millisecond):
			clock.Advance(250 * time.Millisecond)
			advances++
		case <-ctx.Done():
			return alerting.Alarm{}, false
		}
	}
	return alerting.Alarm{}, false
}

func openRules(d *Daemon) []string {
	var out []string
	for _, a := range d.p.alerts.Active() {
		out = append(out, a.Rule)
	}
	return out
}
