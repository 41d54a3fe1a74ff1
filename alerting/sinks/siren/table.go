package siren

import (
	"fmt"
	"slices"
	"time"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/cfgerr"
)

// The default table's patterns: an alarm sounds steady, a trouble condition (a device
// fault, lost supervision, a cut line) chirps, so the duty guard hears which it is.
var (
	AlarmPattern = PatternConfig{Pattern: Steady}
	FaultPattern = PatternConfig{Pattern: Pulse, PulseOn: 200 * time.Millisecond, PulseOff: 1800 * time.Millisecond}
)

// LocalClasses are the alarm classes GB 50394 wants signalled on site by sound and
// light when they fire: each should have a route of the table.
var LocalClasses = []alerting.Class{alerting.ClassPanic, alerting.ClassIntrusion, alerting.ClassTamper,
	alerting.ClassFault, alerting.ClassOffline}

// DefaultRoutes is the signalling table of a sink that names outputs and no routes:
// panic, intrusion (anti-fall included) and tamper alarms of any severity sound every
// output steadily; faults and lost devices chirp every output (FaultPattern).
func DefaultRoutes(outputs []OutputConfig) []Route {
	ids := make([]string, 0, len(outputs))
	for _, o := range outputs {
		ids = append(ids, o.ID)
	}
	return []Route{
		{Classes: []alerting.Class{alerting.ClassPanic, alerting.ClassIntrusion, alerting.ClassTamper},
			Outputs: slices.Clone(ids), PatternConfig: AlarmPattern},
		{Classes: []alerting.Class{alerting.ClassFault, alerting.ClassOffline},
			Outputs: slices.Clone(ids), PatternConfig: FaultPattern},
	}
}

// Signalled reports whether some route can signal an alarm of class at all (whatever
// its zone, severity or schedule): routes without a class list signal every class.
func (c *Config) Signalled(class alerting.Class) bool {
	for i := range c.Routes {
		r := &c.Routes[i]
		if len(r.Outputs) > 0 && (len(r.Classes) == 0 || slices.Contains(r.Classes, class)) {
			return true
		}
	}
	return false
}

// Warnings lists, for `campusguard check`, the classes of LocalClasses that make no
// sound or light anywhere on site, and the routes that may stay silent for part of
// the day (a schedule). Call after SetDefaults.
func (c *Config) Warnings() []string {
	var out []string
	for _, cl := range LocalClasses {
		if !c.Signalled(cl) {
			out = append(out, fmt.Sprintf("routes: no route signals %s alarms on site (GB 50394: sound and light where an alarm fires); add %q to a route's classes", cl, cl))
		}
	}
	for i := range c.Routes {
		if r := &c.Routes[i]; r.Schedule != "" && r.MinSeverity != "" {
			out = append(out, fmt.Sprintf("%s: signals only %s and above while schedule %q is active", cfgerr.Index("routes", i), r.MinSeverity, r.Schedule))
		}
	}
	return out
}

// Notes records, for `campusguard check` (printed as notes, not refused), each class of
// LocalClasses that makes no sound or light anywhere on site and each route that stays
// silent for lower severities while its schedule is active; keys are relative to the
// siren section. Call after SetDefaults.
func (c *Config) Notes(n *cfgerr.List) {
	for _, cl := range LocalClasses {
		if !c.Signalled(cl) {
			n.Add("routes", "no route signals %s alarms on site (GB 50394: sound and light where an alarm fires); add %q to a route's classes", cl, cl)
		}
	}
	for i := range c.Routes {
		if r := &c.Routes[i]; r.Schedule != "" && r.MinSeverity != "" {
			n.Add(cfgerr.Index("routes", i), "signals only %s and above while schedule %q is active", r.MinSeverity, r.Schedule)
		}
	}
}

// CheckSchedules records routes that name a schedule the rules do not define; keys
// are relative to the siren section. known reports whether a schedule exists.
func (c *Config) CheckSchedules(known func(name string) bool, errs *cfgerr.List) {
	if known == nil {
		return
	}
	for i := range c.Routes {
		if r := &c.Routes[i]; r.Schedule != "" && !known(r.Schedule) {
			errs.Add(cfgerr.Index("routes", i)+".schedule", "unknown schedule %q (define it in the rules' schedules)", r.Schedule)
		}
	}
}
