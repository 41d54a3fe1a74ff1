package alerting

// This file is the contract the sinks and the rest of the daemon share.

import (
	"context"
	"time"

	"github.com/campusguard/campusguard/event"
)

// Severity of an alarm.
type Severity string

// Severities, most urgent first.
const (
	Critical Severity = "critical"
	Major    Severity = "major"
	Minor    Severity = "minor"
	Info     Severity = "info"
)

// Severities lists the valid severities, most urgent first.
var Severities = []Severity{Critical, Major, Minor, Info}

// Valid reports whether s is a known severity.
func (s Severity) Valid() bool {
	for _, v := range Severities {
		if s == v {
			return true
		}
	}
	return false
}

// Rank is 0 for critical, 3 for info (lower is more urgent).
func (s Severity) Rank() int {
	for i, v := range Severities {
		if s == v {
			return i
		}
	}
	return len(Severities)
}

// Trigger is what the rule engine hands to alerting: a rule instance started or
// stopped firing. The daemon converts the engine's output into Triggers.
type Trigger struct {
	Rule     string            // rule name
	Key      string            // rule instance key (device id, or the chosen label values)
	Firing   bool              // true: fire (or fire again); false: the rule's condition cleared
	At       time.Time         // when (event time, or the clock for timers)
	Severity Severity          // from the rule
	Labels   map[string]string // rule labels merged with the device's
	Message  string            // rendered message (Chinese or English)
	DeviceID string            // device the instance is about ("" for label-keyed instances)
	Event    *event.Event      // the event that caused it (nil for timer-driven ones)
	Reason   string            // why it resolved ("zone clear", "rule removed", ...)
	// Latch overrides the default latching of the alarm class (nil: use the default:
	// panic and intrusion alarms latch until a person resets them, GB 50394).
	Latch *bool
	// Class says what happened ("" = derived from the event and the device: see
	// ClassOf). A rule sets it with the label class.
	Class Class
	// Renotify asks for a repeat of an open alarm's notification; it never raises a
	// new alarm (a rule's renotify timer).
	Renotify bool
	// Occurrence marks a new trigger of an instance that is already firing (another
	// press of the same button): a record of its own on the open alarm.
	Occurrence bool
}

// Class is what happened, whatever the device that reported it: it decides the
// GB 50394 treatment (never disarmable, alarms armed or not, latching) and the police
// report's event code. A panic button's cut cable is a tamper, not a panic.
type Class string

// The alarm classes.
const (
	ClassPanic     Class = "panic"     // an emergency (one-key) button pressed: never disarmable, always reported
	ClassIntrusion Class = "intrusion" // a detector of an intrusion or anti-fall zone: latches
	ClassTamper    Class = "tamper"    // tamper switch, cut or shorted line: alarms armed or not
	ClassFault     Class = "fault"     // a device cannot be read or floods: alarms armed or not
	ClassOffline   Class = "offline"   // a device's supervision (heartbeat) is lost: alarms armed or not
	ClassLink      Class = "link"      // the police transmission path is lost or rejects reports
	ClassPatrol    Class = "patrol"    // electronic patrol: missed, late, unknown card
	ClassKitchen   Class = "kitchen"   // bright-kitchen camera detections
	ClassOther     Class = "other"     // anything else
)

// Classes lists the valid classes.
var Classes = []Class{ClassPanic, ClassIntrusion, ClassTamper, ClassFault, ClassOffline, ClassLink, ClassPatrol, ClassKitchen, ClassOther}

// Valid reports whether c is a known class.
func (c Class) Valid() bool {
	for _, v := range Classes {
		if c == v {
			return true
		}
	}
	return false
}

// State is an alarm's lifecycle state.
type State string

// The alarm states.
const (
	Firing       State = "firing"
	Acknowledged State = "acknowledged"
	Resolved     State = "resolved"
)

// Alarm is one alarm: one firing of one rule instance, from fire to resolve.
type Alarm struct {
	ID         string            `json:"id"` // stable, unique: receivers drop duplicates by it
	Rule       string            `json:"rule"`
	Key        string            `json:"key"`
	Site       string            `json:"site"`
	DeviceID   string            `json:"device,omitempty"`
	DeviceKind event.Kind        `json:"device_kind,omitempty"`
	Class      Class             `json:"class"` // what happened (panic, tamper, ...), see Class
	Zone       string            `json:"zone,omitempty"`
	Location   string            `json:"location,omitempty"`
	Severity   Severity          `json:"severity"`
	Labels     map[string]string `json:"labels,omitempty"`
	Message    string            `json:"message"`
	Fields     event.Fields      `json:"fields,omitempty"` // the triggering event's fields (snapshot URL...)
	State      State             `json:"state"`
	Escalation int               `json:"escalation"`         // 0 = not escalated; n = escalated to tier n
	Latched    bool              `json:"latched"`            // needs a person's reset; a cleared condition does not resolve it
	Cleared    bool              `json:"cleared"`            // the rule's condition has cleared (a latched alarm waits for reset)
	Silenced   bool              `json:"silenced,omitempty"` // notifications muted by a silence
	Inhibited  bool              `json:"inhibited,omitempty"`
	Disarmed   bool              `json:"disarmed,omitempty"` // raised in a disarmed zone: journaled, not notified
	Test       bool              `json:"test,omitempty"`     // raised in test mode (Contact ID 601/602, shown as a test)
	Count      int               `json:"count"`              // occurrences: how many times it was triggered while open (1 = the first)
	FiredAt    time.Time         `json:"fired_at"`
	LastAt     time.Time         `json:"last_at"`
	// PendingSince is when the alarm last came to need a person after an
	// acknowledgement (another occurrence): escalation counts from it (zero: FiredAt).
	PendingSince time.Time `json:"pending_since,omitzero"`
	AckedAt      time.Time `json:"acked_at,omitzero"`
	AckedBy      string    `json:"acked_by,omitempty"`
	AckNote      string    `json:"ack_note,omitempty"`
	ResolvedAt   time.Time `json:"resolved_at,omitzero"`
	ResolvedBy   string    `json:"resolved_by,omitempty"` // "rule" or the person who reset it
	Reason       string    `json:"reason,omitempty"`
}

// Transition names what happened to an alarm in a notification.
type Transition string

// The transitions sinks are told about.
const (
	Fired        Transition = "fired"
	Refired      Transition = "refired" // the instance fired again while open (re-notify)
	Acked        Transition = "acknowledged"
	Escalated    Transition = "escalated"
	ResolvedT    Transition = "resolved"
	ConditionEnd Transition = "cleared" // condition cleared, alarm still latched
)

// Notification is one message for one sink: an alarm's transition, or a group of
// alarms of the same kind collected into one message.
type Notification struct {
	// ID is stable across retries and restarts: receivers drop duplicates by it.
	ID         string     `json:"id"`
	Transition Transition `json:"transition"`
	Alarm      Alarm      `json:"alarm"`           // the alarm (the first, for a group)
	Group      []Alarm    `json:"group,omitempty"` // every alarm of a grouped notification
	Count      int        `json:"count"`           // alarms represented (1 unless grouped)
	At         time.Time  `json:"at"`
	Tier       int        `json:"tier,omitempty"` // contact tier for escalations
	// Occurrence is set on a Refired notification that is a new trigger of the alarm
	// (another press), not a reminder: the police link reports it as a new event.
	Occurrence bool `json:"occurrence,omitempty"`
	// Quiet is set on a new trigger of an alarm a person silenced less than
	// ResoundAfter ago: the local output keeps quiet (GB 50394, decided by the
	// alarm's policy, see Resounds). Sinks that sound nothing ignore it.
	Quiet bool `json:"quiet,omitempty"`
}

// Sink delivers notifications somewhere. Deliver returns nil only when the receiver
// has taken the notification (an MQTT PUBACK, an HTTP 2xx, a DC-09 ACK); the pipeline
// retries on error, from the journal, so Deliver must be idempotent per Notification.ID.
type Sink interface {
	Name() string
	Deliver(ctx context.Context, n Notification) error
}

// Waker is implemented by sinks that know when retrying is worth it before the
// back-off ends (the police link: a failed path answers again). The delivery worker
// retries at once when the channel fires.
type Waker interface {
	Wake() <-chan struct{}
}

// ViaSink is implemented by sinks that can say which receiver took a notification.
type ViaSink interface {
	Via(notificationID string) string
}

// OrderedSink is implemented by sinks whose receiver must get notifications strictly
// in commit order (the police link: in order per account), not critical first.
type OrderedSink interface {
	InOrder() bool
}

// Permanent wraps an error a sink knows retrying cannot fix (a DC-09 DUH, an HTTP 400):
// the pipeline records the delivery as rejected and stops retrying it.
type Permanent struct{ Err error }

func (p *Permanent) Error() string { return "permanent: " + p.Err.Error() }
func (p *Permanent) Unwrap() error { return p.Err }
