// Package event is campusguard's event model: the one type every driver produces and
// every consumer (rules, patrol, telemetry, console) reads.
//
// An Event says that something happened at one device of one site:
//
//   - Site is the campus id from the site config.
//   - DeviceID names the device (the id in the devices list); Kind is the device's kind:
//     panic, antifall, patrol, kitchen_camera, siren or system (the gateway itself).
//   - Type is what happened, a short lower-case word: "pressed", "released", "tamper",
//     "tamper_restore", "fault", "offline", "online", "heartbeat", "detection", "scan",
//     "state", ... The constants below name the ones drivers share; a decoder may emit
//     others from a vendor's payload.
//   - Fields carries the typed values of the event (confidence, detection name, card id,
//     supply voltage, snapshot URL...). A field's value is one of string, float64, int64,
//     bool or time.Time; Set normalises other numeric types and rejects the rest.
//   - DeviceTime is the device's own timestamp (zero when the device sent none);
//     ReceivedAt is the gateway's clock when the driver received it. Time returns the one
//     to trust for ordering and display.
//   - Seq is a monotonic sequence number assigned by the Bus when the event is published:
//     unique and increasing within one run of the daemon.
//   - Source names the driver that produced the event (gpio, mqtt, sim, health, patrol).
//
// Events are values: a consumer that keeps one must not modify its Fields map, which is
// shared by every consumer of the same event.
package event

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Kind is a device kind.
type Kind string

// The device kinds campusguard knows.
const (
	KindPanic         Kind = "panic"
	KindAntiFall      Kind = "antifall"
	KindPatrol        Kind = "patrol"
	KindKitchenCamera Kind = "kitchen_camera"
	KindSiren         Kind = "siren"
	KindSystem        Kind = "system"
)

// Kinds lists every valid kind, in a stable order.
var Kinds = []Kind{KindPanic, KindAntiFall, KindPatrol, KindKitchenCamera, KindSiren, KindSystem}

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool {
	for _, v := range Kinds {
		if k == v {
			return true
		}
	}
	return false
}

// Event types shared by drivers and rules.
const (
	TypePressed       = "pressed"        // a panic button or contact became active
	TypeReleased      = "released"       // ...and returned to normal
	TypeActive        = "active"         // a sensor (anti-fall beam, radar) detects presence
	TypeInactive      = "inactive"       // ...and the zone is clear again
	TypeTamper        = "tamper"         // tamper switch, cut or shorted line
	TypeTamperRestore = "tamper_restore" // the line or tamper switch is normal again
	TypeFault         = "fault"          // the driver cannot read the device (pin error...)
	TypeFaultRestore  = "fault_restore"  // the device reads again
	TypeOffline       = "offline"        // silent for longer than its heartbeat allows
	TypeOnline        = "online"         // reporting again
	TypeHeartbeat     = "heartbeat"      // a keep-alive with no other meaning
	TypeDetection     = "detection"      // a camera AI detection (field "detection")
	TypeScan          = "scan"           // a patrol checkpoint scan (fields "card", "checkpoint")
	TypeState         = "state"          // a device state report (fields hold the values)
	TypeReset         = "reset"          // a latched device was reset by hand
)

// Fields holds an event's typed values. See the package doc for the allowed types.
type Fields map[string]any

// Event is one thing that happened at one device.
type Event struct {
	Seq        uint64    `json:"seq"`
	Site       string    `json:"site"`
	DeviceID   string    `json:"device"`
	Kind       Kind      `json:"kind"`
	Type       string    `json:"type"`
	Fields     Fields    `json:"fields,omitempty"`
	DeviceTime time.Time `json:"device_time,omitzero"`
	ReceivedAt time.Time `json:"received_at"`
	Source     string    `json:"source,omitempty"`
}

// MaxClockSkew is how far a device's own timestamp may be from the gateway's receive
// time before Time stops trusting it (the gateway's records must be within ±30 s of
// standard time; a reader whose clock is further off is flagged, not believed).
const MaxClockSkew = 5 * time.Minute

// Time is the event's time for ordering and display: the device's timestamp when it
// has one within MaxClockSkew of the receive time, else the receive time.
func (e *Event) Time() time.Time {
	if e.DeviceTime.IsZero() {
		return e.ReceivedAt
	}
	d := e.DeviceTime.Sub(e.ReceivedAt)
	if d > MaxClockSkew || d < -MaxClockSkew {
		return e.ReceivedAt
	}
	return e.DeviceTime
}

// Set stores a field, normalising numbers: ints become int64, float32 becomes float64.
// It returns an error for a type outside the model.
func (f Fields) Set(key string, v any) error {
	n, err := Normalize(v)
	if err != nil {
		return fmt.Errorf("field %q: %w", key, err)
	}
	f[key] = n
	return nil
}

// Normalize converts v to one of the field types (string, float64, int64, bool, time.Time).
func Normalize(v any) (any, error) {
	switch x := v.(type) {
	case string, float64, int64, bool, time.Time:
		return x, nil
	case int:
		return int64(x), nil
	case int8:
		return int64(x), nil
	case int16:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case uint8:
		return int64(x), nil
	case uint16:
		return int64(x), nil
	case uint32:
		return int64(x), nil
	case uint:
		return int64(x), nil
	case uint64:
		return int64(x), nil
	case float32:
		return float64(x), nil
	default:
		return nil, fmt.Errorf("unsupported type %T", v)
	}
}

// String returns the field as a string ("" when absent or not a string).
func (f Fields) String(key string) string {
	s, _ := f[key].(string)
	return s
}

// Float returns a numeric field as float64.
func (f Fields) Float(key string) (float64, bool) {
	switch x := f[key].(type) {
	case float64:
		return x, true
	case int64:
		return float64(x), true
	}
	return 0, false
}

// Bool returns a bool field.
func (f Fields) Bool(key string) (bool, bool) {
	b, ok := f[key].(bool)
	return b, ok
}

// Clone returns a copy of f that the caller may modify.
func (f Fields) Clone() Fields {
	if f == nil {
		return nil
	}
	c := make(Fields, len(f))
	for k, v := range f {
		c[k] = v
	}
	return c
}

// String renders the event for logs: seq, device, type and sorted fields.
func (e Event) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "#%d %s/%s %s", e.Seq, e.Kind, e.DeviceID, e.Type)
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%v", k, e.Fields[k])
	}
	return b.String()
}
