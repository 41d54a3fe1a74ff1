package journal

import (
	"fmt"
	"path/filepath"
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

// BenchmarkJournalCommit: one alarm per fsynced commit, one writer.
func BenchmarkJournalCommit(b *testing.B) {
	j := open(b, filepath.Join(b.TempDir(), "j.db"), Options{})
	defer j.Close()
	b.ResetTimer()
	for i := range b.N {
		if err := j.Commit(benchCommit(int64(i))); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "alarms/s")
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
