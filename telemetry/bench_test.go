package telemetry

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/campusguard/campusguard/event"
	"github.com/campusguard/campusguard/internal/testenv"
)

// BenchmarkForwarderToInflux: events in → points countable in a real InfluxDB. One op
// is one event; reports points/s end to end (until InfluxDB counts them all) and the
// test process's peak resident memory. Run with a fixed count, e.g.
// -bench ForwarderToInflux -benchtime 200000x.
func BenchmarkForwarderToInflux(b *testing.B) {
	srv := testenv.StartInflux(b)
	db := testDB(b, srv)
	cfg := testConfig(srv, db, b.TempDir())
	cfg.BatchSize = 5000
	cfg.FlushInterval = 100 * time.Millisecond
	cfg.Timeout = 30 * time.Second
	cfg.MeasurementPrefix = fmt.Sprintf("b%d_", b.N) // b.N runs count apart
	p := newProgress()
	f, err := New(cfg, Options{Logger: quietLogger(), Site: "s01", Written: p.notify})
	if err != nil {
		b.Fatal(err)
	}
	in := make(chan event.Event, 8192)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx, in) }()
	defer func() { cancel(); <-done }()
	ev := event.Event{Site: "s01", Kind: event.KindAntiFall, Type: event.TypeState, Source: "mqtt",
		Fields: event.Fields{"occupied": true, "distance_m": 0.8}}
	devs := make([]string, 200)
	for i := range devs {
		devs[i] = fmt.Sprintf("radar-%03d", i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		ev.Seq = uint64(i + 1)
		ev.DeviceID = devs[i%len(devs)]
		ev.ReceivedAt = start.Add(time.Duration(i) * time.Microsecond)
		in <- ev
	}
	q := fmt.Sprintf("SELECT count(seq) FROM %sevent", cfg.MeasurementPrefix)
	deadline := time.NewTimer(5 * time.Minute)
	defer deadline.Stop()
	for timedOut := false; ; {
		n, err := srv.Count(db, q)
		if err != nil {
			b.Fatal(err)
		}
		if n == int64(b.N) {
			break
		}
		if timedOut {
			b.Fatalf("%d of %d points arrived", n, b.N)
		}
		select {
		case <-p: // a batch was written: ask again
		case <-deadline.C:
			timedOut = true
		}
	}
	el := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/el.Seconds(), "points/s")
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		b.ReportMetric(float64(ru.Maxrss)/1024, "peak-RSS-MB")
	}
	if d := f.dropped.Load(); d != 0 {
		b.Fatalf("%d points dropped", d)
	}
}
