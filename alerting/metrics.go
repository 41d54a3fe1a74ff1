package alerting

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	alarms       *prometheus.CounterVec
	transitions  *prometheus.CounterVec
	active       prometheus.Gauge
	deliveries   *prometheus.CounterVec
	backlog      *prometheus.GaugeVec
	deliverySecs *prometheus.HistogramVec
	handleSecs   prometheus.Histogram
	commitErrors prometheus.Counter
	groups       prometheus.Counter
	subDrops     prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) metrics {
	m := metrics{
		alarms: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "campusguard_alarms_total",
			Help: "Alarms raised, by severity."}, []string{"severity"}),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "campusguard_alarm_transitions_total",
			Help: "Alarm transitions notified, by transition."}, []string{"transition"}),
		active: prometheus.NewGauge(prometheus.GaugeOpts{Name: "campusguard_alarms_active",
			Help: "Alarms not yet resolved."}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "campusguard_sink_deliveries_total",
			Help: "Delivery attempts by sink and result (delivered, failed, rejected)."}, []string{"sink", "result"}),
		backlog: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "campusguard_sink_backlog",
			Help: "Notifications journaled and not yet delivered, by sink."}, []string{"sink"}),
		deliverySecs: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "campusguard_sink_delivery_seconds",
			Help: "Time of one Deliver call, by sink.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}, []string{"sink"}),
		handleSecs: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "campusguard_alarm_handle_seconds",
			Help:    "Time from a rule trigger to its journal commit.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16)}),
		commitErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "campusguard_alarm_commit_errors_total",
			Help: "Alarm changes whose journal commit failed (retried)."}),
		groups: prometheus.NewCounter(prometheus.CounterOpts{Name: "campusguard_alarm_group_notifications_total",
			Help: "Grouped notifications sent."}),
		subDrops: prometheus.NewCounter(prometheus.CounterOpts{Name: "campusguard_alarm_subscriber_drops_total",
			Help: "Live updates dropped for slow subscribers (they resync)."}),
	}
	if reg != nil {
		reg.MustRegister(m.alarms, m.transitions, m.active, m.deliveries, m.backlog, m.deliverySecs,
			m.handleSecs, m.commitErrors, m.groups, m.subDrops)
	}
	return m
}
