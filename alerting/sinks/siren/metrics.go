package siren

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	on          *prometheus.GaugeVec
	activations *prometheus.CounterVec
	cutoffs     *prometheus.CounterVec
	errors      *prometheus.CounterVec
	suppressed  prometheus.Counter
	alarms      prometheus.Gauge
}

// newMetrics builds the sink's collectors (const label sink=name) and registers them
// when reg is not nil; the output series exist from the start, at zero.
func newMetrics(name string, outputs []string, reg prometheus.Registerer) (*metrics, error) {
	cl := prometheus.Labels{"sink": name}
	m := &metrics{
		on: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "campusguard_siren_output_on", Help: "1 while the siren output sounds.", ConstLabels: cl,
		}, []string{"output"}),
		activations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "campusguard_siren_activations_total", Help: "Times a siren output was told to sound.", ConstLabels: cl,
		}, []string{"output"}),
		cutoffs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "campusguard_siren_max_on_cutoffs_total", Help: "Times a siren output reached its max on-time.", ConstLabels: cl,
		}, []string{"output"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "campusguard_siren_output_errors_total", Help: "Failed sound or silence commands per output.", ConstLabels: cl,
		}, []string{"output"}),
		suppressed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "campusguard_siren_resound_suppressed_total", Help: "New triggers of a silenced alarm kept quiet because the alarm's re-sound rule said so (GB 50394: within 30 s of the silence).", ConstLabels: cl,
		}),
		alarms: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "campusguard_siren_active_alarms", Help: "Alarms the siren sink tracks (sounding or silenced, not yet resolved).", ConstLabels: cl,
		}),
	}
	for _, o := range outputs {
		m.on.WithLabelValues(o)
		m.activations.WithLabelValues(o)
		m.cutoffs.WithLabelValues(o)
		m.errors.WithLabelValues(o)
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.on, m.activations, m.cutoffs, m.errors, m.suppressed, m.alarms} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("register metrics: %w", err)
			}
		}
	}
	return m, nil
}
