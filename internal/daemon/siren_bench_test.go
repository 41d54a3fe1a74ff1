package daemon

import (
	"slices"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"

	"github.com/campusguard/campusguard/alerting"
)

// BenchmarkEdgeToSirenThroughDaemon: a press on the gate button's line (a gpiotest
// edge) → the GPIO driver → the bus → the main loop → the rule engine → alerting →
// the siren sink → the GPIO output line high, all in the running daemon. The siren
// sounds before the journal commit; the time is until the line is high. Reports p50
// and p99 in µs. Each round releases the button, resets the alarm, moves the fake
// clock past the re-sound hold and waits until the reset's staff message left and the
// loop is idle, so the next press meets the daemon as a real press would: jumping the
// fake clock by 31 s fires every timer of those 31 s at once (heartbeats, renotify,
// state saves, delivery bookkeeping), a burst no real press ever meets.
func BenchmarkEdgeToSirenThroughDaemon(b *testing.B) {
	h := newHarness(b, harnessOpt{})
	on := make(chan time.Time, 16)
	h.pins["GPIO5"].setOnOut(func(l gpio.Level) {
		if l == gpio.High {
			select {
			case on <- time.Now():
			default:
			}
		}
	})
	var lat []time.Duration
	for i := 0; i < b.N; i++ {
		for len(on) > 0 { // nothing stale from the last round
			<-on
		}
		start := time.Now()
		h.pressGate()
		at := <-on
		lat = append(lat, at.Sub(start))
		b.StopTimer()
		a := h.staffGets(alerting.Fired, "builtin-panic", i+1).Alarm
		h.releaseGate()
		h.reset(a.ID, "bench")
		h.advance(31 * time.Second) // past the reset's re-sound hold for the next round
		h.staffGets(alerting.ResolvedT, "builtin-panic", i+1)
		h.settle()
		b.StartTimer()
	}
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Nanoseconds()) / 1000 }
	b.ReportMetric(q(0.50), "p50-µs")
	b.ReportMetric(q(0.99), "p99-µs")
}
