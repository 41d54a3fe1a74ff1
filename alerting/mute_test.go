package alerting

import (
	"log/slog"
	"testing"
	"time"
)

var muteAt = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)

type fakeSchedules map[string]bool

func (f fakeSchedules) Active(name string, _ time.Time) bool { return f[name] }

// The silence stage: an operator's silence while active, a static one in its window
// and while its schedule is active; matchers must all match.
func TestSilencing(t *testing.T) {
	op := &Silence{ID: "sil-1", Matchers: Matchers{"zone": "kitchen"}, Start: muteAt, End: muteAt.Add(time.Hour)}
	drill := staticSilence{StaticSilence: StaticSilence{Matchers: Matchers{"class": "intrusion"}, Schedule: "drill"}}
	window := staticSilence{StaticSilence: StaticSilence{Matchers: Matchers{"device": "cam-9"}}, start: muteAt, end: muteAt.Add(time.Minute)}
	st := silencing{dynamic: map[string]*Silence{op.ID: op}, static: []staticSilence{drill, window}, sch: fakeSchedules{"drill": true}}
	tests := []struct {
		name   string
		a      Alarm
		now    time.Time
		muted  bool
		reason string
	}{
		{"operator silence", Alarm{Zone: "kitchen"}, muteAt, true, "silence sil-1"},
		{"before the silence", Alarm{Zone: "kitchen"}, muteAt.Add(-time.Second), false, ""},
		{"at its end", Alarm{Zone: "kitchen"}, muteAt.Add(time.Hour), false, ""},
		{"other zone", Alarm{Zone: "gate"}, muteAt, false, ""},
		{"static, schedule active", Alarm{Class: ClassIntrusion}, muteAt, true, "static silence [class=intrusion]"},
		{"static window", Alarm{DeviceID: "cam-9"}, muteAt.Add(30 * time.Second), true, "static silence [device=cam-9]"},
		{"static window over", Alarm{DeviceID: "cam-9"}, muteAt.Add(time.Minute), false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			muted, reason := st.Mutes(&tc.a, tc.now)
			if muted != tc.muted || reason != tc.reason {
				t.Fatalf("Mutes = %v %q, want %v %q", muted, reason, tc.muted, tc.reason)
			}
		})
	}
	// A static silence on a schedule that is not active mutes nothing.
	st.sch = fakeSchedules{}
	if muted, _ := st.Mutes(&Alarm{Class: ClassIntrusion}, muteAt); muted {
		t.Fatal("static silence muted outside its schedule")
	}
}

// The inhibit stage: an open source alarm mutes targets with the same Equal values;
// not itself, not once resolved.
func TestInhibition(t *testing.T) {
	rules := []InhibitRule{{SourceMatch: Matchers{"class": "offline"}, TargetMatch: Matchers{"class": "kitchen"}, Equal: []string{"device"}}}
	offline := &AlarmRecord{Alarm: Alarm{ID: "a1", Class: ClassOffline, DeviceID: "cam-1", State: Firing}}
	gone := &AlarmRecord{Alarm: Alarm{ID: "a2", Class: ClassOffline, DeviceID: "cam-2", State: Resolved}}
	in := inhibition{rules: rules, open: map[string]*AlarmRecord{"a1": offline, "a2": gone}}
	tests := []struct {
		name   string
		a      Alarm
		muted  bool
		reason string
	}{
		{"same device", Alarm{ID: "t1", Class: ClassKitchen, DeviceID: "cam-1"}, true, "inhibited by a1 (equal device)"},
		{"other device", Alarm{ID: "t2", Class: ClassKitchen, DeviceID: "cam-3"}, false, ""},
		{"source resolved", Alarm{ID: "t3", Class: ClassKitchen, DeviceID: "cam-2"}, false, ""},
		{"not a target", Alarm{ID: "t4", Class: ClassPanic, DeviceID: "cam-1"}, false, ""},
		{"not itself", Alarm{ID: "a1", Class: ClassKitchen, DeviceID: "cam-1"}, false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			muted, reason := in.Mutes(&tc.a, muteAt)
			if muted != tc.muted || reason != tc.reason {
				t.Fatalf("Mutes = %v %q, want %v %q", muted, reason, tc.muted, tc.reason)
			}
		})
	}
	if !in.isSource(&offline.Alarm) || in.isSource(&Alarm{Class: ClassKitchen}) {
		t.Fatal("isSource")
	}
}

// The arming stage: a disarmed zone mutes its alarms except the classes that alarm
// armed or not (GB 50394); an alarm without a zone is never disarmed.
func TestDisarming(t *testing.T) {
	d := disarming{armed: func(zone string, _ time.Time) bool { return zone != "dorm" }}
	tests := []struct {
		a     Alarm
		muted bool
	}{
		{Alarm{Zone: "dorm", Class: ClassIntrusion}, true},
		{Alarm{Zone: "dorm", Class: ClassOther}, true},
		{Alarm{Zone: "dorm", Class: ClassPanic}, false},
		{Alarm{Zone: "dorm", Class: ClassTamper}, false},
		{Alarm{Zone: "dorm", Class: ClassOffline}, false},
		{Alarm{Zone: "gate", Class: ClassIntrusion}, false},
		{Alarm{Class: ClassIntrusion}, false},
	}
	for _, tc := range tests {
		if muted, reason := d.Mutes(&tc.a, muteAt); muted != tc.muted || (muted && reason != "zone dorm disarmed") {
			t.Errorf("%s in %q: Mutes = %v %q, want %v", tc.a.Class, tc.a.Zone, muted, reason, tc.muted)
		}
	}
}

type fixedMuter struct {
	muted  bool
	reason string
}

func (f fixedMuter) Mutes(*Alarm, time.Time) (bool, string) { return f.muted, f.reason }

// The Manager runs the stages in order and marks each stage's verdict on the alarm;
// it reports whether a mark changed.
func TestMuteMarksEachStage(t *testing.T) {
	m := &Manager{log: slog.New(slog.DiscardHandler)}
	stages := []stage{
		{"silence", fixedMuter{true, "s"}, silencedMark},
		{"inhibit", fixedMuter{false, ""}, inhibitedMark},
		{"arming", fixedMuter{true, "z"}, disarmedMark},
	}
	a := Alarm{Inhibited: true}
	if !m.mute(&a, muteAt, stages) {
		t.Fatal("no change reported")
	}
	if !a.Silenced || a.Inhibited || !a.Disarmed {
		t.Fatalf("marks %+v", a)
	}
	if m.mute(&a, muteAt, stages) {
		t.Fatal("a change reported the second time")
	}
}
