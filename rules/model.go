package rules

import (
	"time"

	"github.com/campusguard/campusguard/event"
	"github.com/campusguard/campusguard/rules/schedule"
)

// Severity of a rule's alarms. The values match alerting.Severity; the daemon converts.
type Severity string

// The severities, most urgent first.
const (
	Critical Severity = "critical"
	Major    Severity = "major"
	Minor    Severity = "minor"
	Info     Severity = "info"
)

// Valid reports whether s is a known severity.
func (s Severity) Valid() bool {
	switch s {
	case Critical, Major, Minor, Info:
		return true
	}
	return false
}

// Form is a rule's temporal form.
type Form string

// The rule forms.
const (
	FormMatch   Form = "match"   // one matching event fires
	FormFor     Form = "for"     // the condition holds continuously for a duration
	FormCount   Form = "count"   // N matching events within a sliding window
	FormAbsence Form = "absence" // no matching event within a period or by a deadline
)

// Change is one state change of a rule instance: the engine's output. The daemon
// converts it to an alerting.Trigger (same field names).
type Change struct {
	Rule     string `json:"rule"`
	Key      string `json:"key"`
	Firing   bool   `json:"firing"`             // true: fire (or fire again); false: resolved
	Renotify bool   `json:"renotify,omitempty"` // a repeat of a firing instance (re-notify interval): never a new alarm
	// Occurrence marks a new matching event of an instance that is already firing
	// (another press of the same button): the alarm records it as an occurrence of its
	// own. Match rules only; an event with the field initial=true (a level read at
	// start) is no new occurrence.
	Occurrence bool              `json:"occurrence,omitempty"`
	At         time.Time         `json:"at"` // the engine time of the event, or the deadline for timers
	Severity   Severity          `json:"severity"`
	Labels     map[string]string `json:"labels,omitempty"` // device labels, overridden by rule labels, plus group_by values
	Message    string            `json:"message"`
	DeviceID   string            `json:"device,omitempty"` // "" when the rule is not keyed by device
	Event      *event.Event      `json:"event,omitempty"`  // the event that caused the change (nil for timers)
	Reason     string            `json:"reason,omitempty"` // why it resolved (or, for absence, why it fired)
	Latch      *bool             `json:"latch,omitempty"`  // the rule's latch override (nil: kind default)
}

// Rule is one loaded, compiled rule.
type Rule struct {
	Name        string
	Description string
	Severity    Severity
	Labels      map[string]string
	Form        Form
	Schedule    string        // "" = always active
	Renotify    time.Duration // 0 = never
	Latch       *bool
	File        string // where it was defined
	Line        int
	// Hash identifies the rule's content: Reload keeps the state of a rule whose name
	// and hash are unchanged.
	Hash string
	// Builtin is set for the rules every rule set carries (builtin.yaml): the panic
	// alarm and the police link's own alarms.
	Builtin bool

	spec ruleSpec
	c    *compiled
}

// RuleSet is a validated set of rules and the schedules they may refer to.
type RuleSet struct {
	Rules []*Rule
	// Schedules are the schedules defined in rule files merged with Options.Schedules.
	Schedules schedule.Config
	// Files are the files the set was loaded from.
	Files []string
}

// Rule returns the rule named name, or nil.
func (rs *RuleSet) Rule(name string) *Rule {
	if rs == nil {
		return nil
	}
	for _, r := range rs.Rules {
		if r.Name == name {
			return r
		}
	}
	return nil
}
