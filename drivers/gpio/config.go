package gpio

import (
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/campusguard/campusguard/cfgerr"
	"github.com/campusguard/campusguard/event"
	"github.com/campusguard/campusguard/site"
)

// Defaults.
const (
	DefaultDebounce  = 20 * time.Millisecond
	DefaultHeartbeat = 60 * time.Second
	DefaultRetry     = 10 * time.Second
	DefaultMaxOn     = 3 * time.Minute
	maxDebounce      = 10 * time.Second
	maxHold          = time.Minute
	maxMaxOn         = time.Hour
)

// Config is the gpio section: the inputs and outputs of this gateway.
type Config struct {
	Inputs  []InputConfig  `mapstructure:"inputs"`
	Outputs []OutputConfig `mapstructure:"outputs"`
	// Heartbeat is how often an open, readable input sends a "heartbeat" event for
	// device health (0 = 60 s; negative = none).
	Heartbeat time.Duration `mapstructure:"heartbeat"`
	// Retry is how long the driver waits before it opens a faulty pin again (0 = 10 s).
	Retry time.Duration `mapstructure:"retry"`
}

// PinRef names a GPIO line: by gpioreg name (Pin) or by chip and line offset.
type PinRef struct {
	Pin  string `mapstructure:"pin"`  // gpioreg name: "GPIO17" or a kernel line name
	Chip string `mapstructure:"chip"` // chip name or label ("gpiochip0"), with Line
	Line int    `mapstructure:"line"` // line offset on Chip
}

// Name is the name the PinSource resolves: Pin, or "chip/line".
func (r PinRef) Name() string {
	if r.Chip != "" {
		return fmt.Sprintf("%s/%d", r.Chip, r.Line)
	}
	return r.Pin
}

func (r PinRef) validate(errs *cfgerr.List, key string) {
	switch {
	case r.Pin == "" && r.Chip == "":
		errs.Add(cfgerr.Join(key, "pin"), "is required (a pin name such as GPIO17, or chip and line)")
	case r.Pin != "" && r.Chip != "":
		errs.Add(cfgerr.Join(key, "chip"), "give either pin or chip and line, not both")
	case r.Chip != "" && r.Line < 0:
		errs.Add(cfgerr.Join(key, "line"), "line offset %d is negative", r.Line)
	}
}

// InputConfig is one dry-contact input.
type InputConfig struct {
	// Device is the device id in the devices list.
	Device string `mapstructure:"device"`
	// Kind is the device kind; Bind fills it from the devices list when empty.
	Kind   event.Kind `mapstructure:"kind"`
	PinRef `mapstructure:",squash"`
	// Contact is "no" (normally open: active when closed) or "nc" (normally closed:
	// active when open). Default "no".
	Contact string `mapstructure:"contact"`
	// ActiveLevel is the level the pin reads while the contact is closed: "low"
	// (contact to ground, pull-up; the default) or "high".
	ActiveLevel string `mapstructure:"active_level"`
	// Pull is the bias: "up", "down" or "none". Default: up for active_level low,
	// down for high.
	Pull string `mapstructure:"pull"`
	// Debounce is how long a level must be stable to count (0 = 20 ms; negative = none).
	Debounce time.Duration `mapstructure:"debounce"`
	// Hold is how long the device must stay active, from the edge, before it counts.
	Hold time.Duration `mapstructure:"hold"`
	// Latch is no longer an option: the driver reports the wire as it is, and alarms
	// latch in alerting until a person resets them. The field is kept only so that a
	// config still setting it gets a located error instead of a generic unknown key.
	Latch *bool `mapstructure:"latch"`
	// ActiveType and InactiveType are the event types sent; defaults by kind:
	// antifall → active/inactive, others → pressed/released.
	ActiveType   string `mapstructure:"active_type"`
	InactiveType string `mapstructure:"inactive_type"`
	// Supervision is an optional line-supervision input (tamper / cut / short).
	Supervision *SupervisionConfig `mapstructure:"supervision"`
}

// SupervisionConfig is a second input that reads the state of the device's line: a
// normally-closed tamper loop run beside the alarm pair, or the trouble output of an
// end-of-line module. While it reads TroubleLevel the device is in tamper: a
// "tamper" event (field "cause" = Cause) when it starts, "tamper_restore" when it ends.
// Tamper is reported whatever the arming state; it does not latch in the driver.
type SupervisionConfig struct {
	PinRef `mapstructure:",squash"`
	// TroubleLevel is the level that means trouble: "high" (default: a loop to ground
	// with a pull-up reads high when cut or opened) or "low".
	TroubleLevel string `mapstructure:"trouble_level"`
	// Pull is "up", "down" or "none"; default up for trouble_level high, else down.
	Pull string `mapstructure:"pull"`
	// Debounce as for the input (0 = the input's debounce; negative = none).
	Debounce time.Duration `mapstructure:"debounce"`
	// Cause names the trouble in the event: "cut", "short", "tamper", "line" (default).
	Cause string `mapstructure:"cause"`
}

// OutputConfig is one relay output (siren, strobe).
type OutputConfig struct {
	// ID is the output id alerting addresses (usually the siren's device id).
	ID     string `mapstructure:"id"`
	PinRef `mapstructure:",squash"`
	// ActiveLevel is the level that turns the relay on: "high" (default) or "low".
	ActiveLevel string `mapstructure:"active_level"`
	// Pattern is the default pattern: steady (default), pulse[:ON/OFF], sos[:UNIT].
	Pattern string `mapstructure:"pattern"`
	// MaxOn is the longest the output sounds for one trigger (0 = 3 min).
	MaxOn time.Duration `mapstructure:"max_on"`
	// ResoundAfter is no longer an option: the 30 s re-sound rule (GB 50394) belongs to
	// the alarm (alerting), not to the line. The field is kept only so that a config
	// still setting it gets a located error instead of a generic unknown key.
	ResoundAfter *time.Duration `mapstructure:"resound_after"`
}

// SetDefaults fills unset fields with their defaults.
func (c *Config) SetDefaults(cfgerr.Env) {
	if c.Heartbeat == 0 {
		c.Heartbeat = DefaultHeartbeat
	}
	if c.Retry <= 0 {
		c.Retry = DefaultRetry
	}
	for i := range c.Inputs {
		c.Inputs[i].SetDefaults()
	}
	for i := range c.Outputs {
		c.Outputs[i].SetDefaults()
	}
}

// SetDefaults fills unset fields with their defaults.
func (c *InputConfig) SetDefaults() {
	if c.Contact == "" {
		c.Contact = "no"
	}
	if c.ActiveLevel == "" {
		c.ActiveLevel = "low"
	}
	if c.Pull == "" {
		c.Pull = "up"
		if c.ActiveLevel == "high" {
			c.Pull = "down"
		}
	}
	if c.Debounce == 0 {
		c.Debounce = DefaultDebounce
	}
	if c.ActiveType == "" {
		c.ActiveType = event.TypePressed
		if c.Kind == event.KindAntiFall {
			c.ActiveType = event.TypeActive
		}
	}
	if c.InactiveType == "" {
		c.InactiveType = event.TypeReleased
		if c.Kind == event.KindAntiFall {
			c.InactiveType = event.TypeInactive
		}
	}
	if s := c.Supervision; s != nil {
		if s.TroubleLevel == "" {
			s.TroubleLevel = "high"
		}
		if s.Pull == "" {
			s.Pull = "up"
			if s.TroubleLevel == "low" {
				s.Pull = "down"
			}
		}
		if s.Debounce == 0 {
			s.Debounce = c.Debounce
		}
		if s.Cause == "" {
			s.Cause = "line"
		}
	}
}

// SetDefaults fills unset fields with their defaults.
func (c *OutputConfig) SetDefaults() {
	if c.ActiveLevel == "" {
		c.ActiveLevel = "high"
	}
	if c.Pattern == "" {
		c.Pattern = PatternSteady
	}
	if c.MaxOn == 0 {
		c.MaxOn = DefaultMaxOn
	}
}

var typeRe = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)

// ErrLatchOption is the config error for a gpio.inputs[].latch key.
var ErrLatchOption = errors.New("latch is no longer a GPIO option: alarms latch in alerting until a person resets them (GB 50394); remove this key")

// ErrResoundOption is the config error for a gpio.outputs[].resound_after key.
var ErrResoundOption = errors.New("resound_after is not a GPIO output setting: the 30 s re-sound rule belongs to the alarm; remove it")

// Validate records every problem of the section; keys are relative to it
// ("inputs[2].pin"). Call SetDefaults first.
func (c *Config) Validate(errs *cfgerr.List) {
	if c.Retry < time.Second && c.Retry != 0 {
		errs.Add("retry", "%s is below 1s", c.Retry)
	}
	pins := map[string]string{} // pin name → key that uses it
	usePin := func(key string, r PinRef) {
		n := r.Name()
		if n == "" {
			return
		}
		if other, dup := pins[n]; dup {
			errs.Add(key, "pin %q is also used by %s", n, other)
			return
		}
		pins[n] = key
	}
	devs := map[string]bool{}
	for i := range c.Inputs {
		in := &c.Inputs[i]
		key := cfgerr.Index("inputs", i)
		switch {
		case in.Device == "":
			errs.Add(key+".device", "is required (the device id from the devices list)")
		case !site.ValidID(in.Device):
			errs.Add(key+".device", "%q is not a valid device id", in.Device)
		case devs[in.Device]:
			errs.Add(key+".device", "device %q has two inputs", in.Device)
		}
		devs[in.Device] = true
		if in.Kind != "" && !in.Kind.Valid() {
			errs.Add(key+".kind", "unknown device kind %q", in.Kind)
		}
		in.PinRef.validate(errs, key)
		usePin(key+".pin", in.PinRef)
		oneOf(errs, key+".contact", in.Contact, "no", "nc")
		oneOf(errs, key+".active_level", in.ActiveLevel, "low", "high")
		oneOf(errs, key+".pull", in.Pull, "up", "down", "none")
		if in.Latch != nil {
			errs.Add(key+".latch", "%s", ErrLatchOption)
		}
		if in.Debounce > maxDebounce {
			errs.Add(key+".debounce", "%s is longer than %s", in.Debounce, maxDebounce)
		}
		if in.Hold < 0 || in.Hold > maxHold {
			errs.Add(key+".hold", "%s is outside 0..%s", in.Hold, maxHold)
		}
		if !typeRe.MatchString(in.ActiveType) {
			errs.Add(key+".active_type", "%q is not an event type (lower-case word)", in.ActiveType)
		}
		if !typeRe.MatchString(in.InactiveType) {
			errs.Add(key+".inactive_type", "%q is not an event type (lower-case word)", in.InactiveType)
		}
		if s := in.Supervision; s != nil {
			skey := key + ".supervision"
			s.PinRef.validate(errs, skey)
			usePin(skey+".pin", s.PinRef)
			oneOf(errs, skey+".trouble_level", s.TroubleLevel, "low", "high")
			oneOf(errs, skey+".pull", s.Pull, "up", "down", "none")
			if s.Debounce > maxDebounce {
				errs.Add(skey+".debounce", "%s is longer than %s", s.Debounce, maxDebounce)
			}
			if !typeRe.MatchString(s.Cause) {
				errs.Add(skey+".cause", "%q is not a lower-case word", s.Cause)
			}
		}
	}
	ids := map[string]bool{}
	for i := range c.Outputs {
		o := &c.Outputs[i]
		key := cfgerr.Index("outputs", i)
		site.CheckID(errs, key+".id", "output", o.ID, ids)
		o.PinRef.validate(errs, key)
		usePin(key+".pin", o.PinRef)
		oneOf(errs, key+".active_level", o.ActiveLevel, "low", "high")
		if _, err := ParsePattern(o.Pattern); err != nil {
			errs.Add(key+".pattern", "%v", err)
		}
		if o.MaxOn <= 0 || o.MaxOn > maxMaxOn {
			errs.Add(key+".max_on", "%s is outside 1ns..%s", o.MaxOn, maxMaxOn)
		}
		if o.ResoundAfter != nil {
			errs.Add(key+".resound_after", "%s", ErrResoundOption)
		}
	}
}

// Bind checks the inputs against the devices list (each input's device exists and
// uses driver gpio) and fills each input's Kind from its device. Call it before
// SetDefaults, so the event types follow the kind. Keys are relative to the section.
func (c *Config) Bind(dir *site.Directory, errs *cfgerr.List) {
	for i := range c.Inputs {
		in := &c.Inputs[i]
		key := cfgerr.Index("inputs", i)
		d := dir.Device(in.Device)
		if d == nil {
			if in.Device != "" {
				errs.Add(key+".device", "unknown device %q", in.Device)
			}
			continue
		}
		if d.Driver != "gpio" {
			errs.Add(key+".device", "device %q uses driver %q, not gpio", in.Device, d.Driver)
		}
		switch {
		case in.Kind == "":
			in.Kind = d.Kind
		case in.Kind != d.Kind:
			errs.Add(key+".kind", "%q differs from the device's kind %q", in.Kind, d.Kind)
		}
	}
}

func oneOf(errs *cfgerr.List, key, v string, allowed ...string) {
	for _, a := range allowed {
		if v == a {
			return
		}
	}
	errs.Add(key, "%q is not one of %v", v, allowed)
}
