package policelink

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/campusguard/campusguard/alerting/journal"
)

// BenchmarkDeliverACK measures Deliver → DC-09 ACK from the loopback receiver,
// encrypted (AES-128), over TCP and UDP (and TCP with the journal as Store), and
// reports p50 and p99 in milliseconds.
func BenchmarkDeliverACK(b *testing.B) {
	for _, bc := range []struct {
		network string
		journal bool
	}{{"tcp", false}, {"udp", false}, {"tcp", true}} {
		name := bc.network + "/encrypted"
		if bc.journal {
			name += "/journal"
		}
		network := bc.network
		b.Run(name, func(b *testing.B) {
			rcv := startReceiver(b, network, true, nil)
			var opt Options
			if bc.journal { // the sequence number is made durable (fsync) before the first send
				j, err := journal.Open(filepath.Join(b.TempDir(), "journal.db"), journal.Options{Logger: quiet})
				if err != nil {
					b.Fatal(err)
				}
				defer j.Close()
				opt.Store = j
			}
			s := newSink(b, baseConfig(network, true, addr(rcv, network)), opt)
			ctx := context.Background()
			at := time.Now()
			if err := s.Deliver(ctx, fired("warm", at)); err != nil { // connect outside the loop
				b.Fatal(err)
			}
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				n := fired(fmt.Sprintf("b%d", i), at)
				start := time.Now()
				if err := s.Deliver(ctx, n); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
			}
			b.StopTimer()
			slices.Sort(lat)
			q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))]) / 1e6 }
			b.ReportMetric(q(0.50), "p50-ms")
			b.ReportMetric(q(0.99), "p99-ms")
		})
	}
}
