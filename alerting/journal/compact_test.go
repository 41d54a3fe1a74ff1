package journal

import (
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/campusguard/campusguard/alerting"
)

// TestCompactKeepsOpenAlarmHistory: an alarm nobody reset for 100 days keeps every
// record of its history; a resolved one of the same age loses them.
func TestCompactKeepsOpenAlarmHistory(t *testing.T) {
	j := open(t, filepath.Join(t.TempDir(), "j.db"), Options{Clock: clockwork.NewFakeClockAt(t0)})
	defer j.Close()
	old := t0.Add(-100 * 24 * time.Hour)
	openOld := alarm("open", alerting.Critical, old)
	done := alarm("done", alerting.Minor, old)
	done.Alarm.State, done.Alarm.ResolvedAt = alerting.Resolved, old.Add(time.Hour)
	err := j.Commit(alerting.Commit{
		Alarms: []alerting.AlarmRecord{openOld, done},
		History: []alerting.HistoryRecord{
			{At: old, AlarmID: "open", Action: "fired"},
			{At: old.Add(time.Minute), AlarmID: "open", Action: "acknowledged", By: "王保安"},
			{At: old, AlarmID: "done", Action: "fired"},
			{At: old.Add(time.Hour), AlarmID: "done", Action: "resolved", By: "rule"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	st, err := j.Compact(t0)
	if err != nil {
		t.Fatal(err)
	}
	if st.History != 2 || st.Alarms != 1 {
		t.Errorf("compacted %+v, want the resolved alarm and its 2 records", st)
	}
	d, err := j.Alarm("open")
	if err != nil {
		t.Fatal(err)
	}
	if len(d.History) != 2 {
		t.Errorf("open alarm keeps %d history records, want 2", len(d.History))
	}
}

// TestCompactPerClass: each class of record is kept its own period, never under 30 days.
func TestCompactPerClass(t *testing.T) {
	j := open(t, filepath.Join(t.TempDir(), "j.db"), Options{Clock: clockwork.NewFakeClockAt(t0)})
	defer j.Close()
	age := 50 * 24 * time.Hour
	at := t0.Add(-age)
	mk := func(id string, class alerting.Class) alerting.AlarmRecord {
		a := alarm(id, alerting.Minor, at)
		a.Alarm.Class, a.Alarm.State, a.Alarm.ResolvedAt = class, alerting.Resolved, at
		return a
	}
	err := j.Commit(alerting.Commit{
		Alarms: []alerting.AlarmRecord{mk("intr", alerting.ClassIntrusion), mk("pat", alerting.ClassPatrol), mk("flt", alerting.ClassFault)},
		History: []alerting.HistoryRecord{
			{At: at, AlarmID: "intr", Action: "fired"},
			{At: at, AlarmID: "pat", Action: "fired"},
			{At: at, AlarmID: "flt", Action: "fired"},
			{At: at, Action: "armed", By: "李主任", Zone: "z1"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		r    Retention
		left []string // alarms left
		ops  int      // operator records left
	}{
		{"all 90 days", Uniform(90 * 24 * time.Hour), []string{"flt", "intr", "pat"}, 1},
		{"faults 40 days", Retention{Default: 90 * 24 * time.Hour, Fault: 40 * 24 * time.Hour}, []string{"intr", "pat"}, 1},
		{"floor of 30 days", Retention{Default: 90 * 24 * time.Hour, Patrol: 24 * time.Hour}, []string{"intr"}, 1},
		{"operator 45 days", Retention{Default: 90 * 24 * time.Hour, Operator: 45 * 24 * time.Hour}, []string{"intr"}, 0},
	}
	for _, tc := range tests {
		if _, err := j.CompactWith(t0, tc.r); err != nil {
			t.Fatal(err)
		}
		var left []string
		for _, id := range []string{"flt", "intr", "pat"} {
			if _, err := j.Alarm(id); err == nil {
				left = append(left, id)
			}
		}
		if !slices.Equal(left, tc.left) {
			t.Errorf("%s: alarms left %v, want %v", tc.name, left, tc.left)
		}
		p, _ := j.Records(RecordQuery{Action: "armed"})
		if len(p.Records) != tc.ops {
			t.Errorf("%s: %d operator records left, want %d", tc.name, len(p.Records), tc.ops)
		}
	}
}

func TestRetentionFor(t *testing.T) {
	r := Retention{Default: 10 * 24 * time.Hour, Alarm: 180 * 24 * time.Hour}
	if got := r.For(RecAlarm); got != 180*24*time.Hour {
		t.Errorf("alarm %v", got)
	}
	if got := r.For(RecPatrol); got != MinRetention {
		t.Errorf("patrol %v, want the 30-day floor", got)
	}
}
