package devhealth

import (
	"context"
	"testing"
	"time"

	"github.com/campusguard/campusguard/event"
	"github.com/jonboulle/clockwork"
)

func next(t *testing.T, c <-chan event.Event) event.Event {
	t.Helper()
	select {
	case e := <-c:
		return e
	case <-time.After(5 * time.Second):
		t.Fatal("no event")
		return event.Event{}
	}
}

// TestRunnerOnBus runs the tracker on a real bus: offline after the heartbeat, online
// when the device reports again, and the runner's own events do not loop back.
func TestRunnerOnBus(t *testing.T) {
	clk := clockwork.NewFakeClockAt(t0)
	bus := event.NewBus(clk.Now)
	// A one-slot Block queue: the runner must keep draining it while it publishes.
	sub := bus.Subscribe("devhealth", 1, event.Block)
	obs := bus.Subscribe("test", 64, event.Block)
	tr := NewTracker(testDir(), clk.Now())
	r := &Runner{Tracker: tr, Publisher: bus, Clock: clk, Interval: 5 * time.Second, Logger: quiet()}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx, sub.C()) }()

	if err := clk.BlockUntilContext(ctx, 1); err != nil { // the ticker
		t.Fatal(err)
	}
	clk.Advance(65 * time.Second)
	e := next(t, obs.C())
	if e.DeviceID != "btn" || e.Type != event.TypeOffline || e.Source != Source || e.Seq == 0 {
		t.Fatalf("got %s, want btn offline", e)
	}
	if s, _ := tr.Device("btn"); s.Status != StatusOffline {
		t.Fatalf("btn %+v", s)
	}

	if _, err := bus.Publish(ctx, event.Event{DeviceID: "btn", Kind: event.KindPanic, Type: event.TypeHeartbeat, Source: "gpio"}); err != nil {
		t.Fatal(err)
	}
	if e := next(t, obs.C()); e.Type != event.TypeHeartbeat {
		t.Fatalf("got %s", e)
	}
	if e := next(t, obs.C()); e.DeviceID != "btn" || e.Type != event.TypeOnline || e.Source != Source {
		t.Fatalf("got %s, want btn online", e)
	}
	// A burst of events while the runner publishes: the one-slot queue keeps moving.
	for i := 0; i < 20; i++ {
		if _, err := bus.Publish(ctx, event.Event{DeviceID: "cam", Type: event.TypeHeartbeat, Source: "mqtt"}); err != nil {
			t.Fatal(err)
		}
		next(t, obs.C())
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("runner did not stop")
	}
	select {
	case e := <-obs.C():
		t.Fatalf("unexpected event %s", e)
	default:
	}
}

func TestRunnerStopsWhenStreamCloses(t *testing.T) {
	ch := make(chan event.Event)
	close(ch)
	r := &Runner{Tracker: NewTracker(testDir(), t0), Publisher: event.NewBus(nil), Clock: clockwork.NewFakeClockAt(t0), Logger: quiet()}
	if err := r.Run(context.Background(), ch); err != nil {
		t.Fatal(err)
	}
}
