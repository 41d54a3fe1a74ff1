package alerting_test

import (
	"context"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/alerting/journal"
)

// ackSink acks at once and reports when it got each alarm (by key).
type ackSink struct {
	name string
	got  chan ackAt
}

type ackAt struct {
	key string
	at  time.Time
}

func (s *ackSink) Name() string { return s.name }
func (s *ackSink) Deliver(ctx context.Context, n alerting.Notification) error {
	s.got <- ackAt{n.Alarm.Key, time.Now()}
	return nil
}

func benchManager(b *testing.B, sinks ...alerting.Sink) (*alerting.Manager, func()) {
	j, err := journal.Open(filepath.Join(b.TempDir(), "journal.db"), journal.Options{})
	if err != nil {
		b.Fatal(err)
	}
	var names []string
	for _, s := range sinks {
		names = append(names, s.Name())
	}
	m, err := alerting.New(alerting.Options{Config: alerting.Config{Routes: alerting.Route{Sinks: names}},
		Store: j, Directory: testDirectory(), Sinks: sinks, Local: &local{}})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = m.Run(ctx) }()
	return m, func() { cancel(); <-done; _ = j.Close() }
}

func pct(d []time.Duration, p float64) time.Duration {
	slices.Sort(d)
	return d[min(len(d)-1, int(float64(len(d))*p))]
}

// BenchmarkPipeline200PerSec: rule fire → journal committed → sink publish
// acknowledged, at a steady 200 alarms/s, with a sink that acks at once. Reports
// p50/p99 of both latencies.
func BenchmarkPipeline200PerSec(b *testing.B) {
	s := &ackSink{name: "mqtt", got: make(chan ackAt, b.N+1)}
	m, stop := benchManager(b, s)
	defer stop()
	starts := make([]time.Time, b.N)
	commits := make([]time.Duration, b.N)
	var wg sync.WaitGroup
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	b.ResetTimer()
	for i := range b.N {
		<-tick.C
		wg.Add(1)
		go func() {
			defer wg.Done()
			starts[i] = time.Now()
			tr := alerting.Trigger{Rule: "bench", Key: strconv.Itoa(i), Firing: true, Severity: alerting.Critical, Message: "bench"}
			if err := m.Handle(context.Background(), tr); err != nil {
				b.Error(err)
			}
			commits[i] = time.Since(starts[i])
		}()
	}
	acks := make([]time.Duration, 0, b.N)
	for range b.N {
		a := <-s.got
		i, _ := strconv.Atoi(a.key)
		wg.Wait() // starts[i] written
		acks = append(acks, a.at.Sub(starts[i]))
	}
	b.StopTimer()
	b.ReportMetric(float64(pct(commits, 0.5).Microseconds()), "commit-p50-µs")
	b.ReportMetric(float64(pct(commits, 0.99).Microseconds()), "commit-p99-µs")
	b.ReportMetric(float64(pct(acks, 0.5).Microseconds()), "ack-p50-µs")
	b.ReportMetric(float64(pct(acks, 0.99).Microseconds()), "ack-p99-µs")
}

// BenchmarkPipelineThroughput: as many concurrent alarms as the pipeline takes, to
// two sinks; alarms/s counts alarms committed and acknowledged by both sinks.
func BenchmarkPipelineThroughput(b *testing.B) {
	s1 := &ackSink{name: "mqtt", got: make(chan ackAt, b.N+1)}
	s2 := &ackSink{name: "webhook", got: make(chan ackAt, b.N+1)}
	m, stop := benchManager(b, s1, s2)
	defer stop()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	b.ResetTimer()
	for i := range b.N {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			tr := alerting.Trigger{Rule: "bench", Key: strconv.Itoa(i), Firing: true, Severity: alerting.Major}
			if err := m.Handle(context.Background(), tr); err != nil {
				b.Error(err)
			}
		}()
	}
	wg.Wait()
	for range b.N {
		<-s1.got
		<-s2.got
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "alarms/s")
}
