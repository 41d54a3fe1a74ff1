package siren

import (
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/cfgerr"
)

// schoolHours is a stand-in schedule set: "school-hours" is active 08:00-18:00.
type schoolHours struct{}

func (schoolHours) Active(name string, t time.Time) bool {
	return name == "school-hours" && t.Hour() >= 8 && t.Hour() < 18
}

// speaker is a recorder with a voice player.
type speaker struct {
	*recorder
}

func (s speaker) Say(p string) error { return s.add("say " + p) }

// TestSignallingTable: classes, zones and schedules choose the outputs, the pattern
// and the voice prompt.
func TestSignallingTable(t *testing.T) {
	cfg := Config{
		Outputs: []OutputConfig{
			{ID: "siren-gate", PatternConfig: PatternConfig{Pattern: Steady, MaxOn: time.Minute}},
			{ID: "strobe-b3", PatternConfig: PatternConfig{Pattern: Pulse, PulseOn: 500 * time.Millisecond, PulseOff: 500 * time.Millisecond, MaxOn: time.Minute}},
		},
		Routes: []Route{
			{Classes: []alerting.Class{alerting.ClassPanic}, Outputs: []string{"siren-gate"}},
			{Classes: []alerting.Class{alerting.ClassIntrusion}, Zones: []string{"b3-balcony"}, Schedule: "school-hours",
				Outputs: []string{"strobe-b3"}, Voice: "请离开阳台"},
			{Classes: []alerting.Class{alerting.ClassIntrusion}, Outputs: []string{"siren-gate", "strobe-b3"}},
			{Classes: []alerting.Class{alerting.ClassFault, alerting.ClassOffline}, Outputs: []string{"strobe-b3"},
				PatternConfig: FaultPattern},
		},
	}
	day := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	night := time.Date(2026, 11, 20, 22, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		at    time.Time
		alarm alerting.Alarm
		gate  []string
		b3    []string
	}{
		{"panic sounds the gate", day, alerting.Alarm{ID: "p", Class: alerting.ClassPanic, Zone: "gate", Severity: alerting.Critical, Count: 1},
			[]string{"sound steady 1m0s"}, nil},
		{"balcony by day: strobe and voice", day, alerting.Alarm{ID: "i", Class: alerting.ClassIntrusion, Zone: "b3-balcony", Severity: alerting.Major, Count: 1},
			[]string{"sound steady 1m0s"}, []string{"sound pulse 500ms/500ms 1m0s", "say 请离开阳台"}},
		{"balcony at night: no voice", night, alerting.Alarm{ID: "i", Class: alerting.ClassIntrusion, Zone: "b3-balcony", Severity: alerting.Major, Count: 1},
			[]string{"sound steady 1m0s"}, []string{"sound pulse 500ms/500ms 1m0s"}},
		{"fault chirps", day, alerting.Alarm{ID: "f", Class: alerting.ClassFault, Zone: "gate", Severity: alerting.Minor, Count: 1},
			nil, []string{"sound pulse 200ms/1.8s 1m0s"}},
		{"kitchen is quiet", day, alerting.Alarm{ID: "k", Class: alerting.ClassKitchen, Zone: "kitchen", Severity: alerting.Major, Count: 1},
			nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			gate, b3 := newRecorder(), speaker{newRecorder()}
			s, err := New(cfg, map[string]Output{"siren-gate": gate, "strobe-b3": b3},
				Options{Clock: clockwork.NewFakeClockAt(tc.at), Schedules: schoolHours{}, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if got, want := s.Signals(tc.alarm), tc.gate != nil || tc.b3 != nil; got != want {
				t.Errorf("Signals = %v, want %v", got, want)
			}
			if err := s.Sound(tc.alarm); err != nil {
				t.Fatal(err)
			}
			if got := gate.take(); !slices.Equal(got, tc.gate) {
				t.Errorf("gate %q, want %q", got, tc.gate)
			}
			if got := b3.take(); !slices.Equal(got, tc.b3) {
				t.Errorf("b3 %q, want %q", got, tc.b3)
			}
		})
	}
}

// TestDefaultTable: outputs without routes sound every intrusion, anti-fall, panic and
// tamper alarm steadily and chirp for faults; check warns of a class nothing signals.
func TestDefaultTable(t *testing.T) {
	cfg := Config{Outputs: []OutputConfig{{ID: "o", PatternConfig: PatternConfig{Pattern: Steady}}}}
	cfg.SetDefaults(cfgerr.Env{})
	for _, cl := range LocalClasses {
		if !cfg.Signalled(cl) {
			t.Errorf("default table does not signal %s", cl)
		}
	}
	if w := cfg.Warnings(); len(w) != 0 {
		t.Errorf("default table warns: %q", w)
	}
	only := Config{Outputs: cfg.Outputs, Routes: []Route{{Classes: []alerting.Class{alerting.ClassPanic}, Outputs: []string{"o"}}}}
	only.SetDefaults(cfgerr.Env{})
	w := strings.Join(only.Warnings(), "\n")
	for _, cl := range []string{"intrusion", "tamper", "fault", "offline"} {
		if !strings.Contains(w, "no route signals "+cl) {
			t.Errorf("no warning for %s in %q", cl, w)
		}
	}
}

func TestNotes(t *testing.T) {
	c := Config{Outputs: []OutputConfig{{ID: "o", PatternConfig: PatternConfig{Pattern: Steady}}},
		Routes: []Route{{Classes: []alerting.Class{alerting.ClassPanic, alerting.ClassIntrusion, alerting.ClassTamper, alerting.ClassFault}, Outputs: []string{"o"}}}}
	c.SetDefaults(cfgerr.Env{})
	var n cfgerr.List
	c.Notes(&n)
	if n.Len() != 1 || n.Errs[0].Key != "routes" || !strings.Contains(n.Errs[0].Msg, "no route signals offline") {
		t.Errorf("notes %v", n.Errs)
	}
}
