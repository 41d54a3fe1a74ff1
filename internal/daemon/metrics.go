package daemon

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/campusguard/campusguard/event"
)

// metrics are the daemon's own counters; components register theirs on the same
// registry.
type metrics struct {
	reg        *prometheus.Registry
	eventsIn   *prometheus.CounterVec
	reloads    *prometheus.CounterVec
	loopEvents prometheus.Counter
}

func newMetrics(bus *event.Bus) *metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := &metrics{
		reg: reg,
		eventsIn: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "campusguard_events_total", Help: "Events published on the bus, by device kind and event type.",
		}, []string{"kind", "type"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "campusguard_reloads_total", Help: "Config reloads, by result (ok, rejected).",
		}, []string{"result"}),
		loopEvents: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "campusguard_pipeline_events_total", Help: "Events evaluated by the main loop (rules).",
		}),
	}
	reg.MustRegister(m.eventsIn, m.reloads, m.loopEvents)
	reg.MustRegister(busCollector{bus})
	return m
}

// busCollector exports each bus queue's depth, drops and stalls.
type busCollector struct{ bus *event.Bus }

var (
	queueDepth = prometheus.NewDesc("campusguard_queue_depth", "Events waiting in a consumer's queue.", []string{"queue"}, nil)
	queueCap   = prometheus.NewDesc("campusguard_queue_capacity", "Size of a consumer's queue.", []string{"queue"}, nil)
	queueDrops = prometheus.NewDesc("campusguard_queue_dropped_total", "Events dropped from a drop-oldest queue (telemetry).", []string{"queue"}, nil)
	queueStall = prometheus.NewDesc("campusguard_queue_stalls_total", "Publishes that waited for room in a blocking queue (alarm path).", []string{"queue"}, nil)
	published  = prometheus.NewDesc("campusguard_bus_published_total", "Events published on the bus.", nil, nil)
)

func (c busCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- queueDepth
	ch <- queueCap
	ch <- queueDrops
	ch <- queueStall
	ch <- published
}

func (c busCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.bus.Subscriptions() {
		ch <- prometheus.MustNewConstMetric(queueDepth, prometheus.GaugeValue, float64(s.Len()), s.Name)
		ch <- prometheus.MustNewConstMetric(queueCap, prometheus.GaugeValue, float64(s.Cap()), s.Name)
		ch <- prometheus.MustNewConstMetric(queueDrops, prometheus.CounterValue, float64(s.Dropped()), s.Name)
		ch <- prometheus.MustNewConstMetric(queueStall, prometheus.CounterValue, float64(s.Stalls()), s.Name)
	}
	ch <- prometheus.MustNewConstMetric(published, prometheus.CounterValue, float64(c.bus.Published()))
}
