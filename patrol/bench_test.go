package patrol

import (
	"testing"
	"time"
)

// BenchmarkScanRun: one whole 4-checkpoint run (4 scans and a Tick) per iteration.
func BenchmarkScanRun(b *testing.B) {
	tr, _ := New(testConfig(), Options{Site: "s01", Location: shanghai})
	base := at("21:00")
	tr.Tick(base)
	evs := [4]step{{at: "22:01", card: zhang, cp: "CP-01"}, {at: "22:06", card: zhang, cp: "CP-02"},
		{at: "22:11", card: zhang, cp: "CP-03"}, {at: "22:16", card: zhang, cp: "CP-04"}}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		day := time.Duration(i) * 24 * time.Hour
		for _, s := range evs {
			ev := scanEvent(s)
			ev.DeviceTime, ev.ReceivedAt = ev.DeviceTime.Add(day), ev.ReceivedAt.Add(day)
			tr.Scan(ev.ReceivedAt, ev)
		}
		tr.Tick(at("23:00").Add(day))
		tr.DrainResults()
	}
}

// BenchmarkMarshalState: the snapshot saved after every step, with one run in progress.
func BenchmarkMarshalState(b *testing.B) {
	tr, _ := New(testConfig(), Options{Site: "s01", Location: shanghai})
	tr.Tick(at("21:00"))
	tr.Scan(at("22:01"), scanEvent(step{at: "22:01", card: zhang, cp: "CP-01"}))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tr.MarshalState(); err != nil {
			b.Fatal(err)
		}
	}
}
