package event

import (
	"context"
	"sync"
	"testing"
	"time"
)

func TestBusOrderAndSeq(t *testing.T) {
	b := NewBus(nil)
	a := b.Subscribe("alarm", 4, Block)
	tel := b.Subscribe("telemetry", 2, DropOldest)
	ctx := context.Background()
	var wg sync.WaitGroup
	got := make([]uint64, 0, 100)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for e := range a.C() {
			got = append(got, e.Seq)
		}
	}()
	for i := 0; i < 100; i++ {
		if _, err := b.Publish(ctx, Event{DeviceID: "d", Type: TypeHeartbeat}); err != nil {
			t.Fatal(err)
		}
	}
	b.Close()
	wg.Wait()
	if len(got) != 100 {
		t.Fatalf("block subscriber got %d events, want 100", len(got))
	}
	for i, s := range got {
		if s != uint64(i+1) {
			t.Fatalf("event %d has seq %d", i, s)
		}
	}
	// The telemetry queue kept the newest two and counted the rest as dropped.
	var last []uint64
	for e := range tel.C() {
		last = append(last, e.Seq)
	}
	if len(last) != 2 || last[0] != 99 || last[1] != 100 || tel.Dropped() != 98 {
		t.Fatalf("drop-oldest kept %v dropped %d", last, tel.Dropped())
	}
}

func TestBusPublishRespectsContext(t *testing.T) {
	b := NewBus(nil)
	b.Subscribe("stuck", 1, Block)
	ctx, cancel := context.WithCancel(context.Background())
	if _, err := b.Publish(ctx, Event{}); err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := b.Publish(ctx, Event{}); err == nil {
		t.Fatal("publish into a full blocking queue with a cancelled context succeeded")
	}
	b.Close()
	if _, err := b.Publish(context.Background(), Event{}); err != ErrClosed {
		t.Fatalf("publish after close: %v", err)
	}
}

func TestEventTime(t *testing.T) {
	rx := time.Date(2026, 11, 20, 13, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		dev  time.Time
		want time.Time
	}{
		{"no device time", time.Time{}, rx},
		{"close device time", rx.Add(-2 * time.Second), rx.Add(-2 * time.Second)},
		{"drifted device clock", rx.Add(-time.Hour), rx},
	}
	for _, tt := range tests {
		e := Event{DeviceTime: tt.dev, ReceivedAt: rx}
		if got := e.Time(); !got.Equal(tt.want) {
			t.Errorf("%s: Time() = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestFieldsSet(t *testing.T) {
	f := Fields{}
	for k, v := range map[string]any{"i": 3, "f": float32(0.5), "s": "x", "b": true} {
		if err := f.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok := f["i"].(int64); !ok {
		t.Errorf("int not normalised: %T", f["i"])
	}
	if err := f.Set("bad", []int{1}); err == nil {
		t.Error("slice accepted as a field value")
	}
}

func BenchmarkBusPublish(b *testing.B) {
	bus := NewBus(nil)
	s := bus.Subscribe("rules", 1024, Block)
	bus.Subscribe("telemetry", 1024, DropOldest)
	done := make(chan struct{})
	go func() {
		for range s.C() {
		}
		close(done)
	}()
	ctx := context.Background()
	e := Event{DeviceID: "cam-1", Kind: KindKitchenCamera, Type: TypeDetection}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_, _ = bus.Publish(ctx, e)
	}
	bus.Close()
	<-done
}
