package gpio

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the driver's Prometheus series; labels are bounded by the config.
type metrics struct {
	edges  *prometheus.CounterVec
	events *prometheus.CounterVec
	active *prometheus.GaugeVec
	outOn  *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		edges: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "campusguard_gpio_edges_total", Help: "Level changes read on GPIO inputs.",
		}, []string{"device"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "campusguard_gpio_events_total", Help: "Events published by GPIO inputs.",
		}, []string{"device", "type"}),
		active: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "campusguard_gpio_input_active", Help: "1 while a GPIO input is active.",
		}, []string{"device"}),
		outOn: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "campusguard_gpio_output_on", Help: "1 while a GPIO output's relay is on.",
		}, []string{"output"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.edges, m.events, m.active, m.outOn} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("gpio metrics: %w", err)
			}
		}
	}
	return m, nil
}

func (m *metrics) edge(dev string) { m.edges.WithLabelValues(dev).Inc() }

func (m *metrics) event(dev, typ string) { m.events.WithLabelValues(dev, typ).Inc() }

func (m *metrics) state(dev string, active bool) {
	v := 0.0
	if active {
		v = 1
	}
	m.active.WithLabelValues(dev).Set(v)
}

func (m *metrics) output(id string, on, forget bool) {
	if forget {
		m.outOn.DeleteLabelValues(id)
		return
	}
	v := 0.0
	if on {
		v = 1
	}
	m.outOn.WithLabelValues(id).Set(v)
}

// forget drops the series of a removed input.
func (m *metrics) forget(dev string) {
	m.edges.DeleteLabelValues(dev)
	m.events.DeletePartialMatch(prometheus.Labels{"device": dev})
	m.active.DeleteLabelValues(dev)
}
