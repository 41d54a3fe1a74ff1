package eventtest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/campusguard/campusguard/event"
)

var t0 = time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)

func TestRecorderNumbersAndKeeps(t *testing.T) {
	r := NewRecorder(func() time.Time { return t0 })
	ctx := context.Background()
	stamped := t0.Add(-time.Minute)
	in := []event.Event{
		{DeviceID: "a", Type: event.TypePressed},
		{DeviceID: "b", Type: event.TypeReleased, ReceivedAt: stamped},
	}
	for i, e := range in {
		got, err := r.Publish(ctx, e)
		if err != nil || got.Seq != uint64(i+1) {
			t.Fatalf("publish %d: %+v %v", i, got, err)
		}
	}
	evs := r.Events()
	tests := []struct {
		i    int
		seq  uint64
		at   time.Time
		dev  string
		kind string
	}{
		{0, 1, t0, "a", event.TypePressed},
		{1, 2, stamped, "b", event.TypeReleased},
	}
	for _, tt := range tests {
		e := evs[tt.i]
		if e.Seq != tt.seq || !e.ReceivedAt.Equal(tt.at) || e.DeviceID != tt.dev || e.Type != tt.kind {
			t.Errorf("event %d: %+v", tt.i, e)
		}
	}
	if e := r.Expect(t, event.TypePressed); e.DeviceID != "a" {
		t.Fatalf("first %+v", e)
	}
	if p := r.Pending(); len(p) != 1 || p[0].DeviceID != "b" {
		t.Fatalf("pending %+v", p)
	}
	r.Take(t)
	r.NoMore(t)
}

func TestRecorderAwait(t *testing.T) {
	r := NewRecorder(nil)
	got := make(chan []event.Event, 1)
	go func() {
		evs, err := r.Await(context.Background(), 3)
		if err != nil {
			t.Error(err)
		}
		got <- evs
	}()
	for range 3 {
		if _, err := r.Publish(context.Background(), event.Event{Type: event.TypeHeartbeat}); err != nil {
			t.Fatal(err)
		}
	}
	if evs := <-got; len(evs) != 3 {
		t.Fatalf("awaited %d events", len(evs))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.Await(ctx, 4); !errors.Is(err, context.Canceled) {
		t.Fatalf("await past the end: %v", err)
	}
	for range 3 {
		r.Take(t)
	}
	if _, err := r.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("next past the end: %v", err)
	}
}

func TestRecorderFail(t *testing.T) {
	r := NewRecorder(nil)
	r.Fail(event.ErrClosed)
	ctx := context.Background()
	if _, err := r.Publish(ctx, event.Event{}); !errors.Is(err, event.ErrClosed) {
		t.Fatalf("publish while failing: %v", err)
	}
	if err := r.AwaitTries(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if r.Len() != 0 || r.Tries() != 1 {
		t.Fatalf("len %d tries %d", r.Len(), r.Tries())
	}
	r.Fail(nil)
	if e, err := r.Publish(ctx, event.Event{}); err != nil || e.Seq != 1 {
		t.Fatalf("publish after recovery: %+v %v", e, err)
	}
}
