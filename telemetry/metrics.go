package telemetry

import (
	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	written prometheus.Counter
	dropped *prometheus.CounterVec
	failed  *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, f *Forwarder) *metrics {
	const ns, sub = "campusguard", "telemetry"
	m := &metrics{
		written: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "points_written_total", Help: "Points InfluxDB accepted."}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "points_dropped_total", Help: "Points given up, by reason (spool_full, spool_corrupt, rejected, spool_error, stopped)."},
			[]string{"reason"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "batches_failed_total", Help: "Write requests that failed, by HTTP status code (or network)."},
			[]string{"code"}),
	}
	if reg == nil {
		return m
	}
	spoolBytes := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub,
		Name: "spool_bytes", Help: "Size of the on-disk spool."},
		func() float64 { return float64(f.spool.Stats().Bytes) })
	spoolAge := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub,
		Name: "spool_oldest_age_seconds", Help: "Age of the oldest spooled batch (0 when empty)."},
		func() float64 {
			st := f.spool.Stats()
			if st.Oldest.IsZero() {
				return 0
			}
			return f.clock.Since(st.Oldest).Seconds()
		})
	connected := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub,
		Name: "connected", Help: "1 while InfluxDB takes writes."},
		func() float64 {
			if f.connected.Load() {
				return 1
			}
			return 0
		})
	for _, c := range []prometheus.Collector{m.written, m.dropped, m.failed, spoolBytes, spoolAge, connected} {
		reg.MustRegister(c)
	}
	return m
}
