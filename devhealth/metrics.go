package devhealth

import (
	"github.com/prometheus/client_golang/prometheus"
)

var (
	descOnline = prometheus.NewDesc("campusguard_device_online",
		"1 while the device is online, 0 while offline (absent until its state is known).", []string{"device", "kind"}, nil)
	descLastSeen = prometheus.NewDesc("campusguard_device_last_seen_seconds",
		"Unix time the device last reported.", []string{"device", "kind"}, nil)
	descBattery = prometheus.NewDesc("campusguard_device_battery_percent",
		"Battery level last reported by the device.", []string{"device", "kind"}, nil)
	descSupply = prometheus.NewDesc("campusguard_device_supply_volts",
		"Supply voltage last reported by the device.", []string{"device", "kind"}, nil)
	descTamper = prometheus.NewDesc("campusguard_device_tamper",
		"1 while the device reports tamper (or a cut or shorted line).", []string{"device", "kind"}, nil)
	descFault = prometheus.NewDesc("campusguard_device_fault",
		"1 while the device's driver reports a fault.", []string{"device", "kind"}, nil)
	descCount = prometheus.NewDesc("campusguard_devices",
		"Devices by link status.", []string{"status"}, nil)
)

// collector reads the tracker at scrape time, so removed devices vanish with it.
type collector struct{ t *Tracker }

// Collector returns a Prometheus collector of the tracker's device state.
func (t *Tracker) Collector() prometheus.Collector { return collector{t} }

// Register registers the tracker's collector with reg (nil: nothing).
func (t *Tracker) Register(reg prometheus.Registerer) error {
	if reg == nil {
		return nil
	}
	return reg.Register(t.Collector())
}

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descOnline, descLastSeen, descBattery, descSupply, descTamper, descFault, descCount} {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	count := map[Status]int{StatusOnline: 0, StatusOffline: 0, StatusUnknown: 0}
	b := func(v bool) float64 {
		if v {
			return 1
		}
		return 0
	}
	for _, s := range c.t.Snapshot() {
		count[s.Status]++
		l := []string{s.Device, string(s.Kind)}
		if s.Status != StatusUnknown {
			ch <- prometheus.MustNewConstMetric(descOnline, prometheus.GaugeValue, b(s.Status == StatusOnline), l...)
		}
		if !s.LastSeen.IsZero() {
			ch <- prometheus.MustNewConstMetric(descLastSeen, prometheus.GaugeValue, float64(s.LastSeen.UnixMilli())/1000, l...)
		}
		if s.Battery != nil {
			ch <- prometheus.MustNewConstMetric(descBattery, prometheus.GaugeValue, *s.Battery, l...)
		}
		if s.SupplyV != nil {
			ch <- prometheus.MustNewConstMetric(descSupply, prometheus.GaugeValue, *s.SupplyV, l...)
		}
		ch <- prometheus.MustNewConstMetric(descTamper, prometheus.GaugeValue, b(s.Tamper), l...)
		ch <- prometheus.MustNewConstMetric(descFault, prometheus.GaugeValue, b(s.Fault), l...)
	}
	for st, n := range count {
		ch <- prometheus.MustNewConstMetric(descCount, prometheus.GaugeValue, float64(n), string(st))
	}
}
