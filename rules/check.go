package rules

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"regexp"
	"strings"
	"time"

	"github.com/campusguard/campusguard/cfgerr"
	"github.com/campusguard/campusguard/event"
	"github.com/campusguard/campusguard/rules/schedule"
	"github.com/campusguard/campusguard/site"
)

// maxThreshold bounds count.threshold (the engine keeps that many timestamps per key).
const maxThreshold = 10000

var labelRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// checkRule validates one rule and compiles it; problems go to errs with keys under key.
func checkRule(spec *ruleSpec, key string, dir *site.Directory, cfg schedule.Config, errs *cfgerr.List) *Rule {
	k := func(s string) string { return cfgerr.Join(key, s) }
	sev := checkHead(spec, k, errs)
	form, ab := checkForm(spec, key, errs)
	checkResolve(spec, key, form, errs)
	if spec.Renotify < 0 {
		errs.Add(k("renotify"), "must be positive")
	} else if spec.Renotify > 0 && spec.Renotify < time.Minute {
		errs.Add(k("renotify"), "%v is shorter than the 1m minimum", spec.Renotify)
	}
	if spec.Schedule != "" {
		if _, ok := cfg[spec.Schedule]; !ok {
			errs.Add(k("schedule"), "unknown schedule %q", spec.Schedule)
		}
	}
	sel := checkSelect(spec, key, dir, errs)
	if spec.Schedule != "" && sel.mayPanic {
		errs.Add(k("schedule"), "selects panic buttons: emergency zones are never disarmable (GB 50394), a panic rule must not have a schedule")
	}
	groups := checkGroupBy(spec, key, dir, sel, errs)
	c := compileRule(spec, key, form, errs)
	if errs.Len() > 0 || c == nil {
		return nil
	}
	c.sel, c.groupBy, c.absence = sel, groups, ab
	if form == FormCount && spec.Resolve == "" && spec.ResolveAfter == 0 {
		c.resolveAfter = spec.Count.Window
	} else {
		c.resolveAfter = spec.ResolveAfter
	}
	h := sha256.New()
	_ = json.NewEncoder(h).Encode(spec)
	return &Rule{
		Name: spec.Name, Description: spec.Description, Severity: sev, Labels: spec.Labels,
		Form: form, Schedule: spec.Schedule, Renotify: spec.Renotify, Latch: spec.Latch,
		Hash: hex.EncodeToString(h.Sum(nil))[:16], spec: *spec, c: c,
	}
}

// checkHead checks the rule's name, severity and label names; k makes a key.
func checkHead(spec *ruleSpec, k func(string) string, errs *cfgerr.List) Severity {
	switch {
	case spec.Name == "":
		errs.Add(k("name"), "is required")
	case !site.ValidID(spec.Name):
		errs.Add(k("name"), "%q is not a valid rule name (letters, digits, _ . - only)", spec.Name)
	}
	sev := Severity(spec.Severity)
	if !sev.Valid() {
		errs.Add(k("severity"), "%q is not a severity (want critical, major, minor or info)", spec.Severity)
	}
	for n := range spec.Labels {
		if !labelRe.MatchString(n) {
			errs.Add(k("labels."+n), "label name %q is not valid (letters, digits, _)", n)
		}
	}
	return sev
}

// checkForm finds the rule's form from for, count and absence (at most one) and checks
// the one given.
func checkForm(spec *ruleSpec, key string, errs *cfgerr.List) (Form, absence) {
	k := func(s string) string { return cfgerr.Join(key, s) }
	form := FormMatch
	nforms := 0
	if spec.For != 0 {
		form, nforms = FormFor, nforms+1
		if spec.For < 0 {
			errs.Add(k("for"), "must be positive")
		}
	}
	if spec.Count != nil {
		form, nforms = FormCount, nforms+1
		if spec.Count.Threshold < 1 {
			errs.Add(k("count.threshold"), "must be at least 1")
		}
		if spec.Count.Window < time.Second {
			errs.Add(k("count.window"), "must be at least 1s (10m)")
		}
		if spec.Count.Threshold > maxThreshold {
			errs.Add(k("count.threshold"), "%d is more than the %d allowed", spec.Count.Threshold, maxThreshold)
		}
	}
	var ab absence
	if spec.Absence != nil {
		form, nforms = FormAbsence, nforms+1
		ab = checkAbsence(spec, k, errs)
	}
	if nforms > 1 {
		errs.Add(key, "set at most one of for, count and absence")
	}
	return form, ab
}

// checkAbsence checks and compiles an absence section; k makes a key.
func checkAbsence(spec *ruleSpec, k func(string) string, errs *cfgerr.List) absence {
	var ab absence
	a := spec.Absence
	switch {
	case a.Period > 0 && a.Deadline != "":
		errs.Add(k("absence"), "set period or deadline, not both")
	case a.Period < 0 || (a.Period > 0 && a.Period < time.Second):
		errs.Add(k("absence.period"), "must be at least 1s")
	case a.Period == 0 && a.Deadline == "":
		errs.Add(k("absence"), "needs period (5m) or deadline (\"21:30\")")
	}
	ab.period = a.Period
	if a.Deadline != "" {
		m, err := schedule.ParseClock(a.Deadline)
		if err != nil {
			errs.Add(k("absence.deadline"), "%v", err)
		}
		ab.deadline, ab.hasDeadline = m, true
		if a.From != "" {
			f, err := schedule.ParseClock(a.From)
			if err != nil {
				errs.Add(k("absence.from"), "%v", err)
			}
			if f == m {
				errs.Add(k("absence.from"), "from equals the deadline: the window is empty")
			}
			ab.from = f
		}
	} else if a.From != "" {
		errs.Add(k("absence.from"), "only applies with a deadline")
	}
	if spec.Resolve != "" {
		errs.Add(k("resolve"), "absence rules resolve when a matching event arrives; remove resolve")
	}
	if spec.ResolveAfter != 0 {
		errs.Add(k("resolve_after"), "does not apply to absence rules")
	}
	return ab
}

// checkResolve checks when, resolve and resolve_after against the rule's form.
func checkResolve(spec *ruleSpec, key string, form Form, errs *cfgerr.List) {
	k := func(s string) string { return cfgerr.Join(key, s) }
	if spec.When == "" && form != FormAbsence {
		errs.Add(k("when"), "is required (the condition, e.g. type == \"pressed\")")
	}
	switch form {
	case FormFor:
		if spec.Resolve == "" {
			errs.Add(k("resolve"), "a for rule needs resolve: the event that ends the condition (zone clear, door closed)")
		}
		if spec.ResolveAfter != 0 {
			errs.Add(k("resolve_after"), "does not apply to for rules (they resolve on resolve)")
		}
	case FormMatch:
		if spec.Resolve == "" && spec.ResolveAfter == 0 {
			errs.Add(key, "a match rule needs resolve or resolve_after, or it can fire only once")
		}
	}
	if spec.ResolveAfter < 0 {
		errs.Add(k("resolve_after"), "must be positive")
	}
}

// selector is a compiled select section.
type selector struct {
	devices, kinds, zones map[string]bool
	labels                map[string]string
	types                 map[string]bool // explicit select.types
	mayPanic              bool            // may select a panic button
}

func (s *selector) matchDevice(d *site.Device) bool {
	if s.devices != nil && !s.devices[d.ID] {
		return false
	}
	if s.kinds != nil && !s.kinds[string(d.Kind)] {
		return false
	}
	if s.zones != nil && !s.zones[d.Zone] {
		return false
	}
	for k, v := range s.labels {
		if d.Labels[k] != v {
			return false
		}
	}
	return true
}

func set(list []string) map[string]bool {
	if len(list) == 0 {
		return nil
	}
	m := make(map[string]bool, len(list))
	for _, s := range list {
		m[s] = true
	}
	return m
}

func checkSelect(spec *ruleSpec, key string, dir *site.Directory, errs *cfgerr.List) *selector {
	s := &selector{devices: set(spec.Select.Devices), kinds: set(spec.Select.Kinds), zones: set(spec.Select.Zones), labels: spec.Select.Labels, types: set(spec.Select.Types)}
	k := func(s string) string { return cfgerr.Join(key, "select."+s) }
	for i, kd := range spec.Select.Kinds {
		if !event.Kind(kd).Valid() {
			errs.Add(k(cfgerr.Index("kinds", i)), "unknown device kind %q (want one of %v)", kd, event.Kinds)
		}
	}
	for i, t := range spec.Select.Types {
		if t == "" || strings.ToLower(t) != t || strings.ContainsAny(t, " \t") {
			errs.Add(k(cfgerr.Index("types", i)), "event type %q is not valid (a lower-case word)", t)
		}
	}
	if dir == nil {
		// Without the site, only an explicit kind or an unrestricted selector is known to
		// reach panic buttons.
		s.mayPanic = s.kinds[string(event.KindPanic)] || (s.kinds == nil && s.devices == nil)
		return s
	}
	for i, id := range spec.Select.Devices {
		if dir.Device(id) == nil {
			errs.Add(k(cfgerr.Index("devices", i)), "unknown device %q", id)
		}
	}
	if dir.Site != nil {
		for i, z := range spec.Select.Zones {
			if dir.Site.Zone(z) == nil {
				errs.Add(k(cfgerr.Index("zones", i)), "unknown zone %q", z)
			}
		}
	}
	for name, v := range spec.Select.Labels {
		known, value := false, false
		for _, d := range dir.Devices() {
			if lv, ok := d.Labels[name]; ok {
				known = true
				value = value || lv == v
			}
		}
		switch {
		case !known:
			errs.Add(k("labels."+name), "no device has a label %q", name)
		case !value:
			errs.Add(k("labels."+name), "no device has %s=%q", name, v)
		}
	}
	n := 0
	for _, d := range dir.Devices() {
		if s.matchDevice(&d) {
			n++
			s.mayPanic = s.mayPanic || d.Kind == event.KindPanic
		}
	}
	if n == 0 && len(dir.Devices()) > 0 && errs.Len() == 0 {
		errs.Add(cfgerr.Join(key, "select"), "selects no device of the site")
	}
	return s
}

// groupKey is one element of group_by.
type groupKey struct {
	what  string // device, zone, kind, site, label
	label string
}

func checkGroupBy(spec *ruleSpec, key string, dir *site.Directory, sel *selector, errs *cfgerr.List) []groupKey {
	if spec.GroupBy == nil {
		return []groupKey{{what: "device"}}
	}
	out := make([]groupKey, 0, len(spec.GroupBy))
	for i, g := range spec.GroupBy {
		k := cfgerr.Join(key, cfgerr.Index("group_by", i))
		switch {
		case g == "device" || g == "zone" || g == "kind" || g == "site":
			out = append(out, groupKey{what: g})
		case strings.HasPrefix(g, "labels."):
			l := strings.TrimPrefix(g, "labels.")
			if dir != nil {
				found := false
				for _, d := range dir.Devices() {
					if _, ok := d.Labels[l]; ok && sel.matchDevice(&d) {
						found = true
						break
					}
				}
				if !found {
					errs.Add(k, "no selected device has a label %q", l)
				}
			}
			out = append(out, groupKey{what: "label", label: l})
		default:
			errs.Add(k, "%q: group by device, zone, kind, site or labels.NAME", g)
		}
	}
	return out
}
