package journal

import (
	"fmt"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/campusguard/campusguard/alerting"
)

// one alarm as the Manager commits it: record, history, one delivery per sink.
func benchCommit(i int64) alerting.Commit {
	a := alarm(fmt.Sprintf("s01-bench-%08d", i), alerting.Critical, t0.Add(time.Duration(i)*time.Millisecond))
	a.Alarm.Message = "一键报警 门卫室"
	a.Alarm.Labels = map[string]string{"building": "main", "floor": "1"}
	return alerting.Commit{
		Alarms:     []alerting.AlarmRecord{a},
		History:    []alerting.HistoryRecord{{At: a.Alarm.FiredAt, AlarmID: a.Alarm.ID, Action: "fired", Severity: a.Alarm.Severity}},
		Deliveries: []alerting.Delivery{delivery("mqtt", a, 1), delivery("police", a, 1), delivery("siren", a, 1)},
		AlarmSeq:   uint64(i),
	}
}

// BenchmarkJournalCommit: one alarm per fsynced commit, one writer; reports the
// commit's p50 and p99 (the floor under every alarm's latency: nothing leaves before
// its commit).
func BenchmarkJournalCommit(b *testing.B) {
	j := open(b, filepath.Join(b.TempDir(), "j.db"), Options{})
	defer j.Close()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		if err := j.Commit(benchCommit(int64(i))); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "alarms/s")
	slices.Sort(lat)
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
}

// BenchmarkJournalCommitConcurrent: 32 concurrent committers share group commits.
func BenchmarkJournalCommitConcurrent(b *testing.B) {
	j := open(b, filepath.Join(b.TempDir(), "j.db"), Options{})
	defer j.Close()
	var n atomic.Int64
	b.SetParallelism(16) // × GOMAXPROCS goroutines
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := j.Commit(benchCommit(n.Add(1))); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "alarms/s")
	b.ReportMetric(float64(b.N)/float64(j.Transactions()), "alarms/txn")
}
