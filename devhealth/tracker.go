// Package devhealth supervises campusguard's devices: every device has a heartbeat
// (site.Device.HeartbeatOrDefault); a device silent for longer goes offline (an
// "offline" event, Source "health") and back online when it reports again. Drivers
// that know a device's link state (an MQTT last-will or status topic) send
// offline/online events themselves; the tracker takes those as they are.
//
// The Tracker is the pure core (every time is a parameter); the Runner feeds it the
// event stream, checks it on a clock and publishes what it says. Device state (last
// seen, online, tamper, fault, battery percent and supply volts where reported) is
// kept in memory for the health endpoint (Snapshot, Health) and /metrics.
package devhealth

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/campusguard/campusguard/event"
	"github.com/campusguard/campusguard/health"
	"github.com/campusguard/campusguard/site"
)

// Source is the event Source of the events the tracker emits.
const Source = "health"

// Field names read from device events.
const (
	FieldBattery = "battery"  // percent
	FieldSupplyV = "supply_v" // volts
)

// Status is a device's link state.
type Status string

// The states.
const (
	StatusUnknown Status = "unknown" // not heard from since start, heartbeat not yet due
	StatusOnline  Status = "online"
	StatusOffline Status = "offline"
)

// Offline reasons.
const (
	ReasonSilent   = "silent"   // no report within its heartbeat (the tracker decided)
	ReasonReported = "reported" // a driver said so (MQTT last will, status topic)
)

// DeviceState is one device's state.
type DeviceState struct {
	Device    string        `json:"device"`
	Kind      event.Kind    `json:"kind"`
	Name      string        `json:"name,omitempty"`
	Location  string        `json:"location,omitempty"`
	Heartbeat time.Duration `json:"-"` // 0: not supervised
	// HeartbeatS is Heartbeat in seconds, for JSON.
	HeartbeatS float64   `json:"heartbeat_s"`
	Status     Status    `json:"status"`
	LastSeen   time.Time `json:"last_seen,omitzero"`
	// OfflineSince and OfflineReason are set while Status is offline.
	OfflineSince  time.Time `json:"offline_since,omitzero"`
	OfflineReason string    `json:"offline_reason,omitempty"`
	Tamper        bool      `json:"tamper"`
	Fault         bool      `json:"fault"`
	FaultReason   string    `json:"fault_reason,omitempty"`
	Battery       *float64  `json:"battery,omitempty"`  // percent, last reported
	SupplyV       *float64  `json:"supply_v,omitempty"` // volts, last reported
}

type entry struct {
	DeviceState
	since time.Time // when supervision of this device began (start or added by reload)
}

// Tracker keeps every device's state. Safe for concurrent use.
type Tracker struct {
	mu      sync.Mutex
	site    string
	devs    map[string]*entry
	order   []string
	unknown uint64 // events of devices not in the list
}

// NewTracker tracks the devices of dir from now on: a device not heard from goes
// offline one heartbeat after now.
func NewTracker(dir *site.Directory, now time.Time) *Tracker {
	t := &Tracker{devs: map[string]*entry{}}
	t.SetDevices(dir, now)
	return t
}

// SetDevices replaces the device list (on reload). Devices still present keep their
// state; new ones start unknown with their heartbeat counted from now; removed ones
// are forgotten.
func (t *Tracker) SetDevices(dir *site.Directory, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if dir != nil && dir.Site != nil {
		t.site = dir.Site.ID
	}
	devs := dir.Devices()
	next := make(map[string]*entry, len(devs))
	order := make([]string, 0, len(devs))
	for i := range devs {
		d := &devs[i]
		e := t.devs[d.ID]
		if e == nil {
			e = &entry{since: now, DeviceState: DeviceState{Device: d.ID, Status: StatusUnknown}}
		}
		e.Kind, e.Name, e.Location, e.Heartbeat = d.Kind, d.Name, d.Location, d.HeartbeatOrDefault()
		e.HeartbeatS = e.Heartbeat.Seconds()
		next[d.ID] = e
		order = append(order, d.ID)
	}
	t.devs, t.order = next, order
}

// Observe takes one event from the bus and returns the events the tracker emits
// for it (an "online" event when an offline device reports again). Its own events
// (Source "health") are ignored. The event's ReceivedAt is the time it was seen.
func (t *Tracker) Observe(ev event.Event) []event.Event {
	if ev.Source == Source {
		return nil
	}
	now := ev.ReceivedAt
	if now.IsZero() {
		now = ev.Time()
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.devs[ev.DeviceID]
	if e == nil {
		t.unknown++
		return nil
	}
	if v, ok := ev.Fields.Float(FieldBattery); ok {
		e.Battery = &v
	}
	if v, ok := ev.Fields.Float(FieldSupplyV); ok {
		e.SupplyV = &v
	}
	switch ev.Type {
	case event.TypeTamper:
		e.Tamper = true
	case event.TypeTamperRestore:
		e.Tamper = false
	case event.TypeFault:
		e.Fault = true
		e.FaultReason = ev.Fields.String("error")
	case event.TypeFaultRestore:
		e.Fault, e.FaultReason = false, ""
	}
	switch ev.Type {
	case event.TypeOffline:
		// A driver reports the link lost: offline now; its event is already on the bus.
		if e.Status != StatusOffline {
			e.Status, e.OfflineSince, e.OfflineReason = StatusOffline, now, ReasonReported
		}
		return nil
	case event.TypeFault:
		// The driver cannot read the device: that is not the device reporting.
		return nil
	}
	if now.After(e.LastSeen) {
		e.LastSeen = now
	}
	was := e.Status
	e.Status, e.OfflineSince, e.OfflineReason = StatusOnline, time.Time{}, ""
	if was != StatusOffline || ev.Type == event.TypeOnline {
		return nil // first report, or the driver's own online event says it
	}
	return []event.Event{t.event(e, event.TypeOnline, now, event.Fields{})}
}

// Check marks offline every supervised device silent for longer than its heartbeat
// at now, and returns an "offline" event for each.
func (t *Tracker) Check(now time.Time) []event.Event {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []event.Event
	for _, id := range t.order {
		e := t.devs[id]
		if e.Heartbeat <= 0 || e.Status == StatusOffline {
			continue
		}
		ref := e.LastSeen
		if ref.IsZero() {
			ref = e.since
		}
		silent := now.Sub(ref)
		if silent <= e.Heartbeat {
			continue
		}
		e.Status, e.OfflineSince, e.OfflineReason = StatusOffline, now, ReasonSilent
		f := event.Fields{"reason": ReasonSilent, "silent_s": silent.Seconds(), "heartbeat_s": e.Heartbeat.Seconds()}
		if !e.LastSeen.IsZero() {
			f["last_seen"] = e.LastSeen
		}
		out = append(out, t.event(e, event.TypeOffline, now, f))
	}
	return out
}

func (t *Tracker) event(e *entry, typ string, now time.Time, f event.Fields) event.Event {
	return event.Event{Site: t.site, DeviceID: e.Device, Kind: e.Kind, Type: typ, Fields: f, ReceivedAt: now, Source: Source}
}

// Snapshot returns every device's state in config order.
func (t *Tracker) Snapshot() []DeviceState {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]DeviceState, 0, len(t.order))
	for _, id := range t.order {
		s := t.devs[id].DeviceState
		if s.Battery != nil {
			v := *s.Battery
			s.Battery = &v
		}
		if s.SupplyV != nil {
			v := *s.SupplyV
			s.SupplyV = &v
		}
		out = append(out, s)
	}
	return out
}

// Device returns one device's state.
func (t *Tracker) Device(id string) (DeviceState, bool) {
	for _, s := range t.Snapshot() {
		if s.Device == id {
			return s, true
		}
	}
	return DeviceState{}, false
}

// maxListed bounds the device ids named in the health reason.
const maxListed = 10

// Health implements health.Reporter: degraded while a device is offline or in fault.
func (t *Tracker) Health() health.Status {
	snap := t.Snapshot()
	t.mu.Lock()
	unknownEvents := t.unknown
	t.mu.Unlock()
	count := map[Status]int{}
	var offline, fault []string
	tamper := 0
	for _, s := range snap {
		count[s.Status]++
		if s.Status == StatusOffline {
			offline = append(offline, s.Device)
		}
		if s.Fault {
			fault = append(fault, s.Device)
		}
		if s.Tamper {
			tamper++
		}
	}
	detail := map[string]any{
		"devices": len(snap), "online": count[StatusOnline], "offline": count[StatusOffline],
		"unknown": count[StatusUnknown], "tamper": tamper, "fault": len(fault),
		"events_of_unknown_devices": unknownEvents,
	}
	var reasons []string
	if len(offline) > 0 {
		reasons = append(reasons, "offline: "+list(offline))
	}
	if len(fault) > 0 {
		reasons = append(reasons, "fault: "+list(fault))
	}
	if len(reasons) == 0 {
		return health.Status{State: health.Up, Detail: detail}
	}
	return health.Status{State: health.Degraded, Reason: strings.Join(reasons, "; "), Detail: detail}
}

func list(ids []string) string {
	sort.Strings(ids)
	if len(ids) > maxListed {
		return fmt.Sprintf("%s (+%d more)", strings.Join(ids[:maxListed], ", "), len(ids)-maxListed)
	}
	return strings.Join(ids, ", ")
}
