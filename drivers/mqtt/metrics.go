package mqtt

import "github.com/prometheus/client_golang/prometheus"

// metrics are the driver's Prometheus series (namespace campusguard, subsystem mqtt).
type metrics struct {
	messages   *prometheus.CounterVec // broker
	invalid    *prometheus.CounterVec // device, reason
	dropped    *prometheus.CounterVec // device, reason
	connected  *prometheus.GaugeVec   // broker
	reconnects *prometheus.CounterVec // broker
	stalls     *prometheus.CounterVec // broker
	awaiting   prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	o := func(name, help string) prometheus.Opts {
		return prometheus.Opts{Namespace: "campusguard", Subsystem: "mqtt", Name: name, Help: help}
	}
	m := &metrics{
		messages: prometheus.NewCounterVec(prometheus.CounterOpts(o("messages_total",
			"MQTT messages received, per broker.")), []string{"broker"}),
		invalid: prometheus.NewCounterVec(prometheus.CounterOpts(o("invalid_total",
			"Malformed MQTT payloads, per device (_unknown when it cannot be told) and reason.")), []string{"device", "reason"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts(o("dropped_total",
			"Well-formed MQTT messages not turned into events, per device and reason (rate: a repeat over the device's rate limit, unknown_device, kind_mismatch, no_mapping).")), []string{"device", "reason"}),
		connected: prometheus.NewGaugeVec(prometheus.GaugeOpts(o("connected",
			"1 while the broker connection is up.")), []string{"broker"}),
		reconnects: prometheus.NewCounterVec(prometheus.CounterOpts(o("reconnects_total",
			"Successful reconnects after a lost connection, per broker.")), []string{"broker"}),
		stalls: prometheus.NewCounterVec(prometheus.CounterOpts(o("handoff_stalls_total",
			"Messages whose hand-off had to wait for room in the driver's queue, per broker.")), []string{"broker"}),
		awaiting: prometheus.NewGauge(prometheus.GaugeOpts(o("awaiting_durable",
			"QoS 1 messages handed to the bus whose acknowledgement waits for their event to be durable."))),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.messages, m.invalid, m.dropped, m.connected, m.reconnects, m.stalls, m.awaiting} {
			reg.MustRegister(c)
		}
	}
	return m
}

// forget removes a broker's series when it leaves the config.
func (m *metrics) forget(broker string) {
	m.messages.DeleteLabelValues(broker)
	m.connected.DeleteLabelValues(broker)
	m.reconnects.DeleteLabelValues(broker)
	m.stalls.DeleteLabelValues(broker)
}
