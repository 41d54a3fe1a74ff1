package rules

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/campusguard/campusguard/cfgerr"
	"github.com/campusguard/campusguard/event"
	"github.com/campusguard/campusguard/site"
)

var shanghai = mustLoc("Asia/Shanghai")

func mustLoc(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

// demoDir is the demo site of the task (the lead's device config has these ids).
func demoDir(t testing.TB) *site.Directory {
	s := &site.Site{ID: "demo01", Timezone: "Asia/Shanghai", Zones: []site.Zone{
		{ID: "gate", Name: "校门", Number: 1}, {ID: "b3-balcony", Name: "三号楼阳台", Number: 2},
		{ID: "kitchen", Name: "食堂后厨", Number: 3}, {ID: "perimeter", Name: "周界", Number: 4},
	}}
	errs := &cfgerr.List{}
	s.Validate(errs)
	if errs.Len() > 0 {
		t.Fatal(errs.Err())
	}
	devs := []site.Device{
		{ID: "panic-gate", Kind: event.KindPanic, Name: "校门一键报警", Location: "校门警卫室", Zone: "gate", Driver: "gpio"},
		{ID: "panic-dorm", Kind: event.KindPanic, Name: "宿舍值班室一键报警", Location: "宿舍楼一层值班室", Zone: "gate", Driver: "mqtt"},
		{ID: "antifall-b3-east", Kind: event.KindAntiFall, Name: "三号楼东阳台雷达", Location: "教学楼三楼东侧阳台", Zone: "b3-balcony", Driver: "mqtt", Labels: map[string]string{"floor": "3"}},
		{ID: "antifall-b3-window", Kind: event.KindAntiFall, Name: "三号楼窗户限位", Location: "教学楼三楼走廊窗户", Zone: "b3-balcony", Driver: "gpio", Labels: map[string]string{"floor": "3"}},
		{ID: "patrol-reader-1", Kind: event.KindPatrol, Name: "巡更读卡器1", Location: "周界北门", Zone: "perimeter", Driver: "mqtt"},
		{ID: "kitchen-cam-1", Kind: event.KindKitchenCamera, Name: "后厨摄像机1", Location: "后厨灶台区", Zone: "kitchen", Driver: "mqtt"},
		{ID: "kitchen-cam-2", Kind: event.KindKitchenCamera, Name: "后厨摄像机2", Location: "后厨备餐间", Zone: "kitchen", Driver: "mqtt"},
	}
	return site.NewDirectory(s, devs)
}

func mustParse(t testing.TB, yml string, dir *site.Directory) *RuleSet {
	t.Helper()
	rs, err := Parse([]Source{{Name: "test.yaml", Data: []byte(yml)}}, Options{Directory: dir, NoBuiltins: true})
	if err != nil {
		t.Fatalf("parse:\n%v", err)
	}
	return rs
}

// step is an event (Device set) or a tick at an offset from the start.
type step struct {
	at     time.Duration
	device string
	typ    string
	fields event.Fields
}

func ev(at time.Duration, dev, typ string, kv ...any) step {
	f := event.Fields{}
	for i := 0; i+1 < len(kv); i += 2 {
		_ = f.Set(kv[i].(string), kv[i+1])
	}
	return step{at: at, device: dev, typ: typ, fields: f}
}

func tick(at time.Duration) step { return step{at: at} }

// run drives an engine like the daemon: ticks at every deadline up to each step.
func run(t testing.TB, e *Engine, start time.Time, steps []step) []string {
	t.Helper()
	var out []string
	rec := func(chs []Change) {
		for _, c := range chs {
			state := "resolved"
			if c.Firing {
				state = "firing"
			}
			if c.Renotify {
				state = "renotify"
			}
			if c.Occurrence {
				state = "occurrence"
			}
			out = append(out, fmt.Sprintf("%s %s[%s] %s", fmtOff(c.At.Sub(start)), c.Rule, c.Key, state))
		}
	}
	rec(e.Tick(start))
	for _, s := range steps {
		now := start.Add(s.at)
		for {
			d, ok := e.NextDeadline()
			if !ok || d.After(now) {
				break
			}
			rec(e.Tick(d))
		}
		if s.device == "" {
			rec(e.Tick(now))
			continue
		}
		d := e.dir.Device(s.device)
		kind := event.Kind("")
		if d != nil {
			kind = d.Kind
		}
		rec(e.Process(now, event.Event{Site: "demo01", DeviceID: s.device, Kind: kind, Type: s.typ, Fields: s.fields, ReceivedAt: now}))
	}
	return out
}

func fmtOff(d time.Duration) string { return "+" + d.String() }

var start = time.Date(2026, 11, 20, 10, 0, 0, 0, shanghai) // a Friday

func TestForms(t *testing.T) {
	dir := demoDir(t)
	tests := []struct {
		name  string
		rules string
		steps []step
		want  []string
	}{{
		name: "match fires at once, another press is an occurrence, resolves on release",
		rules: `
rules:
  - name: panic
    severity: critical
    select: {kinds: [panic]}
    when: type == "pressed"
    resolve: type == "released"`,
		steps: []step{ev(0, "panic-gate", "pressed"), ev(time.Second, "panic-gate", "pressed"), ev(2*time.Second, "panic-dorm", "pressed"),
			ev(time.Minute, "panic-gate", "released"), ev(2*time.Minute, "panic-gate", "pressed")},
		want: []string{"+0s panic[panic-gate] firing", "+1s panic[panic-gate] occurrence", "+2s panic[panic-dorm] firing", "+1m0s panic[panic-gate] resolved", "+2m0s panic[panic-gate] firing"},
	}, {
		name: "match renotify while firing",
		rules: `
rules:
  - name: panic
    severity: critical
    select: {kinds: [panic]}
    when: type == "pressed"
    resolve: type in ["released", "reset"]
    renotify: 30m`,
		steps: []step{ev(0, "panic-gate", "pressed"), tick(70 * time.Minute), ev(75*time.Minute, "panic-gate", "reset"), tick(3 * time.Hour)},
		want:  []string{"+0s panic[panic-gate] firing", "+30m0s panic[panic-gate] renotify", "+1h0m0s panic[panic-gate] renotify", "+1h15m0s panic[panic-gate] resolved"},
	}, {
		name: "for: person in the anti-fall zone 3s",
		rules: `
rules:
  - name: antifall
    severity: critical
    select: {devices: [antifall-b3-east]}
    when: type == "state" && fields.occupied == true
    resolve: type == "state" && fields.occupied == false
    for: 3s`,
		steps: []step{
			ev(0, "antifall-b3-east", "state", "occupied", true), ev(2*time.Second, "antifall-b3-east", "state", "occupied", false), // too short
			ev(10*time.Second, "antifall-b3-east", "state", "occupied", true), ev(11*time.Second, "antifall-b3-east", "heartbeat"),
			ev(12*time.Second, "antifall-b3-east", "state", "occupied", true), tick(20 * time.Second),
			ev(30*time.Second, "antifall-b3-east", "state", "occupied", false)},
		want: []string{"+13s antifall[antifall-b3-east] firing", "+30s antifall[antifall-b3-east] resolved"},
	}, {
		name: "count: 3 no-chef-hat from one camera in 10 min",
		rules: `
rules:
  - name: no-hat
    severity: minor
    select: {kinds: [kitchen_camera]}
    when: type == "detection" && fields.detection == "no_chef_hat" && num(fields.confidence) >= 0.8
    count: {threshold: 3, window: 10m}
    resolve_after: 30m`,
		steps: []step{
			ev(0, "kitchen-cam-1", "detection", "detection", "no_chef_hat", "confidence", 0.9),
			ev(time.Minute, "kitchen-cam-1", "detection", "detection", "no_chef_hat", "confidence", 0.5), // low confidence
			ev(2*time.Minute, "kitchen-cam-2", "detection", "detection", "no_chef_hat", "confidence", 0.9),
			ev(5*time.Minute, "kitchen-cam-1", "detection", "detection", "no_chef_hat", "confidence", 0.9),
			ev(11*time.Minute, "kitchen-cam-1", "detection", "detection", "no_chef_hat", "confidence", 0.9), // first one expired
			ev(12*time.Minute, "kitchen-cam-1", "detection", "detection", "no_chef_hat", "confidence", 0.95),
			ev(13*time.Minute, "kitchen-cam-1", "detection", "detection", "no_chef_hat", "confidence", 0.95), // firing: dedup
			tick(2 * time.Hour)},
		want: []string{"+12m0s no-hat[kitchen-cam-1] firing", "+43m0s no-hat[kitchen-cam-1] resolved"},
	}, {
		name: "absence: no heartbeat for 5 min, device never reported",
		rules: `
rules:
  - name: silent
    severity: major
    select: {kinds: [kitchen_camera]}
    absence: {period: 5m}`,
		steps: []step{ev(time.Minute, "kitchen-cam-1", "heartbeat"), ev(4*time.Minute, "kitchen-cam-1", "detection"),
			tick(9*time.Minute + 59*time.Second), ev(10*time.Minute, "kitchen-cam-2", "heartbeat"), tick(20 * time.Minute)},
		want: []string{"+5m0s silent[kitchen-cam-2] firing", "+9m0s silent[kitchen-cam-1] firing", "+10m0s silent[kitchen-cam-2] resolved", "+15m0s silent[kitchen-cam-2] firing"},
	}, {
		name: "absence by deadline: checkpoint visited 18:00-21:30",
		rules: `
rules:
  - name: cp07
    severity: major
    select: {devices: [patrol-reader-1]}
    when: type == "scan" && fields.checkpoint == "CP-07"
    absence: {deadline: "21:30", from: "18:00"}`,
		// start is 10:00; day 1 visited at 19:00, day 2 missed, visited 22:00 (late), day 3 visited at 17:00 (too early).
		steps: []step{ev(9*time.Hour, "patrol-reader-1", "scan", "checkpoint", "CP-07"), ev(9*time.Hour+time.Minute, "patrol-reader-1", "scan", "checkpoint", "CP-01"),
			ev(36*time.Hour, "patrol-reader-1", "scan", "checkpoint", "CP-07"),
			ev(55*time.Hour, "patrol-reader-1", "scan", "checkpoint", "CP-07"), tick(60 * time.Hour)},
		want: []string{"+35h30m0s cp07[patrol-reader-1] firing", "+36h0m0s cp07[patrol-reader-1] resolved", "+59h30m0s cp07[patrol-reader-1] firing"},
	}, {
		name: "group_by zone: one instance for both cameras",
		rules: `
rules:
  - name: rodent
    severity: major
    select: {zones: [kitchen]}
    when: type == "detection" && fields.detection == "rodent"
    group_by: [zone]
    count: {threshold: 2, window: 1h}`,
		steps: []step{ev(0, "kitchen-cam-1", "detection", "detection", "rodent"), ev(time.Minute, "kitchen-cam-2", "detection", "detection", "rodent"), tick(3 * time.Hour)},
		want:  []string{"+1m0s rodent[kitchen] firing", "+1h1m0s rodent[kitchen] resolved"},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := New(mustParse(t, tc.rules, dir), dir, shanghai)
			got := run(t, e, start, tc.steps)
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
		})
	}
}

func TestChangeContent(t *testing.T) {
	dir := demoDir(t)
	rs := mustParse(t, `
rules:
  - name: no-hat
    description: 未戴厨师帽
    severity: minor
    labels: {team: kitchen}
    latch: false
    select: {kinds: [kitchen_camera]}
    when: type == "detection" && fields.detection == "no_chef_hat"
    count: {threshold: 1, window: 10m}
    message: '{{.Device.Location}}（{{.Device.ZoneName}}）{{.Description}}，置信度 {{pct .Fields.confidence}}，{{clock .At}}'
`, dir)
	e := New(rs, dir, shanghai)
	e.Tick(start)
	chs := e.Process(start, event.Event{DeviceID: "kitchen-cam-1", Kind: event.KindKitchenCamera, Type: "detection", Fields: event.Fields{"detection": "no_chef_hat", "confidence": 0.91}})
	if len(chs) != 1 {
		t.Fatalf("changes: %+v", chs)
	}
	c := chs[0]
	if c.Message != "后厨灶台区（食堂后厨）未戴厨师帽，置信度 91%，10:00:00" {
		t.Errorf("message %q", c.Message)
	}
	if c.Severity != Minor || c.Labels["team"] != "kitchen" || c.DeviceID != "kitchen-cam-1" || c.Latch == nil || *c.Latch || c.Event == nil || !c.At.Equal(start) {
		t.Errorf("change %+v", c)
	}
	if _, err := json.Marshal(c); err != nil {
		t.Error(err)
	}
}

func demoEvent(dev, typ string, kv ...any) event.Event {
	f := event.Fields{}
	for i := 0; i+1 < len(kv); i += 2 {
		_ = f.Set(kv[i].(string), kv[i+1])
	}
	return event.Event{Site: "demo01", DeviceID: dev, Type: typ, Fields: f}
}

type siteDevice = site.Device

func newDir(s *site.Site, devs []site.Device) *site.Directory { return site.NewDirectory(s, devs) }

func fmtSscanf(s string, h, m *int) (int, error) { return fmt.Sscanf(s, "%d:%d", h, m) }

// A person's reset re-arms the instance: the next press fires a new alarm without a
// release in between, and the renotify timer of the reset instance never fires.
func TestResetRearms(t *testing.T) {
	dir := demoDir(t)
	e := New(mustParse(t, `
rules:
  - name: panic
    severity: critical
    select: {kinds: [panic]}
    when: type == "pressed"
    resolve: type == "released"
    renotify: 30m`, dir), dir, shanghai)
	at := func(d time.Duration) time.Time { return start.Add(d) }
	if got := names(e.Process(at(0), demoEvent("panic-gate", "pressed"))); strings.Join(got, ",") != "panic[panic-gate] firing" {
		t.Fatalf("press: %v", got)
	}
	if !e.Reset(at(time.Minute), "panic", "panic-gate") {
		t.Fatal("reset found no instance")
	}
	if e.Reset(at(time.Minute), "panic", "panic-gate") {
		t.Fatal("second reset found an instance")
	}
	if got := names(e.Tick(at(2 * time.Hour))); len(got) != 0 {
		t.Fatalf("renotify after reset: %v", got)
	}
	if got := names(e.Process(at(2*time.Hour), demoEvent("panic-gate", "pressed"))); strings.Join(got, ",") != "panic[panic-gate] firing" {
		t.Fatalf("press after reset: %v", got)
	}
	if f := e.Firing(); len(f["panic"]) != 1 {
		t.Fatalf("firing: %v", f)
	}
}
