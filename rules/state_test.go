package rules

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/campusguard/campusguard/event"
)

const reloadRules = `
rules:
  - name: panic
    severity: critical
    select: {kinds: [panic]}
    when: type == "pressed"
    resolve: type == "released"
  - name: antifall
    severity: critical
    select: {devices: [antifall-b3-east]}
    when: type == "state" && fields.occupied == true
    resolve: type == "state" && fields.occupied == false
    for: 10s
  - name: no-hat
    severity: minor
    select: {kinds: [kitchen_camera]}
    when: type == "detection" && fields.detection == "no_chef_hat"
    count: {threshold: 3, window: 10m}
  - name: silent
    severity: major
    select: {kinds: [kitchen_camera]}
    absence: {period: 5m}
  - name: tamper
    severity: major
    select: {}
    when: type == "tamper"
    resolve: type == "tamper_restore"
`

func names(chs []Change) []string {
	var out []string
	for _, c := range chs {
		s := c.Rule + "[" + c.Key + "] "
		if c.Occurrence {
			s += "occurrence"
		} else if c.Firing {
			s += "firing"
		} else {
			s += "resolved: " + c.Reason
		}
		out = append(out, s)
	}
	return out
}

// TestReloadKeepsState: unchanged rules keep open windows, pending for timers, firing
// instances and absence timers; removed and changed rules resolve with a reason.
func TestReloadKeepsState(t *testing.T) {
	dir := demoDir(t)
	e := New(mustParse(t, reloadRules, dir), dir, shanghai)
	e.Tick(start)
	at := func(d time.Duration) time.Time { return start.Add(d) }
	e.Process(at(0), demoEvent("panic-gate", "pressed"))                                 // panic firing
	e.Process(at(time.Second), demoEvent("antifall-b3-east", "state", "occupied", true)) // for pending
	e.Process(at(2*time.Second), demoEvent("kitchen-cam-1", "detection", "detection", "no_chef_hat"))
	e.Process(at(3*time.Second), demoEvent("kitchen-cam-1", "detection", "detection", "no_chef_hat")) // 2 of 3 in window
	e.Process(at(4*time.Second), demoEvent("antifall-b3-window", "tamper"))                           // tamper firing

	// New set: tamper removed, panic changed (severity), the rest identical (reordered).
	changed := strings.Replace(reloadRules, "severity: critical\n    select: {kinds: [panic]}", "severity: major\n    select: {kinds: [panic]}", 1)
	i := strings.Index(changed, "  - name: tamper")
	changed = changed[:i]
	got := names(e.Reload(mustParse(t, changed, dir), nil))
	want := []string{"panic[panic-gate] resolved: rule changed", "tamper[antifall-b3-window] resolved: rule removed"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("reload changes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// The pending for timer still fires at 1s+10s.
	d, ok := e.NextDeadline()
	if !ok || !d.Equal(at(11*time.Second)) {
		t.Fatalf("next deadline %v %v, want +11s", d.Sub(start), ok)
	}
	if got := names(e.Tick(d)); len(got) != 1 || got[0] != "antifall[antifall-b3-east] firing" {
		t.Fatalf("for after reload: %v", got)
	}
	// The count window kept its two hits: the third fires.
	if got := names(e.Process(at(20*time.Second), demoEvent("kitchen-cam-1", "detection", "detection", "no_chef_hat"))); len(got) != 1 || got[0] != "no-hat[kitchen-cam-1] firing" {
		t.Fatalf("count after reload: %v", got)
	}
	// The absence timers still run from the start: cam-2 is silent at +5m, cam-1 at +5m20s.
	got = names(e.Tick(at(6 * time.Minute)))
	want = []string{"silent[kitchen-cam-2] firing", "silent[kitchen-cam-1] firing"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("absence after reload: %v", got)
	}
	// The changed panic rule starts afresh: a new press fires.
	if got := names(e.Process(at(7*time.Minute), demoEvent("panic-gate", "pressed"))); len(got) != 1 {
		t.Fatalf("changed rule: %v", got)
	}
}

// TestReloadDevices: a device that leaves the site resolves its instances; a new one
// gets its absence timer.
func TestReloadDevices(t *testing.T) {
	dir := demoDir(t)
	rs := mustParse(t, reloadRules, dir)
	e := New(rs, dir, shanghai)
	e.Tick(start)
	e.Process(start, demoEvent("panic-dorm", "pressed"))
	devs := append([]siteDevice(nil), dir.Devices()...)
	var kept []siteDevice
	for _, d := range devs {
		if d.ID != "panic-dorm" && d.ID != "kitchen-cam-2" {
			kept = append(kept, d)
		}
	}
	kept = append(kept, siteDevice{ID: "kitchen-cam-3", Kind: event.KindKitchenCamera, Zone: "kitchen", Driver: "mqtt"})
	dir2 := newDir(dir.Site, kept)
	e.Process(start.Add(time.Minute), demoEvent("panic-gate", "heartbeat"))
	got := names(e.Reload(rs, dir2))
	want := []string{"panic[panic-dorm] resolved: device no longer selected by the rule"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got %v", got)
	}
	got = names(e.Tick(start.Add(6*time.Minute + time.Second)))
	want = []string{"silent[kitchen-cam-1] firing", "silent[kitchen-cam-3] firing"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got %v, want %v", got, want)
	}
}

// TestStateRestore: a snapshot survives JSON and a restart of the engine.
func TestStateRestore(t *testing.T) {
	dir := demoDir(t)
	rs := mustParse(t, reloadRules, dir)
	e := New(rs, dir, shanghai)
	e.Tick(start)
	e.Process(start, demoEvent("panic-gate", "pressed"))
	e.Process(start.Add(time.Second), demoEvent("antifall-b3-east", "state", "occupied", true))
	e.Process(start.Add(2*time.Second), demoEvent("kitchen-cam-1", "heartbeat"))
	b, err := json.Marshal(e.State())
	if err != nil {
		t.Fatal(err)
	}
	var snap Snapshot
	if err := json.Unmarshal(b, &snap); err != nil {
		t.Fatal(err)
	}

	rs2 := mustParse(t, reloadRules, dir) // the same rules loaded again: same hashes
	e2 := New(rs2, dir, shanghai)
	restored, skipped := e2.Restore(snap)
	if restored != 4 || skipped != 0 { // panic, antifall, silent x2
		t.Fatalf("restored %d skipped %d\n%s", restored, skipped, b)
	}
	if got := names(e2.Tick(start.Add(3 * time.Second))); len(got) != 0 {
		t.Fatalf("restore emitted %v", got)
	}
	got := names(e2.Tick(start.Add(5*time.Minute + 3*time.Second)))
	want := []string{"antifall[antifall-b3-east] firing", "silent[kitchen-cam-2] firing", "silent[kitchen-cam-1] firing"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("after restore: %v", got)
	}
	// Another press of the restored firing panic is an occurrence of its own; a level
	// read at start (initial) is none; the instance resolves.
	if got := names(e2.Process(start.Add(6*time.Minute), demoEvent("panic-gate", "pressed"))); strings.Join(got, ",") != "panic[panic-gate] occurrence" {
		t.Fatalf("occurrence after restore: %v", got)
	}
	initial := demoEvent("panic-gate", "pressed")
	initial.Fields = event.Fields{"initial": true}
	if got := names(e2.Process(start.Add(6*time.Minute), initial)); len(got) != 0 {
		t.Fatalf("initial level after restore: %v", got)
	}
	if got := names(e2.Process(start.Add(7*time.Minute), demoEvent("panic-gate", "released"))); len(got) != 1 {
		t.Fatalf("resolve after restore: %v", got)
	}
}

// TestScheduleAcrossMidnight: a rule limited to "22:00-06:00" in Asia/Shanghai.
func TestScheduleAcrossMidnight(t *testing.T) {
	dir := demoDir(t)
	rs := mustParse(t, `
schedules:
  nights: {windows: ["22:00-06:00"]}
rules:
  - name: window-night
    severity: major
    select: {devices: [antifall-b3-window]}
    schedule: nights
    when: type == "pressed"
    resolve: type == "released"
`, dir)
	e := New(rs, dir, shanghai)
	day := time.Date(2026, 11, 20, 0, 0, 0, 0, shanghai)
	tests := []struct {
		at   string
		want bool
	}{{"21:59", false}, {"22:00", true}, {"23:59", true}, {"24:00", true}, {"29:59", true}, {"30:00", false}}
	for _, tc := range tests {
		h, m := 0, 0
		_, _ = fmtSscanf(tc.at, &h, &m)
		now := day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
		chs := e.Process(now, demoEvent("antifall-b3-window", "pressed"))
		e.Process(now, demoEvent("antifall-b3-window", "released"))
		if (len(chs) == 1) != tc.want {
			t.Errorf("%s (%v): fired %v, want %v", tc.at, now, len(chs) == 1, tc.want)
		}
	}
}

func TestUnknownDeviceAndEvalErrors(t *testing.T) {
	dir := demoDir(t)
	e := New(mustParse(t, `
rules:
  - name: conf
    severity: minor
    select: {kinds: [kitchen_camera]}
    when: type == "detection" && fields.confidence > 0.5
    resolve_after: 1m
`, dir), dir, shanghai)
	e.Tick(start)
	// A missing field is a run-time error: counted, and the rule does not match.
	if chs := e.Process(start, demoEvent("kitchen-cam-1", "detection")); len(chs) != 0 {
		t.Fatal(chs)
	}
	if e.Stats().EvalErrors != 1 {
		t.Errorf("stats %+v", e.Stats())
	}
	// A device the site does not know still meets rules selecting only by kind.
	ev := demoEvent("kitchen-cam-9", "detection", "confidence", 0.9)
	ev.Kind = event.KindKitchenCamera
	if chs := e.Process(start, ev); len(chs) != 1 || chs[0].Key != "kitchen-cam-9" {
		t.Fatal(chs)
	}
}
