package policelink

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/alerting/journal"
	"github.com/campusguard/campusguard/alerting/policelink/dc09"
	"github.com/campusguard/campusguard/alerting/policelink/dc09/centre"
	"github.com/campusguard/campusguard/event"
	"github.com/campusguard/campusguard/site"
)

// fifoLanded reports whether the journal hands the police sink its deliveries in
// commit order: the lead's change to journal.NextPending (docs/policelink.md,
// "Delivery, ordering, retries").
const fifoLanded = true

// TestInOrderThroughJournal (finding 7): alarms of mixed severity raised while the
// receiving centre is down go out, when it is back, strictly in commit order, through
// the real journal, alerting.Manager and its delivery worker, this sink and the
// loopback receiver.
func TestInOrderThroughJournal(t *testing.T) {
	if !fifoLanded {
		t.Skip("needs journal fifo order")
	}
	ctx := ctxT(t)
	rcv := startReceiver(t, "tcp", true, nil)
	rcv.Stop()
	j, err := journal.Open(filepath.Join(t.TempDir(), "journal.db"), journal.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	cfg := baseConfig("tcp", true, rcv.TCPAddr())
	cfg.Timeout = 200 * time.Millisecond
	cfg.PeriodicTest.Disabled = true
	cfg.Mappings = []Mapping{
		{Match: Match{Rule: "panic"}, Code: 120},
		{Match: Match{Rule: "tamper"}, Code: 144},
	}
	devs := []site.Device{}
	for i := range 10 {
		devs = append(devs, site.Device{ID: fmt.Sprintf("btn-%d", i), Kind: event.KindPanic, Zone: "gate", Number: i + 1})
	}
	dir := site.NewDirectory(&site.Site{ID: "school", Zones: []site.Zone{{ID: "gate", Number: 1, Area: 1}}}, devs)
	s := newSink(t, cfg, Options{Store: j, Directory: dir})
	m, err := alerting.New(alerting.Options{
		Config: alerting.Config{Routes: alerting.Route{Sinks: []string{s.Name()}},
			Delivery: alerting.DeliveryConfig{Timeout: 2 * time.Second, BackoffMin: 10 * time.Millisecond, BackoffMax: 50 * time.Millisecond}},
		Store: j, Directory: dir, Sinks: []alerting.Sink{s}, Logger: quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- m.Run(runCtx) }()
	defer func() { stop(); <-done }()

	// Minor tampers and critical panics, alternating, committed in this order.
	var want []string
	for i := range 10 {
		tr := alerting.Trigger{Rule: "tamper", Severity: alerting.Minor, Class: alerting.ClassTamper, Message: "tamper"}
		code := "144"
		if i%2 == 1 {
			tr.Rule, tr.Severity, tr.Class, tr.Message, code = "panic", alerting.Critical, alerting.ClassPanic, "panic", "120"
		}
		tr.Key, tr.DeviceID, tr.Firing, tr.At = fmt.Sprintf("btn-%d", i), fmt.Sprintf("btn-%d", i), true, time.Now()
		if err := m.Handle(ctx, tr); err != nil {
			t.Fatal(err)
		}
		want = append(want, fmt.Sprintf("#1234|1%s 01 %03d", code, i+1))
	}
	if err := rcv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	var got []string
	for len(got) < len(want) {
		recs, err := rcv.Wait(ctx, rcv.Len()+1)
		if err != nil {
			t.Fatalf("%v; got %q", err, got)
		}
		got = got[:0]
		for _, r := range recs {
			if r.Answer == centre.ACK && r.Message.ID != dc09.TokenNULL {
				got = append(got, r.Message.Data)
			}
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("reports in the order\n%q\nwant commit order\n%q", got, want)
	}
}
