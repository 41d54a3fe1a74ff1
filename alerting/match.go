package alerting

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/campusguard/campusguard/event"
)

// Attribute names an alarm can be matched on besides its labels.
var Attributes = []string{"severity", "kind", "class", "zone", "device", "rule", "site", "key", "state"}

// Attr returns the alarm's value for name: one of Attributes, else the label name.
func Attr(a *Alarm, name string) string {
	switch name {
	case "severity":
		return string(a.Severity)
	case "kind":
		return string(a.DeviceKind)
	case "class":
		return string(a.Class)
	case "zone":
		return a.Zone
	case "device":
		return a.DeviceID
	case "rule":
		return a.Rule
	case "site":
		return a.Site
	case "key":
		return a.Key
	case "state":
		return string(a.State)
	}
	return a.Labels[name]
}

// Matchers select alarms by equality: attribute or label name → value. Every entry
// must match; an empty set matches every alarm.
type Matchers map[string]string

// Matches reports whether a has every name = value of m.
func (m Matchers) Matches(a *Alarm) bool {
	for k, v := range m {
		if Attr(a, k) != v {
			return false
		}
	}
	return true
}

// String is the matchers sorted, for logs and history: "device=cam-2,zone=kitchen".
func (m Matchers) String() string {
	parts := make([]string, 0, len(m))
	for k, v := range m {
		parts = append(parts, k+"="+v)
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// regexMatchers are compiled match_re entries (anchored).
type regexMatchers map[string]*regexp.Regexp

func compileRE(m map[string]string) (regexMatchers, error) {
	if len(m) == 0 {
		return nil, nil
	}
	out := make(regexMatchers, len(m))
	for k, v := range m {
		re, err := regexp.Compile("^(?:" + v + ")$")
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		out[k] = re
	}
	return out, nil
}

func (m regexMatchers) matches(a *Alarm) bool {
	for k, re := range m {
		if !re.MatchString(Attr(a, k)) {
			return false
		}
	}
	return true
}

// ClassOf says what a trigger is about: the trigger's own class, else the rule's
// label class, else the triggering event's type (tamper, fault, offline, the police
// link's path and rejection events), else the device's kind (a press of a panic
// button is a panic; an anti-fall detector reports intrusions).
func ClassOf(t *Trigger, kind event.Kind) Class {
	if t.Class.Valid() {
		return t.Class
	}
	if c := Class(t.Labels["class"]); c.Valid() {
		return c
	}
	var typ string
	if t.Event != nil {
		typ = t.Event.Type
		if t.Event.Kind != "" && kind == "" {
			kind = t.Event.Kind
		}
	}
	switch typ {
	case event.TypeTamper, event.TypeTamperRestore:
		return ClassTamper
	case event.TypeFault, event.TypeFaultRestore:
		return ClassFault
	case event.TypeOffline, event.TypeOnline:
		return ClassOffline
	case "path_fail", "path_restore", "report_rejected":
		return ClassLink
	}
	switch kind {
	case event.KindPanic:
		if typ == "" || typ == event.TypePressed || typ == event.TypeActive {
			return ClassPanic
		}
	case event.KindAntiFall:
		return ClassIntrusion
	case event.KindPatrol:
		return ClassPatrol
	case event.KindKitchenCamera:
		return ClassKitchen
	}
	return ClassOther
}
