package patrol

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	scans       *prometheus.CounterVec
	events      *prometheus.CounterVec
	runs        *prometheus.CounterVec
	active      prometheus.Gauge
	storeErrors prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		scans: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "campusguard_patrol_scans_total",
			Help: "Patrol scans by outcome (accepted, duplicate, unknown_card, unknown_checkpoint, unplanned, repeat).",
		}, []string{"result"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "campusguard_patrol_events_total",
			Help: "Patrol events published, by type.",
		}, []string{"type"}),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "campusguard_patrol_runs_total",
			Help: "Finished patrol runs by status (completed, incomplete, not_started).",
		}, []string{"status"}),
		active: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "campusguard_patrol_active_runs",
			Help: "Patrol runs in progress.",
		}),
		storeErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "campusguard_patrol_store_errors_total",
			Help: "Failed writes of patrol state or results to the journal.",
		}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.scans, m.events, m.runs, m.active, m.storeErrors} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("patrol metrics: %w", err)
			}
		}
	}
	return m, nil
}
