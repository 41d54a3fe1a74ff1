package mqttsink

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	deliveries *prometheus.CounterVec
	acks       *prometheus.CounterVec
	connected  prometheus.GaugeFunc
}

// AckResults are the values of the result label of campusguard_mqtt_sink_acks_total.
var AckResults = []string{"accepted", "bad_json", "invalid", "bad_signature", "stale", "replay", "overload", "failed", "unavailable"}

// newMetrics builds the sink's collectors (const label sink=name) and registers them
// when reg is not nil. connected may be nil (no connection gauge).
func newMetrics(name string, connected func() bool, reg prometheus.Registerer) (*metrics, error) {
	cl := prometheus.Labels{"sink": name}
	m := &metrics{
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "campusguard_mqtt_sink_deliveries_total", ConstLabels: cl,
			Help: "MQTT sink deliveries by result: ok, error (retried), rejected (permanent).",
		}, []string{"result"}),
		acks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "campusguard_mqtt_sink_acks_total", ConstLabels: cl,
			Help: "Acknowledgements received on the ack topic, by result (accepted or the reason for rejecting).",
		}, []string{"result"}),
	}
	for _, r := range []string{"ok", "error", "rejected"} {
		m.deliveries.WithLabelValues(r)
	}
	for _, r := range AckResults {
		m.acks.WithLabelValues(r)
	}
	cs := []prometheus.Collector{m.deliveries, m.acks}
	if connected != nil {
		m.connected = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "campusguard_mqtt_sink_connected", ConstLabels: cl,
			Help: "1 while the MQTT sink's broker connection is up.",
		}, func() float64 {
			if connected() {
				return 1
			}
			return 0
		})
		cs = append(cs, m.connected)
	}
	if reg != nil {
		for _, c := range cs {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("register metrics: %w", err)
			}
		}
	}
	return m, nil
}
