package journal

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/campusguard/campusguard/alerting"
)

// TestLazyDeliveryUpdates: a delivery update queued without waiting is seen at once by
// NextPending (a delivered notification is not handed out again), rides on the next
// alarm commit without a transaction of its own, and is on disk after a reopen.
func TestLazyDeliveryUpdates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.db")
	j := open(t, path, Options{})
	a1, a2 := alarm("a1", alerting.Critical, t0), alarm("a2", alerting.Critical, t0)
	if err := j.Commit(alerting.Commit{Alarms: []alerting.AlarmRecord{a1, a2},
		Deliveries: []alerting.Delivery{delivery("mqtt", a1, 1), delivery("mqtt", a2, 1)}}); err != nil {
		t.Fatal(err)
	}
	d, ok, err := j.NextPending("mqtt")
	if err != nil || !ok || d.Notification.ID != "a1/1" {
		t.Fatalf("first pending %v %v %v", d.Notification.ID, ok, err)
	}
	txns := j.Transactions()

	// Delivered: gone from the queue at once, before any write.
	d.State, d.Attempts = alerting.Delivered, 1
	j.UpdateDeliveryLater(d)
	if j.Transactions() != txns {
		t.Fatal("the lazy update wrote a transaction of its own at once")
	}
	next, ok, err := j.NextPending("mqtt")
	if err != nil || !ok || next.Notification.ID != "a2/1" {
		t.Fatalf("after the lazy update the next pending is %v %v %v, want a2/1", next.Notification.ID, ok, err)
	}
	// A failed attempt of a2 is handed out again with its attempts counted.
	next.Attempts, next.LastError = 1, "broker away"
	j.UpdateDeliveryLater(next)
	again, _, _ := j.NextPending("mqtt")
	if again.Notification.ID != "a2/1" || again.Attempts != 1 || again.LastError != "broker away" {
		t.Fatalf("retried delivery %+v", again)
	}
	if ds, _ := j.Pending("mqtt", 10); len(ds) != 1 {
		t.Fatalf("pending list %d, want 1", len(ds))
	}

	// The next alarm commit carries both updates: one transaction.
	a3 := alarm("a3", alerting.Minor, t0)
	if err := j.Commit(alerting.Commit{Alarms: []alerting.AlarmRecord{a3}}); err != nil {
		t.Fatal(err)
	}
	if got := j.Transactions() - txns; got != 1 {
		t.Fatalf("%d transactions for the commit and the two updates, want 1", got)
	}
	if n := len(j.lazyOf("mqtt")); n != 0 {
		t.Fatalf("%d updates still queued after the commit", n)
	}

	// Queued at close: written by Close.
	again.State = alerting.Rejected
	j.UpdateDeliveryLater(again)
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	j = open(t, path, Options{})
	defer j.Close()
	if _, ok, _ := j.NextPending("mqtt"); ok {
		t.Fatal("a delivery is pending after the reopen")
	}
	det, err := j.Alarm("a1")
	if err != nil || len(det.Deliveries) != 1 || det.Deliveries[0].State != alerting.Delivered {
		t.Fatalf("a1 deliveries %+v %v", det.Deliveries, err)
	}
	det, _ = j.Alarm("a2")
	if det.Deliveries[0].State != alerting.Rejected || det.Deliveries[0].Attempts != 1 {
		t.Fatalf("a2 delivery %+v", det.Deliveries[0])
	}
}

// TestLazyUpdateFlushesAlone: with no alarm to ride on, a queued update is written on
// its own after LazyFlushAfter.
func TestLazyUpdateFlushesAlone(t *testing.T) {
	j := open(t, filepath.Join(t.TempDir(), "j.db"), Options{})
	defer j.Close()
	a := alarm("a", alerting.Critical, t0)
	if err := j.Commit(alerting.Commit{Alarms: []alerting.AlarmRecord{a}, Deliveries: []alerting.Delivery{delivery("police", a, 1)}}); err != nil {
		t.Fatal(err)
	}
	d, _, _ := j.NextPending("police")
	d.State = alerting.Delivered
	j.UpdateDeliveryLater(d)
	for i := 0; i < 500; i++ { // bounded: 5 s
		det, err := j.Alarm("a")
		if err == nil && det.Deliveries[0].State == alerting.Delivered {
			return
		}
		waitABit()
	}
	t.Fatal("the queued update was never written")
}

func waitABit() { <-time.After(10 * time.Millisecond) }
