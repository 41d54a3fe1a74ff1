package telemetry

import (
	"hash/fnv"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/event"
)

// Measurement names without the configured prefix (see docs/telemetry.md).
const (
	MeasEvent   = "event"
	MeasDevice  = "device"
	MeasAlarm   = "alarm"
	MeasPatrol  = "patrol"
	MeasGateway = "gateway"
)

// maxString bounds a string field value (InfluxDB allows 64 KiB).
const maxString = 4096

// DeviceHealth is a snapshot of one device's condition, written to the "device"
// measurement.
type DeviceHealth struct {
	At         time.Time  // when the snapshot was taken (zero: now)
	Site       string     // zero: the forwarder's site
	DeviceID   string     // tag
	Kind       event.Kind // tag
	Zone       string     // tag; zero: looked up in the directory
	Online     bool       // field online
	LastSeen   time.Time  // field last_seen (Unix ms) and silent_s; zero: never seen
	BatteryPct *float64   // field battery_pct, when the device reports it
	SupplyV    *float64   // field supply_v, when the device reports it
	Status     string     // field status: free text ("line cut", "lens covered")
}

// PatrolResult is one checkpoint of a patrol run (or the summary of a run, with
// Checkpoint empty), written to the "patrol" measurement.
type PatrolResult struct {
	At         time.Time     // the scan time, or when the checkpoint was judged (deadline, run end)
	Site       string        // zero: the forwarder's site
	Route      string        // tag: route id
	Checkpoint string        // tag: checkpoint id; "" for a run summary
	Result     string        // tag: ok, early, late, missed, out_of_order; for summaries complete, incomplete
	Run        string        // field run: the run's id
	Guard      string        // field guard: card or guard id
	Expected   time.Time     // field expected (Unix ms) when not zero
	Deviation  time.Duration // field deviation_s: At - Expected (negative: early)
	Done       int           // field done: checkpoints done (summaries)
	Planned    int           // field planned: checkpoints planned (summaries)
}

// GatewayStats is the gateway's own condition, written to the "gateway" measurement.
type GatewayStats struct {
	At     time.Time      // zero: now
	Site   string         // zero: the forwarder's site
	Uptime time.Duration  // field uptime_s
	Queues map[string]int // field queue_<name>: queue depths (bus subscribers, alert queues)
	// Values holds other numbers by field name (goroutines, heap_bytes, bus_dropped...).
	Values map[string]float64
}

// encoder renders points as InfluxDB line protocol (see docs/telemetry.md).
type encoder struct {
	mEvent, mDevice, mAlarm, mPatrol, mGateway string // escaped measurement names
	site                                       string
	zone                                       func(device string) string
}

func newEncoder(prefix, site string, zone func(string) string) *encoder {
	m := func(name string) string { return string(appendMeasurement(nil, prefix+name)) }
	if zone == nil {
		zone = func(string) string { return "" }
	}
	return &encoder{mEvent: m(MeasEvent), mDevice: m(MeasDevice), mAlarm: m(MeasAlarm),
		mPatrol: m(MeasPatrol), mGateway: m(MeasGateway), site: site, zone: zone}
}

// stamp is the point's timestamp: t at millisecond precision, with the sub-millisecond
// digits replaced by uniq mod 1e6, so two points of one series in one millisecond do
// not overwrite each other.
func stamp(t time.Time, uniq uint64) int64 {
	return t.UnixMilli()*1_000_000 + int64(uniq%1_000_000)
}

func hashUniq(parts ...string) uint64 {
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return h.Sum64()
}

func (e *encoder) siteOr(s string) string {
	if s == "" {
		return e.site
	}
	return s
}

// appendEvent renders one event. now stands in for a missing receive time.
func (e *encoder) appendEvent(b []byte, ev *event.Event, now func() time.Time) []byte {
	b = append(b, e.mEvent...)
	b = appendTag(b, "device", ev.DeviceID)
	b = appendTag(b, "kind", string(ev.Kind))
	b = appendTag(b, "site", e.siteOr(ev.Site))
	b = appendTag(b, "source", ev.Source)
	b = appendTag(b, "type", ev.Type)
	b = appendTag(b, "zone", e.zone(ev.DeviceID))
	b = append(b, ' ')
	b = append(b, "seq="...)
	b = strconv.AppendUint(b, ev.Seq, 10)
	b = append(b, 'i')
	if !ev.DeviceTime.IsZero() && !ev.ReceivedAt.IsZero() {
		b = append(b, ",skew_ms="...)
		b = strconv.AppendInt(b, ev.ReceivedAt.Sub(ev.DeviceTime).Milliseconds(), 10)
		b = append(b, 'i')
	}
	if n := len(ev.Fields); n > 0 {
		var arr [16]string
		keys := arr[:0]
		for k := range ev.Fields {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			b = appendEventField(b, k, ev.Fields[k])
		}
	}
	t := ev.Time()
	if t.IsZero() {
		t = now()
	}
	b = append(b, ' ')
	b = strconv.AppendInt(b, stamp(t, ev.Seq), 10)
	return append(b, '\n')
}

// schemaNames are the names a device's or the gateway's field may not take as they
// are: the tag keys of the measurements those fields go to (event: device, kind, site,
// source, type, zone; gateway: site), the schema's own fields there (seq, skew_ms,
// uptime_s) and InfluxDB's time column. A field of such a name would collide with the
// tag (InfluxDB shows it as kind_1) or overwrite the schema's field.
var schemaNames = map[string]bool{
	"device": true, "kind": true, "site": true, "source": true, "type": true, "zone": true,
	"seq": true, "skew_ms": true, "uptime_s": true, "time": true,
}

// eventFieldKey is the one naming rule for device and gateway fields: a name that is a
// tag key or a field of the schema (schemaNames), or that InfluxDB reserves (a leading
// underscore), is written with the prefix x_; every other name as it is.
func eventFieldKey(k string) string {
	if schemaNames[k] || strings.HasPrefix(k, "_") {
		return "x_" + k
	}
	return k
}

// appendEventField renders one event field (always after another field). Numbers are
// written as floats whatever their Go type, so one field never changes type between
// points (InfluxDB rejects that); NaN and infinities are left out.
func appendEventField(b []byte, k string, v any) []byte {
	if k == "" {
		return b
	}
	switch x := v.(type) {
	case string:
		return appendStringField(b, eventFieldKey(k), x)
	case float64:
		return appendFloatField(b, eventFieldKey(k), x)
	case int64:
		return appendFloatField(b, eventFieldKey(k), float64(x))
	case bool:
		return appendBoolField(b, eventFieldKey(k), x)
	case time.Time:
		return appendStringField(b, eventFieldKey(k), x.UTC().Format(time.RFC3339Nano))
	default:
		// Not a normalised value (a producer skipped Fields.Set): normalise or leave out.
		if n, err := event.Normalize(v); err == nil {
			return appendEventField(b, k, n)
		}
		return b
	}
}

// appendDeviceHealth renders a device snapshot; uniq makes its timestamp unique.
func (e *encoder) appendDeviceHealth(b []byte, h *DeviceHealth, now time.Time, uniq uint64) []byte {
	zone := h.Zone
	if zone == "" {
		zone = e.zone(h.DeviceID)
	}
	at := h.At
	if at.IsZero() {
		at = now
	}
	b = append(b, e.mDevice...)
	b = appendTag(b, "device", h.DeviceID)
	b = appendTag(b, "kind", string(h.Kind))
	b = appendTag(b, "site", e.siteOr(h.Site))
	b = appendTag(b, "zone", zone)
	b = append(b, " online="...)
	b = strconv.AppendBool(b, h.Online)
	if !h.LastSeen.IsZero() {
		b = appendIntField(b, "last_seen", h.LastSeen.UnixMilli())
		b = appendFloatField(b, "silent_s", at.Sub(h.LastSeen).Seconds())
	}
	if h.BatteryPct != nil {
		b = appendFloatField(b, "battery_pct", *h.BatteryPct)
	}
	if h.SupplyV != nil {
		b = appendFloatField(b, "supply_v", *h.SupplyV)
	}
	if h.Status != "" {
		b = appendStringField(b, "status", h.Status)
	}
	b = append(b, ' ')
	b = strconv.AppendInt(b, stamp(at, uniq), 10)
	return append(b, '\n')
}

// appendPatrol renders a patrol result. Its timestamp's unique digits come from the
// result's identity, so a result recorded twice overwrites itself.
func (e *encoder) appendPatrol(b []byte, p *PatrolResult, now time.Time) []byte {
	at := p.At
	if at.IsZero() {
		at = now
	}
	b = append(b, e.mPatrol...)
	b = appendTag(b, "checkpoint", p.Checkpoint)
	b = appendTag(b, "result", p.Result)
	b = appendTag(b, "route", p.Route)
	b = appendTag(b, "site", e.siteOr(p.Site))
	b = append(b, " deviation_s="...)
	b = appendFloat(b, p.Deviation.Seconds())
	b = appendStringField(b, "run", p.Run)
	b = appendStringField(b, "guard", p.Guard)
	if !p.Expected.IsZero() {
		b = appendIntField(b, "expected", p.Expected.UnixMilli())
	}
	if p.Checkpoint == "" || p.Planned > 0 {
		b = appendIntField(b, "done", int64(p.Done))
		b = appendIntField(b, "planned", int64(p.Planned))
	}
	b = append(b, ' ')
	b = strconv.AppendInt(b, stamp(at, hashUniq(p.Run, p.Route, p.Checkpoint, p.Result, p.Guard)), 10)
	return append(b, '\n')
}

// appendAlarm renders one alarm of a notification. Its timestamp's unique digits come
// from the notification and alarm ids, so a notification delivered again overwrites
// itself.
func (e *encoder) appendAlarm(b []byte, n *alerting.Notification, a *alerting.Alarm, now time.Time) []byte {
	at := n.At
	if at.IsZero() {
		at = now
	}
	zone := a.Zone
	if zone == "" {
		zone = e.zone(a.DeviceID)
	}
	b = append(b, e.mAlarm...)
	b = appendTag(b, "device", a.DeviceID)
	b = appendTag(b, "device_kind", string(a.DeviceKind))
	b = appendTag(b, "rule", a.Rule)
	b = appendTag(b, "severity", string(a.Severity))
	b = appendTag(b, "site", e.siteOr(a.Site))
	b = appendTag(b, "state", string(a.State))
	if a.Test {
		b = appendTag(b, "test", "true")
	}
	b = appendTag(b, "transition", string(n.Transition))
	b = appendTag(b, "zone", zone)
	b = append(b, " count="...)
	b = strconv.AppendInt(b, int64(a.Count), 10)
	b = append(b, 'i')
	b = appendStringField(b, "id", a.ID)
	b = appendStringField(b, "notification_id", n.ID)
	b = appendStringField(b, "key", a.Key)
	b = appendStringField(b, "message", a.Message)
	if a.Location != "" {
		b = appendStringField(b, "location", a.Location)
	}
	b = appendIntField(b, "escalation", int64(a.Escalation))
	b = appendBoolField(b, "latched", a.Latched)
	b = appendBoolField(b, "cleared", a.Cleared)
	b = appendBoolField(b, "silenced", a.Silenced)
	b = appendBoolField(b, "inhibited", a.Inhibited)
	if !a.FiredAt.IsZero() {
		b = appendIntField(b, "fired_at", a.FiredAt.UnixMilli())
	}
	if a.AckedBy != "" {
		b = appendStringField(b, "acked_by", a.AckedBy)
	}
	if a.ResolvedBy != "" {
		b = appendStringField(b, "resolved_by", a.ResolvedBy)
	}
	if a.Reason != "" {
		b = appendStringField(b, "reason", a.Reason)
	}
	if n.Count > 1 {
		b = appendIntField(b, "group_count", int64(n.Count))
	}
	if n.Tier > 0 {
		b = appendIntField(b, "tier", int64(n.Tier))
	}
	b = append(b, ' ')
	b = strconv.AppendInt(b, stamp(at, hashUniq(n.ID, a.ID)), 10)
	return append(b, '\n')
}

// appendGateway renders the gateway's stats, with extra (the forwarder's own) added.
func (e *encoder) appendGateway(b []byte, g *GatewayStats, extra map[string]float64, now time.Time, uniq uint64) []byte {
	at := g.At
	if at.IsZero() {
		at = now
	}
	b = append(b, e.mGateway...)
	b = appendTag(b, "site", e.siteOr(g.Site))
	b = append(b, " uptime_s="...)
	b = appendFloat(b, g.Uptime.Seconds())
	for _, k := range sortedKeys(g.Queues) {
		b = appendIntField(b, "queue_"+k, int64(g.Queues[k]))
	}
	for _, k := range sortedKeys(g.Values) {
		if k != "uptime_s" && !strings.HasPrefix(k, "queue_") {
			b = appendFloatField(b, eventFieldKey(k), g.Values[k])
		}
	}
	for _, k := range sortedKeys(extra) {
		b = appendFloatField(b, k, extra[k])
	}
	b = append(b, ' ')
	b = strconv.AppendInt(b, stamp(at, uniq), 10)
	return append(b, '\n')
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Line protocol escaping. Backslashes in names and tag values become '/' (a trailing
// backslash would escape the separator after it); line breaks and tabs become spaces.

// appendMeasurement adds a measurement name: '=' needs no escape there.
func appendMeasurement(b []byte, s string) []byte { return appendEscaped(b, s, false) }

// appendKey adds a tag key, a tag value or a field key.
func appendKey(b []byte, s string) []byte { return appendEscaped(b, s, true) }

// appendEscaped adds s with commas and spaces escaped, and '=' when eq is set.
func appendEscaped(b []byte, s string, eq bool) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == ',' || c == ' ' || c == '=' && eq:
			b = append(b, '\\', c)
		case c == '\\':
			b = append(b, '/')
		case c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == '\v':
			b = append(b, '\\', ' ')
		default:
			b = append(b, c)
		}
	}
	return b
}

// appendTag adds ",key=value"; an empty value (not allowed in line protocol) adds nothing.
func appendTag(b []byte, key, val string) []byte {
	if val == "" {
		return b
	}
	b = append(b, ',')
	b = appendKey(b, key)
	b = append(b, '=')
	if !utf8.ValidString(val) {
		val = strings.ToValidUTF8(val, "\uFFFD")
	}
	return appendKey(b, val)
}

func appendStringField(b []byte, key, val string) []byte {
	b = append(b, ',')
	b = appendKey(b, key)
	b = append(b, '=', '"')
	if len(val) > maxString {
		cut := maxString
		for cut > 0 && !utf8.RuneStart(val[cut]) {
			cut--
		}
		val = val[:cut]
	}
	if !utf8.ValidString(val) {
		val = strings.ToValidUTF8(val, "\uFFFD")
	}
	for i := 0; i < len(val); i++ {
		switch c := val[i]; c {
		case '"', '\\':
			b = append(b, '\\', c)
		default:
			if c < 0x20 || c == 0x7f { // control characters (line breaks, tabs) become spaces
				b = append(b, ' ')
				continue
			}
			b = append(b, c)
		}
	}
	return append(b, '"')
}

func appendFloat(b []byte, v float64) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return append(b, '0')
	}
	return strconv.AppendFloat(b, v, 'f', -1, 64)
}

func appendFloatField(b []byte, key string, v float64) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return b
	}
	b = append(b, ',')
	b = appendKey(b, key)
	b = append(b, '=')
	return strconv.AppendFloat(b, v, 'f', -1, 64)
}

func appendIntField(b []byte, key string, v int64) []byte {
	b = append(b, ',')
	b = appendKey(b, key)
	b = append(b, '=')
	b = strconv.AppendInt(b, v, 10)
	return append(b, 'i')
}

func appendBoolField(b []byte, key string, v bool) []byte {
	b = append(b, ',')
	b = appendKey(b, key)
	b = append(b, '=')
	return strconv.AppendBool(b, v)
}
