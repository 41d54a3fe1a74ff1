package telemetry

import (
	"context"
	"runtime"
	"time"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/devhealth"
	"github.com/campusguard/campusguard/event"
)

// StatusInterval is how often RunStatus writes device health and the gateway's figures.
const StatusInterval = time.Minute

// DeviceSnapshots lists every device's state; *devhealth.Tracker implements it.
type DeviceSnapshots interface {
	Snapshot() []devhealth.DeviceState
}

// BusStats are the event bus's queues and count; *event.Bus implements it.
type BusStats interface {
	Subscriptions() []*event.Subscription
	Published() uint64
}

// ActiveAlarms lists the open alarms; *alerting.Manager implements it.
type ActiveAlarms interface {
	Active() []alerting.Alarm
}

// StatusSources are what the status points are read from.
type StatusSources struct {
	Devices DeviceSnapshots
	Bus     BusStats
	Alarms  ActiveAlarms
	Started time.Time // the gateway's start, for its uptime
}

// RunStatus writes every device's health and the gateway's own figures (uptime, bus
// queue depths, goroutines, heap, events, active alarms) every StatusInterval until
// ctx ends.
func (f *Forwarder) RunStatus(ctx context.Context, src StatusSources) error {
	t := f.clock.NewTicker(StatusInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.Chan():
		}
		f.recordStatus(src)
	}
}

func (f *Forwarder) recordStatus(src StatusSources) {
	for _, s := range src.Devices.Snapshot() {
		f.RecordDeviceHealth(DeviceHealth{At: f.clock.Now(), DeviceID: s.Device, Kind: s.Kind,
			Online: s.Status == devhealth.StatusOnline, LastSeen: s.LastSeen, BatteryPct: s.Battery, SupplyV: s.SupplyV, Status: string(s.Status)})
	}
	q := map[string]int{}
	for _, s := range src.Bus.Subscriptions() {
		q[s.Name] = s.Len()
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	f.RecordGateway(GatewayStats{At: f.clock.Now(), Uptime: f.clock.Since(src.Started), Queues: q,
		Values: map[string]float64{"goroutines": float64(runtime.NumGoroutine()), "heap_bytes": float64(ms.HeapAlloc),
			"events": float64(src.Bus.Published()), "alarms_active": float64(len(src.Alarms.Active()))}})
}
