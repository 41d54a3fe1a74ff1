package journal

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/health"
)

var t0 = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)

func open(t testing.TB, path string, opt Options) *Journal {
	t.Helper()
	if opt.Clock == nil {
		opt.Clock = clockwork.NewFakeClockAt(t0)
	}
	j, err := Open(path, opt)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func alarm(id string, sev alerting.Severity, at time.Time) alerting.AlarmRecord {
	return alerting.AlarmRecord{Transitions: 1, Alarm: alerting.Alarm{ID: id, Rule: "r", Key: id, Severity: sev,
		State: alerting.Firing, FiredAt: at, LastAt: at, DeviceID: "dev-" + id, Zone: "z1"}}
}

func delivery(sink string, a alerting.AlarmRecord, n int) alerting.Delivery {
	return alerting.Delivery{Sink: sink, Priority: a.Alarm.Severity.Rank(), CreatedAt: a.Alarm.FiredAt,
		Notification: alerting.Notification{ID: fmt.Sprintf("%s/%d", a.Alarm.ID, n), Transition: alerting.Fired, Alarm: a.Alarm, Count: 1}}
}

// TestReopenKeepsEverything is the power-cut test at journal level: everything
// committed is there after a reopen, and pending deliveries resume in order.
func TestReopenKeepsEverything(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.db")
	j := open(t, path, Options{})
	epoch := j.Epoch()
	a1, a2 := alarm("a1", alerting.Minor, t0), alarm("a2", alerting.Critical, t0.Add(time.Second))
	c := alerting.Commit{
		Alarms:     []alerting.AlarmRecord{a1, a2},
		History:    []alerting.HistoryRecord{{At: t0, AlarmID: "a1", Action: "fired"}, {At: t0, AlarmID: "a2", Action: "fired"}},
		Deliveries: []alerting.Delivery{delivery("mqtt", a1, 1), delivery("mqtt", a2, 1), delivery("police", a2, 1)},
		Silences:   []alerting.Silence{{ID: "s1", Matchers: alerting.Matchers{"zone": "z1"}, Start: t0, End: t0.Add(time.Hour), Reason: "drill", By: "ops"}},
		Arming:     []alerting.ZoneArming{{Zone: "z1", Armed: false, By: "ops", At: t0}},
		State:      map[string][]byte{"rules": []byte("snapshot")},
		AlarmSeq:   2,
	}
	if err := j.Commit(c); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}

	j = open(t, path, Options{})
	defer j.Close()
	if j.Epoch() != epoch || j.AlarmSeq() != 2 {
		t.Fatalf("epoch %q seq %d, want %q 2", j.Epoch(), j.AlarmSeq(), epoch)
	}
	open, err := j.OpenAlarms()
	if err != nil || len(open) != 2 || open[0].Alarm.ID != "a1" || open[1].Alarm.ID != "a2" {
		t.Fatalf("open alarms %v %v", open, err)
	}
	act, _ := j.Active()
	if act[0].ID != "a2" {
		t.Errorf("active not most urgent first: %v", act[0].ID)
	}
	// critical first, then commit order
	d, ok, err := j.NextPending("mqtt")
	if err != nil || !ok || d.Notification.ID != "a2/1" {
		t.Fatalf("next pending %v %v %v", d.Notification.ID, ok, err)
	}
	d.State = alerting.Delivered
	if err := j.UpdateDelivery(d); err != nil {
		t.Fatal(err)
	}
	d, _, _ = j.NextPending("mqtt")
	if d.Notification.ID != "a1/1" {
		t.Fatalf("second pending %s", d.Notification.ID)
	}
	counts, _ := j.PendingCounts()
	if counts["mqtt"] != 1 || counts["police"] != 1 {
		t.Errorf("pending counts %v", counts)
	}
	sils, _ := j.Silences()
	arm, _ := j.Arming()
	st, _ := j.GetState("rules")
	if len(sils) != 1 || sils[0].Reason != "drill" || len(arm) != 1 || arm[0].Armed || string(st) != "snapshot" {
		t.Errorf("silences %v arming %v state %q", sils, arm, st)
	}
	det, err := j.Alarm("a2")
	if err != nil || len(det.History) != 1 || len(det.Deliveries) != 2 {
		t.Fatalf("detail %+v %v", det, err)
	}
}

func TestOlderRecordNeverOverwritesNewer(t *testing.T) {
	j := open(t, filepath.Join(t.TempDir(), "j.db"), Options{})
	defer j.Close()
	a := alarm("a", alerting.Major, t0)
	newer := a
	newer.Transitions = 2
	newer.Alarm.State = alerting.Resolved
	if err := j.Commit(alerting.Commit{Alarms: []alerting.AlarmRecord{newer}}); err != nil {
		t.Fatal(err)
	}
	if err := j.Commit(alerting.Commit{Alarms: []alerting.AlarmRecord{a}}); err != nil {
		t.Fatal(err)
	}
	d, _ := j.Alarm("a")
	if d.Alarm.State != alerting.Resolved {
		t.Fatalf("state %s, want resolved", d.Alarm.State)
	}
	if op, _ := j.OpenAlarms(); len(op) != 0 {
		t.Fatalf("resolved alarm listed open")
	}
}

// TestGroupCommitOrder checks that concurrent commits all land, in Enqueue order per
// sink, and share transactions.
func TestGroupCommitOrder(t *testing.T) {
	j := open(t, filepath.Join(t.TempDir(), "j.db"), Options{})
	defer j.Close()
	const n = 200
	var wg sync.WaitGroup
	var mu sync.Mutex
	var order []string
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := alarm(fmt.Sprintf("a%03d", i), alerting.Minor, t0)
			mu.Lock()
			wait := j.Enqueue(alerting.Commit{Alarms: []alerting.AlarmRecord{a}, Deliveries: []alerting.Delivery{delivery("s", a, 1)}})
			order = append(order, a.Alarm.ID+"/1")
			mu.Unlock()
			if err := wait(); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for i, want := range order {
		d, ok, err := j.NextPending("s")
		if err != nil || !ok || d.Notification.ID != want {
			t.Fatalf("pending %d: %s %v %v, want %s", i, d.Notification.ID, ok, err, want)
		}
		d.State = alerting.Delivered
		if err := j.UpdateDelivery(d); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok, _ := j.NextPending("s"); ok {
		t.Fatal("pending left")
	}
}

func TestCompactRetention(t *testing.T) {
	fc := clockwork.NewFakeClockAt(t0)
	j := open(t, filepath.Join(t.TempDir(), "j.db"), Options{Clock: fc, Retention: 90 * 24 * time.Hour})
	defer j.Close()
	old := t0.Add(-100 * 24 * time.Hour)
	resolvedOld := alarm("old-resolved", alerting.Minor, old)
	resolvedOld.Alarm.State, resolvedOld.Alarm.ResolvedAt = alerting.Resolved, old.Add(time.Hour)
	openOld := alarm("old-open", alerting.Critical, old) // a latched alarm nobody reset: kept
	recent := alarm("recent", alerting.Minor, t0.Add(-time.Hour))
	recent.Alarm.State, recent.Alarm.ResolvedAt = alerting.Resolved, t0
	d := delivery("s", resolvedOld, 1)
	d.State = alerting.Delivered
	err := j.Commit(alerting.Commit{
		Alarms:     []alerting.AlarmRecord{resolvedOld, openOld, recent},
		History:    []alerting.HistoryRecord{{At: old, AlarmID: "old-resolved", Action: "fired"}, {At: t0, AlarmID: "recent", Action: "fired"}},
		Deliveries: []alerting.Delivery{d},
		Silences:   []alerting.Silence{{ID: "s-old", Start: old, End: old.Add(time.Hour)}, {ID: "s-new", Start: t0, End: t0.Add(time.Hour)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	st, err := j.Compact(t0)
	if err != nil {
		t.Fatal(err)
	}
	want := CompactStats{History: 1, Alarms: 1, Deliveries: 1, Silences: 1}
	if st != want {
		t.Fatalf("compacted %+v, want %+v", st, want)
	}
	if _, err := j.Alarm("old-resolved"); err == nil {
		t.Error("old resolved alarm kept")
	}
	for _, id := range []string{"old-open", "recent"} {
		if _, err := j.Alarm(id); err != nil {
			t.Errorf("%s removed: %v", id, err)
		}
	}
	p, _ := j.Records(RecordQuery{})
	if len(p.Records) != 1 || p.Records[0].AlarmID != "recent" {
		t.Errorf("records left %+v", p.Records)
	}
}

func TestAlarmsQueryPaging(t *testing.T) {
	j := open(t, filepath.Join(t.TempDir(), "j.db"), Options{})
	defer j.Close()
	var c alerting.Commit
	for i := range 25 {
		sev := alerting.Minor
		if i%5 == 0 {
			sev = alerting.Critical
		}
		c.Alarms = append(c.Alarms, alarm(fmt.Sprintf("a%02d", i), sev, t0.Add(time.Duration(i)*time.Minute)))
	}
	if err := j.Commit(c); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		q     AlarmQuery
		total int
		first string
	}{
		{"all newest first", AlarmQuery{Limit: 10}, 25, "a24"},
		{"severity", AlarmQuery{Severity: alerting.Critical, Limit: 2}, 5, "a20"},
		{"time range", AlarmQuery{From: t0.Add(5 * time.Minute), To: t0.Add(10 * time.Minute), Limit: 3}, 5, "a09"},
		{"device", AlarmQuery{DeviceID: "dev-a03"}, 1, "a03"},
		{"state", AlarmQuery{State: alerting.Resolved}, 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			q := tc.q
			for range 100 {
				p, err := j.Alarms(q)
				if err != nil {
					t.Fatal(err)
				}
				for _, a := range p.Alarms {
					got = append(got, a.ID)
				}
				if p.Next == "" {
					break
				}
				q.Cursor = p.Next
			}
			if len(got) != tc.total {
				t.Fatalf("got %d alarms %v, want %d", len(got), got, tc.total)
			}
			if tc.total > 0 && got[0] != tc.first {
				t.Errorf("first %s, want %s", got[0], tc.first)
			}
			seen := map[string]bool{}
			for _, id := range got {
				if seen[id] {
					t.Fatalf("duplicate %s across pages", id)
				}
				seen[id] = true
			}
		})
	}
}

func TestHealthNearSizeBound(t *testing.T) {
	j := open(t, filepath.Join(t.TempDir(), "j.db"), Options{MaxSize: 1 << 30})
	defer j.Close()
	if h := j.Health(); h.State != health.Up {
		t.Fatalf("health %+v", h)
	}
	_, used := j.Size()
	j.opt.MaxSize = int64(float64(used) / 0.95)
	if h := j.Health(); h.State != health.Degraded {
		t.Fatalf("near bound: %+v", h)
	}
	j.opt.MaxSize = used / 2
	if h := j.Health(); h.State != health.Degraded {
		t.Fatalf("over bound: %+v", h)
	}
}

func TestStateBlobs(t *testing.T) {
	j := open(t, filepath.Join(t.TempDir(), "j.db"), Options{})
	defer j.Close()
	if b, err := j.GetState("patrol"); b != nil || err != nil {
		t.Fatalf("absent: %q %v", b, err)
	}
	if err := j.PutState("patrol", []byte(`{"run":1}`)); err != nil {
		t.Fatal(err)
	}
	if b, _ := j.GetState("patrol"); string(b) != `{"run":1}` {
		t.Fatalf("got %q", b)
	}
	if err := j.DeleteState("patrol"); err != nil {
		t.Fatal(err)
	}
	if b, _ := j.GetState("patrol"); b != nil {
		t.Fatalf("not deleted: %q", b)
	}
}

// FuzzAlarmsCursor feeds the console's paging cursor (outside input) to the queries.
func FuzzAlarmsCursor(f *testing.F) {
	j := open(f, filepath.Join(f.TempDir(), "j.db"), Options{})
	defer j.Close()
	var c alerting.Commit
	for i := range 5 {
		c.Alarms = append(c.Alarms, alarm(fmt.Sprintf("a%d", i), alerting.Minor, t0.Add(time.Duration(i)*time.Second)))
		c.History = append(c.History, alerting.HistoryRecord{At: t0, AlarmID: fmt.Sprintf("a%d", i), Action: "fired"})
	}
	if err := j.Commit(c); err != nil {
		f.Fatal(err)
	}
	f.Add("")
	f.Add("00")
	f.Add("187a0e1b4ec4c00061")
	f.Add("zz")
	f.Fuzz(func(t *testing.T, cursor string) {
		_, _ = j.Alarms(AlarmQuery{Cursor: cursor, Limit: 2})
		_, _ = j.Records(RecordQuery{Cursor: cursor, Limit: 2})
		_, _ = j.Alarm(cursor)
	})
}
