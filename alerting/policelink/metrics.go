package policelink

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Results of one message on one receiver (label result of reports_total).
const (
	resultACK      = "ack"
	resultNAK      = "nak"      // NAK retries exhausted
	resultDUH      = "duh"      // the receiver cannot process it
	resultRejected = "rejected" // NAKs the clock does not explain: account, key or format
	resultTimeout  = "timeout"  // no answer
	resultError    = "error"    // connection refused, reset, ...
)

type metrics struct {
	reports     *prometheus.CounterVec // path, kind, result
	nak         prometheus.Counter
	duh         prometheus.Counter
	supFailures *prometheus.CounterVec // path
	rtt         *prometheus.HistogramVec
	pathUp      *prometheus.GaugeVec
	offset      *prometheus.GaugeVec // path, role
}

func newMetrics(name string, reg prometheus.Registerer) (*metrics, error) {
	cl := prometheus.Labels{"sink": name}
	m := &metrics{
		reports: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "campusguard_policelink_reports_total", ConstLabels: cl,
			Help: "DC-09 messages sent per path, kind (alarm, link, null, test) and result (ack, nak, duh, timeout, error).",
		}, []string{"path", "kind", "result"}),
		nak: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "campusguard_policelink_nak_total", ConstLabels: cl,
			Help: "NAK answers (receiver rejected the timestamp; the clock offset was corrected).",
		}),
		duh: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "campusguard_policelink_duh_total", ConstLabels: cl,
			Help: "DUH answers (receiver cannot process the message).",
		}),
		supFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "campusguard_policelink_supervision_failures_total", ConstLabels: cl,
			Help: "Supervision polls (NULL) of a path that no receiver of the path acknowledged.",
		}, []string{"path"}),
		rtt: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "campusguard_policelink_rtt_seconds", ConstLabels: cl,
			Help:    "Time from sending a message to its ACK.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"path"}),
		pathUp: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "campusguard_policelink_path_up", ConstLabels: cl,
			Help: "1 when the path's last message was acknowledged by one of its receivers, 0 when none did.",
		}, []string{"path"}),
		offset: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "campusguard_policelink_clock_offset_seconds", ConstLabels: cl,
			Help: "Correction added to the local clock for a receiver, learnt from its NAKs.",
		}, []string{"path", "role"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.reports, m.nak, m.duh, m.supFailures, m.rtt, m.pathUp, m.offset} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("register metrics: %w", err)
			}
		}
	}
	return m, nil
}
