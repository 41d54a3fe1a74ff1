package siren

import (
	"fmt"
	"slices"
	"time"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/cfgerr"
	"github.com/campusguard/campusguard/event"
	"github.com/campusguard/campusguard/site"
)

// Defaults applied by SetDefaults.
const (
	DefaultName     = "siren"
	DefaultMaxOn    = 3 * time.Minute
	DefaultPulseOn  = 500 * time.Millisecond
	DefaultPulseOff = 500 * time.Millisecond
	// MaxMaxOn bounds max_on: a sounder left on for hours is a fault, not an alarm.
	MaxMaxOn = time.Hour
)

// Mode is how an output sounds.
type Mode string

// The modes.
const (
	Steady Mode = "steady" // on for the whole on-time
	Pulse  Mode = "pulse"  // on for Pattern.On, off for Pattern.Off, repeated
)

// Pattern is what an output plays while it sounds.
type Pattern struct {
	Mode Mode
	On   time.Duration // pulse: on part of the period (0 for steady)
	Off  time.Duration // pulse: off part of the period (0 for steady)
}

// String is "steady" or "pulse 500ms/500ms".
func (p Pattern) String() string {
	if p.Mode == Pulse {
		return fmt.Sprintf("pulse %s/%s", p.On, p.Off)
	}
	return string(p.Mode)
}

// PatternConfig is the pattern and on-time part of an output or a route. In a route,
// zero values mean "the output's own".
type PatternConfig struct {
	Pattern  Mode          `mapstructure:"pattern"`   // steady | pulse
	PulseOn  time.Duration `mapstructure:"pulse_on"`  // pulse: on time ("500ms")
	PulseOff time.Duration `mapstructure:"pulse_off"` // pulse: off time
	MaxOn    time.Duration `mapstructure:"max_on"`    // longest the output sounds without a new trigger
}

// OutputConfig declares one output (a relay driving a sounder or a strobe).
type OutputConfig struct {
	ID            string `mapstructure:"id"` // the GPIO driver's output id
	PatternConfig `mapstructure:",squash"`
}

// Route is one row of the on-site signalling table: the alarms it matches (by class,
// zone, building, device kind, severity, and while a schedule is active) go to its
// outputs with its pattern and voice prompt. Empty match lists match everything. Every
// matching route adds its outputs (an output named by two routes takes the first's
// settings).
type Route struct {
	// Classes are the alarm classes (panic, intrusion, tamper, fault, offline, link,
	// patrol, kitchen, other) the route signals.
	Classes     []alerting.Class  `mapstructure:"classes"`
	Zones       []string          `mapstructure:"zones"`
	Buildings   []string          `mapstructure:"buildings"`
	DeviceKinds []event.Kind      `mapstructure:"device_kinds"`
	MinSeverity alerting.Severity `mapstructure:"min_severity"` // least urgent severity that sounds ("" = every)
	// Schedule limits the route to the times a schedule of the rules (rules/schedule:
	// school hours, nights, holidays with the calendar's make-up days) is active.
	Schedule string   `mapstructure:"schedule"`
	Outputs  []string `mapstructure:"outputs"` // output ids
	// Voice is the prompt an output with a voice player plays ("请立即离开阳台");
	// outputs without one (a plain relay) ignore it.
	Voice string `mapstructure:"voice"`
	// Pattern overrides for this route (zero: the output's own).
	PatternConfig `mapstructure:",squash"`
}

// Config is the siren sink's section.
type Config struct {
	Name string `mapstructure:"name"` // sink name (metrics label, health key); default "siren"
	// SilenceOnAck silences an alarm's outputs when the alarm is acknowledged.
	SilenceOnAck bool `mapstructure:"silence_on_ack"`
	// ResoundAfter is fixed by GB 50394 and owned by the alarm (alerting.ResoundAfter):
	// the key still loads, and any value but that one (or none) is refused with its
	// location.
	ResoundAfter time.Duration `mapstructure:"resound_after"`
	// SoundTests makes test-mode alarms sound too (default false: tests stay quiet).
	SoundTests bool           `mapstructure:"sound_tests"`
	Outputs    []OutputConfig `mapstructure:"outputs"`
	Routes     []Route        `mapstructure:"routes"`
}

// SetDefaults fills unset values. A sink with outputs and no routes gets the default
// signalling table (DefaultRoutes).
func (c *Config) SetDefaults(cfgerr.Env) {
	if c.Name == "" {
		c.Name = DefaultName
	}
	if len(c.Routes) == 0 && len(c.Outputs) > 0 {
		c.Routes = DefaultRoutes(c.Outputs)
	}
	for i := range c.Outputs {
		o := &c.Outputs[i]
		if o.Pattern == "" {
			o.Pattern = Steady
		}
		if o.MaxOn == 0 {
			o.MaxOn = DefaultMaxOn
		}
		if o.Pattern == Pulse {
			if o.PulseOn == 0 {
				o.PulseOn = DefaultPulseOn
			}
			if o.PulseOff == 0 {
				o.PulseOff = DefaultPulseOff
			}
		}
	}
}

// Validate records every problem; keys are relative to the siren section.
func (c *Config) Validate(errs *cfgerr.List) {
	if c.Name != "" && !site.ValidID(c.Name) {
		errs.Add("name", "%q is not a valid sink name (letters, digits, _ . - only)", c.Name)
	}
	if c.ResoundAfter != 0 && c.ResoundAfter != alerting.ResoundAfter {
		errs.Add("resound_after", "%s: the re-sound time is fixed at %s by GB 50394 and belongs to the alarm; remove this key", c.ResoundAfter, alerting.ResoundAfter)
	}
	ids := map[string]bool{}
	for i := range c.Outputs {
		o := &c.Outputs[i]
		key := cfgerr.Index("outputs", i)
		site.CheckID(errs, key+".id", "output", o.ID, ids)
		o.PatternConfig.validate(errs, key, false)
	}
	for i := range c.Routes {
		r := &c.Routes[i]
		key := cfgerr.Index("routes", i)
		if len(r.Outputs) == 0 {
			errs.Add(key+".outputs", "names no output")
		}
		for j, id := range r.Outputs {
			if !ids[id] {
				errs.Add(cfgerr.Index(key+".outputs", j), "unknown output %q", id)
			}
		}
		for j, k := range r.DeviceKinds {
			if !k.Valid() {
				errs.Add(cfgerr.Index(key+".device_kinds", j), "unknown device kind %q (want one of %v)", k, event.Kinds)
			}
		}
		for j, cl := range r.Classes {
			if !cl.Valid() {
				errs.Add(cfgerr.Index(key+".classes", j), "unknown alarm class %q (want one of %v)", cl, alerting.Classes)
			}
		}
		if r.Schedule != "" && !site.ValidID(r.Schedule) {
			errs.Add(key+".schedule", "%q is not a valid schedule name", r.Schedule)
		}
		if r.MinSeverity != "" && !r.MinSeverity.Valid() {
			errs.Add(key+".min_severity", "unknown severity %q (want one of %v)", r.MinSeverity, alerting.Severities)
		}
		r.PatternConfig.validate(errs, key, true)
	}
}

func (p *PatternConfig) validate(errs *cfgerr.List, key string, override bool) {
	switch p.Pattern {
	case Steady, Pulse:
	case "":
		if !override {
			errs.Add(key+".pattern", "is required (steady or pulse)")
		}
	default:
		errs.Add(key+".pattern", "unknown pattern %q (want steady or pulse)", p.Pattern)
	}
	if p.Pattern == Pulse && !override {
		if p.PulseOn <= 0 {
			errs.Add(key+".pulse_on", "must be positive for a pulse pattern")
		}
		if p.PulseOff <= 0 {
			errs.Add(key+".pulse_off", "must be positive for a pulse pattern")
		}
	}
	if p.PulseOn < 0 {
		errs.Add(key+".pulse_on", "must not be negative")
	}
	if p.PulseOff < 0 {
		errs.Add(key+".pulse_off", "must not be negative")
	}
	switch {
	case p.MaxOn < 0 || (p.MaxOn == 0 && !override):
		errs.Add(key+".max_on", "must be positive (the longest the output sounds)")
	case p.MaxOn > MaxMaxOn:
		errs.Add(key+".max_on", "%s is longer than the %s limit", p.MaxOn, MaxMaxOn)
	}
}

// CheckSite records routes that name zones or buildings the site does not have; keys
// are relative to the siren section.
func (c *Config) CheckSite(s *site.Site, errs *cfgerr.List) {
	if s == nil {
		return
	}
	for i, r := range c.Routes {
		key := cfgerr.Index("routes", i)
		for j, z := range r.Zones {
			if s.Zone(z) == nil {
				errs.Add(cfgerr.Index(key+".zones", j), "unknown zone %q", z)
			}
		}
		for j, b := range r.Buildings {
			if !slices.ContainsFunc(s.Buildings, func(x site.Building) bool { return x.ID == b }) {
				errs.Add(cfgerr.Index(key+".buildings", j), "unknown building %q", b)
			}
		}
	}
}

// setting is the resolved pattern and on-time for one output.
type setting struct {
	Pattern Pattern
	MaxOn   time.Duration
	Voice   string // the route's voice prompt ("" = none)
}

// resolve merges a route's overrides onto an output's settings.
func resolve(out PatternConfig, over PatternConfig) setting {
	p := out
	if over.Pattern != "" {
		p.Pattern = over.Pattern
		if over.Pattern == Pulse {
			if p.PulseOn == 0 {
				p.PulseOn = DefaultPulseOn
			}
			if p.PulseOff == 0 {
				p.PulseOff = DefaultPulseOff
			}
		}
	}
	if over.PulseOn > 0 {
		p.PulseOn = over.PulseOn
	}
	if over.PulseOff > 0 {
		p.PulseOff = over.PulseOff
	}
	if over.MaxOn > 0 {
		p.MaxOn = over.MaxOn
	}
	s := setting{Pattern: Pattern{Mode: p.Pattern}, MaxOn: p.MaxOn}
	if p.Pattern == Pulse {
		s.Pattern.On, s.Pattern.Off = p.PulseOn, p.PulseOff
	}
	return s
}

func (r *Route) matches(a *alerting.Alarm, building string) bool {
	if len(r.Classes) > 0 && !slices.Contains(r.Classes, a.Class) {
		return false
	}
	if len(r.Zones) > 0 && !slices.Contains(r.Zones, a.Zone) {
		return false
	}
	if len(r.Buildings) > 0 && (building == "" || !slices.Contains(r.Buildings, building)) {
		return false
	}
	if len(r.DeviceKinds) > 0 && !slices.Contains(r.DeviceKinds, a.DeviceKind) {
		return false
	}
	if r.MinSeverity != "" && a.Severity.Rank() > r.MinSeverity.Rank() {
		return false
	}
	return true
}
