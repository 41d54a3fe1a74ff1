package webhook

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	requests *prometheus.CounterVec
	duration prometheus.Histogram
	up       prometheus.Gauge
	inflight prometheus.Gauge
}

// newMetrics builds the sink's collectors (const label sink=name) and registers them
// when reg is not nil.
func newMetrics(name string, reg prometheus.Registerer) (*metrics, error) {
	cl := prometheus.Labels{"sink": name}
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "campusguard_webhook_deliveries_total", ConstLabels: cl,
			Help: "Webhook delivery attempts by result: ok, retry (the pipeline tries again), rejected (permanent).",
		}, []string{"result"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "campusguard_webhook_request_seconds", ConstLabels: cl,
			Help:    "Duration of webhook requests.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2, 5, 10},
		}),
		up: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "campusguard_webhook_up", ConstLabels: cl,
			Help: "1 when the last webhook delivery succeeded.",
		}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "campusguard_webhook_inflight", ConstLabels: cl,
			Help: "Webhook requests in progress.",
		}),
	}
	for _, r := range []string{"ok", "retry", "rejected"} {
		m.requests.WithLabelValues(r)
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.requests, m.duration, m.up, m.inflight} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("register metrics: %w", err)
			}
		}
	}
	return m, nil
}
