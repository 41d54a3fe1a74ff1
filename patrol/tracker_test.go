package patrol

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/campusguard/campusguard/event"
)

var shanghai = mustLoc("Asia/Shanghai")

func mustLoc(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

// at returns 2026-11-20 (a Friday) at hh:mm[:ss] in Shanghai; "+1 00:05" is the next day.
func at(s string) time.Time {
	day := 20
	if strings.HasPrefix(s, "+1 ") {
		day, s = 21, s[3:]
	}
	if len(s) == 5 {
		s += ":00"
	}
	t, err := time.ParseInLocation("2006-01-02 15:04:05", fmt.Sprintf("2026-11-%02d %s", day, s), shanghai)
	if err != nil {
		panic(err)
	}
	return t
}

func d(s string) *time.Duration {
	v, err := time.ParseDuration(s)
	if err != nil {
		panic(err)
	}
	return &v
}

// testConfig: CP-01..CP-05; guards zhang (A1B2C3D4) and li (B5C6D7E8); route "night"
// strict CP-01..CP-04 with 5m legs; plan "night" at 22:00, ±10m start, ±2m per
// checkpoint. CP-05 has a fixed reader.
func testConfig() Config {
	return Config{
		Checkpoints: []Checkpoint{
			{ID: "CP-01", Name: "校门", Location: "校门门卫室", Zone: "gate"},
			{ID: "CP-02", Name: "教学楼东", Location: "教学楼东侧楼梯口", Tags: []string{"04A1B2"}},
			{ID: "CP-03", Name: "操场", Location: "操场北侧"},
			{ID: "CP-04", Name: "食堂", Location: "食堂后门"},
			{ID: "CP-05", Name: "宿舍", Location: "宿舍楼一楼", Reader: "reader-dorm"},
		},
		Guards: []Guard{
			{ID: "zhang", Name: "张伟", Cards: []string{"A1B2C3D4"}},
			{ID: "li", Name: "李娜", Cards: []string{"B5C6D7E8"}},
		},
		Routes: []Route{
			{ID: "night", Name: "夜间巡查", Checkpoints: []Stop{{Checkpoint: "CP-01"}, {Checkpoint: "CP-02", Leg: 5 * time.Minute},
				{Checkpoint: "CP-03", Leg: 5 * time.Minute}, {Checkpoint: "CP-04", Leg: 5 * time.Minute}}},
			{ID: "loop", Checkpoints: []Stop{{Checkpoint: "CP-01"}, {Checkpoint: "CP-02", Leg: 20 * time.Minute}, {Checkpoint: "CP-03", Leg: 20 * time.Minute}}},
			{ID: "any", Order: OrderAny, Checkpoints: []Stop{{Checkpoint: "CP-01"}, {Checkpoint: "CP-02"}, {Checkpoint: "CP-05"}}},
		},
		Plans: []Plan{
			{ID: "night", Name: "晚间巡查", Route: "night", Times: []string{"22:00"}, StartTolerance: d("10m"), Tolerance: d("2m")},
		},
		// One round a day keeps the scenarios short; compliance_test.go plays the
		// policy of 5.
		Compliance: Compliance{MinRounds: 1},
	}
}

type step struct {
	at     string // time (see at)
	card   string // "" = a Tick
	cp     string
	device string // reader device (default "patrol-reader-1")
}

func scanEvent(s step) event.Event {
	dev := s.device
	if dev == "" {
		dev = "patrol-reader-1"
	}
	f := event.Fields{"card": s.card}
	if s.cp != "" {
		f["checkpoint"] = s.cp
	}
	t := at(s.at)
	return event.Event{Site: "s01", DeviceID: dev, Kind: event.KindPatrol, Type: event.TypeScan, Fields: f,
		DeviceTime: t, ReceivedAt: t, Source: "mqtt"}
}

// play feeds steps to tr and returns the events as "type checkpoint" lines.
func play(t *testing.T, tr *Tracker, steps []step) []string {
	t.Helper()
	var out []string
	for _, s := range steps {
		var evs []event.Event
		if s.card == "" && s.cp == "" {
			evs = tr.Tick(at(s.at))
		} else {
			evs = tr.Scan(at(s.at), scanEvent(s))
		}
		for _, e := range evs {
			checkEvent(t, e)
			if e.Type == TypeRoundsShort || e.Type == TypeDayJudged {
				continue // the day's judgement: compliance_test.go
			}
			line := e.Type
			if cp := e.Fields.String("checkpoint"); cp != "" {
				line += " " + cp
			}
			out = append(out, line)
		}
	}
	return out
}

func checkEvent(t *testing.T, e event.Event) {
	t.Helper()
	if e.Kind != event.KindPatrol || e.Source != Source || e.DeviceID == "" || e.ReceivedAt.IsZero() {
		t.Errorf("malformed event %+v", e)
	}
	for k, v := range e.Fields {
		if _, err := event.Normalize(v); err != nil {
			t.Errorf("%s: field %s: %v", e.Type, k, err)
		}
	}
}

func newTracker(t *testing.T, cfg Config) *Tracker {
	t.Helper()
	tr, err := New(cfg, Options{Site: "s01", Location: shanghai})
	if err != nil {
		t.Fatal(err)
	}
	tr.Tick(at("21:00")) // the daemon started before the plans
	return tr
}

const zhang, li = "A1B2C3D4", "B5C6D7E8"

func TestTrackerScenarios(t *testing.T) {
	overlap := testConfig()
	overlap.Plans = []Plan{{ID: "loop", Route: "loop", Every: 30 * time.Minute, From: "20:00", Until: "21:30",
		StartTolerance: d("5m"), StartEarly: d("5m"), Tolerance: d("2m")}}
	midnight := testConfig()
	midnight.Plans = []Plan{{ID: "late", Route: "night", Every: 2 * time.Hour, From: "22:00", Until: "02:00",
		StartTolerance: d("10m"), Tolerance: d("2m")}}
	unordered := testConfig()
	unordered.Plans = []Plan{{ID: "any", Route: "any", Times: []string{"22:00"}, Duration: 15 * time.Minute}}
	weekdays := testConfig()
	weekdays.Plans[0].Days = "mon-thu"

	tests := []struct {
		name  string
		cfg   Config
		start string // first Tick (default 21:00)
		steps []step
		want  []string
	}{
		{name: "perfect run", steps: []step{
			{at: "22:01", card: zhang, cp: "CP-01"},
			{at: "22:06", card: zhang, cp: "04a1b2"}, // CP-02 by its tag, any case
			{at: "22:11", card: zhang, cp: "CP-03"},
			{at: "22:16", card: zhang, cp: "CP-04"},
			{at: "23:00"},
		}, want: []string{"patrol_started CP-01", "checkpoint_ok CP-01", "checkpoint_ok CP-02", "checkpoint_ok CP-03",
			"checkpoint_ok CP-04", "patrol_completed"}},
		{name: "late checkpoint", steps: []step{
			{at: "22:01", card: zhang, cp: "CP-01"},
			{at: "22:06", card: zhang, cp: "CP-02"},
			{at: "22:15", card: zhang, cp: "CP-03"}, // expected 22:11 ±2m
			{at: "22:20", card: zhang, cp: "CP-04"}, // legs run from the late scan: on time
		}, want: []string{"patrol_started CP-01", "checkpoint_ok CP-01", "checkpoint_ok CP-02", "checkpoint_late CP-03",
			"checkpoint_ok CP-04", "patrol_completed"}},
		{name: "early checkpoint", steps: []step{
			{at: "22:01", card: zhang, cp: "CP-01"},
			{at: "22:02", card: zhang, cp: "CP-02"}, // expected 22:06 ±2m
			{at: "22:07", card: zhang, cp: "CP-03"},
			{at: "22:12", card: zhang, cp: "CP-04"},
		}, want: []string{"patrol_started CP-01", "checkpoint_ok CP-01", "checkpoint_early CP-02", "checkpoint_ok CP-03",
			"checkpoint_ok CP-04", "patrol_completed"}},
		{name: "missed last checkpoint", steps: []step{
			{at: "22:01", card: zhang, cp: "CP-01"},
			{at: "22:06", card: zhang, cp: "CP-02"},
			{at: "22:11", card: zhang, cp: "CP-03"},
			{at: "22:17:59"}, // CP-04 expected 22:16 ±2m: not yet
			{at: "22:18"},
			{at: "22:30", card: zhang, cp: "CP-04"}, // too late: the run is closed
		}, want: []string{"patrol_started CP-01", "checkpoint_ok CP-01", "checkpoint_ok CP-02", "checkpoint_ok CP-03",
			"checkpoint_missed CP-04", "patrol_incomplete"}},
		{name: "skipped middle checkpoint is missed once the route is done", steps: []step{
			{at: "22:01", card: zhang, cp: "CP-01"},
			{at: "22:11", card: zhang, cp: "CP-03"},
			{at: "22:16", card: zhang, cp: "CP-04"},
			{at: "22:16:01"},
		}, want: []string{"patrol_started CP-01", "checkpoint_ok CP-01", "checkpoint_out_of_order CP-03", "checkpoint_ok CP-04",
			"checkpoint_missed CP-02", "patrol_incomplete"}},
		{name: "out of order when order matters", steps: []step{
			{at: "22:01", card: zhang, cp: "CP-02"},
			{at: "22:03", card: zhang, cp: "CP-01"},
			{at: "22:08", card: zhang, cp: "CP-03"},
			{at: "22:13", card: zhang, cp: "CP-04"},
		}, want: []string{"patrol_started CP-02", "checkpoint_out_of_order CP-02", "checkpoint_out_of_order CP-01",
			"checkpoint_ok CP-03", "checkpoint_ok CP-04", "patrol_completed"}},
		{name: "any order", cfg: unordered, steps: []step{
			{at: "22:00", card: li, device: "reader-dorm"}, // fixed reader: CP-05
			{at: "22:04", card: li, cp: "CP-02"},
			{at: "22:15"},
		}, want: []string{"patrol_started CP-05", "checkpoint_ok CP-05", "checkpoint_ok CP-02",
			"checkpoint_missed CP-01", "patrol_incomplete"}},
		{name: "not started", steps: []step{
			{at: "22:09:59"},
			{at: "22:10"},
			{at: "22:15", card: zhang, cp: "CP-01"}, // after the start window: unplanned
		}, want: []string{"patrol_not_started"}},
		{name: "overlapping runs of the same plan", cfg: overlap, start: "19:00", steps: []step{
			{at: "20:00", card: zhang, cp: "CP-01"},
			{at: "20:20", card: zhang, cp: "CP-02"},
			{at: "20:30", card: li, cp: "CP-01"}, // li starts the 20:30 patrol
			{at: "20:40", card: zhang, cp: "CP-03"},
			{at: "20:50", card: li, cp: "CP-02"},
			{at: "21:00", card: zhang, cp: "CP-01"}, // zhang starts the 21:00 patrol
			{at: "21:10", card: li, cp: "CP-03"},
			{at: "21:36"}, // 21:30 not started; 21:00 run still open (CP-02 due 21:20±2 → deadline 21:42)
			{at: "21:42"},
		}, want: []string{
			"patrol_started CP-01", "checkpoint_ok CP-01", "checkpoint_ok CP-02",
			"patrol_started CP-01", "checkpoint_ok CP-01",
			"checkpoint_ok CP-03", "patrol_completed",
			"checkpoint_ok CP-02",
			"patrol_started CP-01", "checkpoint_ok CP-01",
			"checkpoint_ok CP-03", "patrol_completed",
			"patrol_not_started",
			"checkpoint_missed CP-02", "checkpoint_missed CP-03", "patrol_incomplete",
		}},
		{name: "run across midnight", cfg: midnight, steps: []step{
			{at: "22:02", card: zhang, cp: "CP-01"},
			{at: "22:07", card: zhang, cp: "CP-02"},
			{at: "22:12", card: zhang, cp: "CP-03"},
			{at: "22:17", card: zhang, cp: "CP-04"},
			{at: "23:55", card: li, cp: "CP-01"}, // the 00:00 patrol, started early
			{at: "+1 00:00", card: li, cp: "CP-02"},
			{at: "+1 00:05", card: li, cp: "CP-03"},
			{at: "+1 00:10", card: li, cp: "CP-04"},
			{at: "+1 02:10"},
		}, want: []string{
			"patrol_started CP-01", "checkpoint_ok CP-01", "checkpoint_ok CP-02", "checkpoint_ok CP-03", "checkpoint_ok CP-04", "patrol_completed",
			"patrol_started CP-01", "checkpoint_ok CP-01", "checkpoint_ok CP-02", "checkpoint_ok CP-03", "checkpoint_ok CP-04", "patrol_completed",
			"patrol_not_started",
		}},
		{name: "unknown card", steps: []step{
			{at: "22:01", card: "DEADBEEF", cp: "CP-01"},
			{at: "22:02", card: zhang, cp: "CP-99"},
			{at: "22:03", card: "DEADBEEF", cp: "CP-99"},
			{at: "22:10"},
		}, want: []string{"unknown_card CP-01", "unknown_checkpoint CP-99", "unknown_card CP-99", "unknown_checkpoint CP-99",
			"patrol_not_started"}},
		{name: "duplicate scans", steps: []step{
			{at: "22:01", card: zhang, cp: "CP-01"},
			{at: "22:01:20", card: zhang, cp: "CP-01"}, // duplicate (1m window)
			{at: "22:03", card: zhang, cp: "CP-01"},    // a repeat: already scanned
			{at: "22:06", card: zhang, cp: "CP-02"},
			{at: "22:06:05", card: zhang, cp: "CP-02"},
			{at: "22:11", card: zhang, cp: "CP-03"},
			{at: "22:16", card: zhang, cp: "CP-04"},
		}, want: []string{"patrol_started CP-01", "checkpoint_ok CP-01", "checkpoint_ok CP-02", "checkpoint_ok CP-03",
			"checkpoint_ok CP-04", "patrol_completed"}},
		{name: "days filter: not on Fridays", cfg: weekdays, steps: []step{
			{at: "22:01", card: zhang, cp: "CP-01"},
			{at: "23:00"},
		}, want: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			if cfg.Plans == nil {
				cfg = testConfig()
			}
			tr, err := New(cfg, Options{Site: "s01", Location: shanghai})
			if err != nil {
				t.Fatal(err)
			}
			start := tc.start
			if start == "" {
				start = "21:00"
			}
			tr.Tick(at(start))
			got := play(t, tr, tc.steps)
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("events:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
		})
	}
}

func TestScanOutcomes(t *testing.T) {
	tr := newTracker(t, testConfig())
	for _, tc := range []struct {
		s    step
		want string
	}{
		{step{at: "21:30", card: zhang, cp: "CP-01"}, ScanUnplanned},
		{step{at: "22:00", card: zhang, cp: "CP-01"}, ScanAccepted},
		{step{at: "22:00:30", card: zhang, cp: "CP-01"}, ScanDuplicate},
		{step{at: "22:02", card: zhang, cp: "CP-01"}, ScanRepeat},
		{step{at: "22:02", card: "X", cp: "CP-01"}, ScanUnknownCard},
		{step{at: "22:02", card: zhang, cp: "nope"}, ScanUnknownCheckpoint},
	} {
		tr.Scan(at(tc.s.at), scanEvent(tc.s))
		if got := tr.LastScan(); got != tc.want {
			t.Errorf("%+v: outcome %q, want %q", tc.s, got, tc.want)
		}
	}
	if got := tr.Scan(at("22:03"), event.Event{Kind: event.KindPanic, Type: event.TypePressed}); got != nil || tr.LastScan() != ScanIgnored {
		t.Errorf("a panic event: %v %q", got, tr.LastScan())
	}
}

func TestEventFields(t *testing.T) {
	tr := newTracker(t, testConfig())
	evs := tr.Scan(at("22:03"), scanEvent(step{at: "22:03", card: zhang, cp: "CP-01"}))
	if len(evs) != 2 {
		t.Fatalf("events %v", evs)
	}
	st := evs[0]
	want := map[string]any{"plan": "night", "plan_name": "晚间巡查", "route": "night", "route_name": "夜间巡查",
		"run": "night@2026-11-20T22:00", "day": "2026-11-20", "guard": "张伟", "guard_id": "zhang", "card": zhang,
		"checkpoint": "CP-01", "checkpoint_location": "校门门卫室", "zone": "gate", "delay_s": int64(180),
		"reader": "patrol-reader-1"}
	for k, v := range want {
		if st.Fields[k] != v {
			t.Errorf("patrol_started %s = %v, want %v", k, st.Fields[k], v)
		}
	}
	if st.DeviceID != "patrol-reader-1" || st.Site != "s01" {
		t.Errorf("device %q site %q", st.DeviceID, st.Site)
	}
	evs = tr.Scan(at("22:12"), scanEvent(step{at: "22:12", card: zhang, cp: "CP-02"}))
	late := evs[0]
	if late.Type != TypeCheckpointLate || late.Fields["delay_s"] != int64(240) || late.Fields["tolerance_s"] != int64(120) ||
		!late.Fields["expected"].(time.Time).Equal(at("22:08")) {
		t.Errorf("late event %v", late)
	}
	if evs := tr.Tick(at("22:23:59")); len(evs) != 0 {
		t.Fatalf("before the deadline: %v", evs)
	}
	evs = tr.Tick(at("22:24")) // CP-03 due 22:17, CP-04 22:22, ±2m
	if len(evs) != 3 || evs[0].DeviceID != "patrol:night" || evs[0].Fields["checkpoint_location"] != "操场北侧" ||
		evs[0].Fields["guard"] != "张伟" || !evs[0].Time().Equal(at("22:24")) ||
		!evs[0].Fields["expected"].(time.Time).Equal(at("22:17")) {
		t.Fatalf("missed events %v (time %v)", evs, evs[0].Time())
	}
	inc := evs[2]
	if inc.Type != TypePatrolIncomplete || inc.Fields["missed"] != int64(2) || inc.Fields["missed_checkpoints"] != "CP-03,CP-04" ||
		inc.Fields["late"] != int64(1) || inc.Fields["visited"] != int64(2) {
		t.Errorf("incomplete %v", inc)
	}
	res := tr.DrainResults()
	if len(res) != 1 || res[0].Status != RunIncomplete || res[0].Checkpoints[1].Status != StatusLate ||
		res[0].Checkpoints[3].Status != StatusMissed || res[0].Guards[0].Name != "张伟" {
		t.Errorf("results %+v", res)
	}
}

func TestReaderClockDrift(t *testing.T) {
	tr := newTracker(t, testConfig())
	ev := scanEvent(step{at: "22:01", card: zhang, cp: "CP-01"})
	ev.DeviceTime = ev.ReceivedAt.Add(-2 * time.Minute)
	evs := tr.Scan(at("22:01"), ev)
	if len(evs) != 3 || evs[0].Type != TypeReaderClockDrift || evs[0].Fields["drift_s"] != -120.0 {
		t.Fatalf("events %v", evs)
	}
	if evs[1].Type != TypePatrolStarted || !evs[2].Time().Equal(at("21:59")) {
		t.Errorf("the scan counts at the reader's time when within event.MaxClockSkew: %v", evs[2].Time())
	}
	ev = scanEvent(step{at: "22:06", card: zhang, cp: "CP-02"})
	ev.DeviceTime = ev.ReceivedAt.Add(-2 * time.Minute)
	for _, e := range tr.Scan(at("22:06"), ev) {
		if e.Type == TypeReaderClockDrift {
			t.Error("drift reported twice within an hour")
		}
	}
}

func TestRestartMidRun(t *testing.T) {
	steps := []step{
		{at: "22:01", card: zhang, cp: "CP-01"},
		{at: "22:06", card: zhang, cp: "CP-02"},
		// restart here
		{at: "22:06:30", card: zhang, cp: "CP-02"}, // duplicate, remembered across the restart
		{at: "22:11", card: zhang, cp: "CP-03"},
		{at: "22:30"},
	}
	straight := play(t, newTracker(t, testConfig()), steps)

	tr := newTracker(t, testConfig())
	got := play(t, tr, steps[:2])
	b, err := tr.MarshalState()
	if err != nil {
		t.Fatal(err)
	}
	tr2, err := New(testConfig(), Options{Site: "s01", Location: shanghai})
	if err != nil {
		t.Fatal(err)
	}
	if dropped, err := tr2.RestoreState(b); err != nil || len(dropped) != 0 {
		t.Fatalf("restore: %v %v", dropped, err)
	}
	got = append(got, play(t, tr2, steps[2:])...)
	if strings.Join(got, ",") != strings.Join(straight, ",") {
		t.Errorf("with restart %v\nwithout %v", got, straight)
	}
	if !strings.Contains(strings.Join(got, ","), "checkpoint_missed CP-04") {
		t.Errorf("events %v", got)
	}

	// A restart after a long stop judges the slots that passed while down.
	tr3 := newTracker(t, testConfig())
	b, _ = tr3.MarshalState()
	tr4, _ := New(testConfig(), Options{Site: "s01", Location: shanghai})
	if _, err := tr4.RestoreState(b); err != nil {
		t.Fatal(err)
	}
	if got := play(t, tr4, []step{{at: "+1 08:00"}}); strings.Join(got, ",") != "patrol_not_started" {
		t.Errorf("after downtime: %v", got)
	}
}

func TestApplyKeepsRunsOfUnchangedPlans(t *testing.T) {
	cfg := testConfig()
	cfg.Plans = append(cfg.Plans, Plan{ID: "other", Route: "any", Times: []string{"22:00"}, Duration: time.Hour})
	cfg.Routes[2].Checkpoints = []Stop{{Checkpoint: "CP-05"}, {Checkpoint: "CP-03"}}
	tr := newTracker(t, cfg)
	play(t, tr, []step{{at: "22:01", card: zhang, cp: "CP-01"}, {at: "22:01", card: li, device: "reader-dorm"}})
	if n := len(tr.Active()); n != 2 {
		t.Fatalf("active %d", n)
	}
	cfg2 := testConfig()
	cfg2.Guards[0].Name = "张伟 (day)" // not part of a plan
	cfg2.Plans = append(cfg2.Plans, Plan{ID: "other", Route: "any", Times: []string{"22:00"}, Duration: 2 * time.Hour})
	cfg2.Routes[2].Checkpoints = []Stop{{Checkpoint: "CP-05"}, {Checkpoint: "CP-03"}}
	dropped, err := tr.Apply(cfg2)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(dropped, ",") != "other@2026-11-20T22:00" || len(tr.Active()) != 1 {
		t.Errorf("dropped %v, active %v", dropped, tr.Active())
	}
	got := play(t, tr, []step{{at: "22:06", card: zhang, cp: "CP-02"}})
	if strings.Join(got, ",") != "checkpoint_ok CP-02" {
		t.Errorf("after apply %v", got)
	}
	if _, err := tr.Apply(Config{Plans: []Plan{{ID: "x", Route: "nope"}}}); err == nil {
		t.Error("Apply accepted an invalid config")
	}
}

type fakeDays map[string]func(time.Time) bool

func (f fakeDays) Active(name string, t time.Time) bool { return f[name](t) }

func TestSchedule(t *testing.T) {
	cfg := testConfig()
	cfg.Plans[0].Schedule = "school-days"
	if _, err := New(cfg, Options{Location: shanghai}); err == nil {
		t.Fatal("a plan with a schedule and no Days")
	}
	days := fakeDays{"school-days": func(t time.Time) bool { return t.Day() != 20 }}
	tr, err := New(cfg, Options{Location: shanghai, Days: days})
	if err != nil {
		t.Fatal(err)
	}
	tr.Tick(at("21:00"))
	if got := play(t, tr, []step{{at: "22:01", card: zhang, cp: "CP-01"}, {at: "+1 22:30"}}); strings.Join(got, ",") != "patrol_not_started" {
		t.Errorf("events %v", got)
	}
}

func TestNextDeadline(t *testing.T) {
	tr, _ := New(testConfig(), Options{Location: shanghai})
	if _, ok := tr.NextDeadline(); ok {
		t.Error("a deadline before the first Tick")
	}
	tr.Tick(at("21:00"))
	if next, ok := tr.NextDeadline(); !ok || !next.Equal(at("22:10")) {
		t.Errorf("next %v %v, want the end of the 22:00 start window", next, ok)
	}
	tr.Scan(at("22:01"), scanEvent(step{at: "22:01", card: zhang, cp: "CP-01"}))
	if next, _ := tr.NextDeadline(); !next.Equal(at("22:18")) {
		t.Errorf("next %v, want the run's deadline 22:18", next)
	}
	tr.Tick(at("22:18"))
	if next, _ := tr.NextDeadline(); !next.Equal(at("+1 22:10")) {
		t.Errorf("next %v, want tomorrow's window end", next)
	}
}
