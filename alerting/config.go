package alerting

import (
	"time"

	"github.com/campusguard/campusguard/cfgerr"
)

// Config defaults.
const (
	DefaultRetention     = 90 * 24 * time.Hour
	MinRetention         = 30 * 24 * time.Hour // records are kept at least 30 days (the records clause, docs/alerting.md)
	DefaultMaxSize       = 256 << 20
	DefaultGroupWait     = 30 * time.Second
	DefaultGroupInterval = 5 * time.Minute
	DefaultTimeout       = 10 * time.Second
	DefaultBackoffMin    = time.Second
	DefaultBackoffMax    = time.Minute
	DefaultPoliceSink    = "police"
)

// Config is the alerting section of the config file.
type Config struct {
	// Routes is the root of the routing tree (it matches every alarm unless it has
	// matchers of its own).
	Routes     Route           `mapstructure:"routes"`
	Escalation Escalation      `mapstructure:"escalation"`
	Silences   []StaticSilence `mapstructure:"silences"`
	Inhibit    []InhibitRule   `mapstructure:"inhibit"`
	// MandatorySinks never miss a panic alarm: silences, inhibition, arming and
	// routing do not apply to them for panic alarms (GB 50394: the police report).
	// Sinks whose Mandatory() method returns true are mandatory too.
	MandatorySinks []string    `mapstructure:"mandatory_sinks"`
	Local          LocalConfig `mapstructure:"local"`
	// Arming arms zones by the school calendar, with bounded overrides (arming.go).
	Arming   ArmingConfig   `mapstructure:"arming"`
	Delivery DeliveryConfig `mapstructure:"delivery"`
	// Retention is how long alarm history is kept (default 90 days, at least 30).
	Retention time.Duration `mapstructure:"retention"`
	// RetentionClasses keeps a class of records its own period instead of Retention
	// (0: Retention); none less than 30 days.
	RetentionClasses RetentionClasses `mapstructure:"retention_classes"`
	// MaxSize bounds the journal (bytes, default 256 MiB); health warns near it.
	MaxSize int64 `mapstructure:"max_size"`
	// JournalReserve is the disk space (bytes) the journal keeps for itself beside its
	// file: when the disk fills up, it gives it back and goes on recording alarms
	// (default 8 MiB; -1 = none).
	JournalReserve int64 `mapstructure:"journal_reserve"`
}

// Route is one node of the routing tree. An alarm walks down from the root: at each
// node the first matching child takes it (and the following children too when that
// child has continue: true); a node none of whose children match delivers to its own
// sinks. Sinks and the group and repeat settings are inherited from the parent when
// not set.
type Route struct {
	Match    Matchers          `mapstructure:"match"`    // attribute or label = value
	MatchRE  map[string]string `mapstructure:"match_re"` // attribute or label = anchored regexp
	Schedule string            `mapstructure:"schedule"` // only while this schedule is active
	Sinks    []string          `mapstructure:"sinks"`
	Continue bool              `mapstructure:"continue"`
	// GroupBy turns on grouping for non-critical alarms: alarms with the same values of
	// these attributes or labels are sent as one notification with a count.
	GroupBy        []string      `mapstructure:"group_by"`
	GroupWait      time.Duration `mapstructure:"group_wait"`      // wait before a new group's first notification (default 30s)
	GroupInterval  time.Duration `mapstructure:"group_interval"`  // between a group's notifications (default 5m)
	RepeatInterval time.Duration `mapstructure:"repeat_interval"` // re-notify an unacknowledged firing alarm (0 = never)
	Routes         []Route       `mapstructure:"routes"`
}

// Escalation says who is told when an alarm that needs acknowledgement is not
// acknowledged in time.
type Escalation struct {
	// RequireAck lists the severities that need acknowledgement (default [critical]).
	RequireAck []Severity `mapstructure:"require_ack"`
	// Tiers, in order; each After counts from the alarm's firing and must grow.
	Tiers []Tier `mapstructure:"tiers"`
	// Police adds the police sink to the last tier's escalation.
	Police     bool   `mapstructure:"police"`
	PoliceSink string `mapstructure:"police_sink"` // default "police"
}

// Tier is one escalation step.
type Tier struct {
	After time.Duration `mapstructure:"after"`
	Sinks []string      `mapstructure:"sinks"`
}

// StaticSilence is a silence from the config file: a window (RFC 3339 start and
// end, either optional) and/or a named schedule during which matching alarms are not
// notified (a weekly fire drill, a known maintenance window).
type StaticSilence struct {
	Matchers Matchers `mapstructure:"matchers"`
	Start    string   `mapstructure:"start"`
	End      string   `mapstructure:"end"`
	Schedule string   `mapstructure:"schedule"`
	Reason   string   `mapstructure:"reason"`
}

// InhibitRule mutes target alarms while a source alarm is open: both match their
// matchers and have the same values of every Equal attribute or label (e.g. device).
type InhibitRule struct {
	SourceMatch Matchers `mapstructure:"source_match"`
	TargetMatch Matchers `mapstructure:"target_match"`
	Equal       []string `mapstructure:"equal"`
}

// RetentionClasses are the retention periods per record class: alarms and their
// lifecycle, what people did (acknowledge, reset, silence, arm, log in), patrol alarms,
// device faults (tamper, fault, offline, link).
type RetentionClasses struct {
	Alarm    time.Duration `mapstructure:"alarm"`
	Operator time.Duration `mapstructure:"operator"`
	Patrol   time.Duration `mapstructure:"patrol"`
	Fault    time.Duration `mapstructure:"fault"`
}

// LocalConfig selects the alarms that sound the local output (siren) at once.
type LocalConfig struct {
	// Severities that sound (default [critical]); panic alarms always sound.
	Severities []Severity `mapstructure:"severities"`
}

// DeliveryConfig tunes the per-sink delivery workers.
type DeliveryConfig struct {
	Timeout    time.Duration `mapstructure:"timeout"`     // per Deliver call (default 10s)
	BackoffMin time.Duration `mapstructure:"backoff_min"` // first retry delay (default 1s)
	BackoffMax time.Duration `mapstructure:"backoff_max"` // retry delay cap (default 1m)
}

// SetDefaults fills unset values.
func (c *Config) SetDefaults(cfgerr.Env) {
	if c.Retention == 0 {
		c.Retention = DefaultRetention
	}
	if c.MaxSize == 0 {
		c.MaxSize = DefaultMaxSize
	}
	if c.Escalation.RequireAck == nil {
		c.Escalation.RequireAck = []Severity{Critical}
	}
	if c.Escalation.PoliceSink == "" {
		c.Escalation.PoliceSink = DefaultPoliceSink
	}
	if c.Local.Severities == nil {
		c.Local.Severities = []Severity{Critical}
	}
	c.Arming.setDefaults()
	if c.Delivery.Timeout == 0 {
		c.Delivery.Timeout = DefaultTimeout
	}
	if c.Delivery.BackoffMin == 0 {
		c.Delivery.BackoffMin = DefaultBackoffMin
	}
	if c.Delivery.BackoffMax == 0 {
		c.Delivery.BackoffMax = DefaultBackoffMax
	}
}

// Validate records every problem with its key path relative to the alerting section.
func (c *Config) Validate(errs *cfgerr.List) {
	if c.Retention < MinRetention {
		errs.Add("retention", "%s is shorter than the 30 days records must be kept", c.Retention)
	}
	rc := c.RetentionClasses
	for _, x := range []struct {
		key string
		d   time.Duration
	}{{"alarm", rc.Alarm}, {"operator", rc.Operator}, {"patrol", rc.Patrol}, {"fault", rc.Fault}} {
		if x.d != 0 && x.d < MinRetention {
			errs.Add("retention_classes."+x.key, "%s is shorter than the 30 days records must be kept", x.d)
		}
	}
	if c.MaxSize < 1<<20 {
		errs.Add("max_size", "%d bytes is too small (at least 1 MiB)", c.MaxSize)
	}
	c.Routes.validate("routes", errs)
	for i, s := range c.Escalation.RequireAck {
		if !s.Valid() {
			errs.Add(cfgerr.Index("escalation.require_ack", i), "unknown severity %q", s)
		}
	}
	var prev time.Duration
	for i, t := range c.Escalation.Tiers {
		key := cfgerr.Index("escalation.tiers", i)
		if t.After <= 0 {
			errs.Add(key+".after", "must be positive")
		} else if t.After <= prev {
			errs.Add(key+".after", "%s must be later than the previous tier's %s", t.After, prev)
		}
		prev = t.After
		if len(t.Sinks) == 0 && !(c.Escalation.Police && i == len(c.Escalation.Tiers)-1) {
			errs.Add(key+".sinks", "a tier needs at least one sink")
		}
	}
	if c.Escalation.Police && len(c.Escalation.Tiers) == 0 {
		errs.Add("escalation.police", "needs at least one tier (the police are told at the last one)")
	}
	for i, s := range c.Silences {
		key := cfgerr.Index("silences", i)
		if len(s.Matchers) == 0 {
			errs.Add(key+".matchers", "a silence needs at least one matcher")
		}
		var st, en time.Time
		var err error
		if s.Start != "" {
			if st, err = time.Parse(time.RFC3339, s.Start); err != nil {
				errs.Add(key+".start", "%q is not an RFC 3339 time (2026-11-20T09:00:00+08:00)", s.Start)
			}
		}
		if s.End != "" {
			if en, err = time.Parse(time.RFC3339, s.End); err != nil {
				errs.Add(key+".end", "%q is not an RFC 3339 time (2026-11-20T11:00:00+08:00)", s.End)
			}
		}
		if !st.IsZero() && !en.IsZero() && !en.After(st) {
			errs.Add(key+".end", "ends before it starts")
		}
		if s.Start == "" && s.End == "" && s.Schedule == "" {
			errs.Add(key, "needs a start/end window or a schedule")
		}
		if s.Reason == "" {
			errs.Add(key+".reason", "is required (it is shown to staff and journaled)")
		}
	}
	for i, r := range c.Inhibit {
		key := cfgerr.Index("inhibit", i)
		if len(r.SourceMatch) == 0 {
			errs.Add(key+".source_match", "needs at least one matcher")
		}
		if len(r.TargetMatch) == 0 {
			errs.Add(key+".target_match", "needs at least one matcher")
		}
	}
	c.Arming.validate(errs)
	for i, s := range c.Local.Severities {
		if !s.Valid() {
			errs.Add(cfgerr.Index("local.severities", i), "unknown severity %q", s)
		}
	}
	if c.Delivery.Timeout < 0 {
		errs.Add("delivery.timeout", "must not be negative")
	}
	if c.Delivery.BackoffMin < 0 {
		errs.Add("delivery.backoff_min", "must not be negative")
	}
	if c.Delivery.BackoffMax < c.Delivery.BackoffMin {
		errs.Add("delivery.backoff_max", "must not be shorter than backoff_min")
	}
}

func (r *Route) validate(key string, errs *cfgerr.List) {
	if v, ok := r.Match["severity"]; ok && !Severity(v).Valid() {
		errs.Add(key+".match.severity", "unknown severity %q", v)
	}
	for k, v := range r.MatchRE {
		if _, err := compileRE(map[string]string{k: v}); err != nil {
			errs.Add(key+".match_re."+k, "bad regular expression: %v", err)
		}
	}
	if r.GroupWait < 0 {
		errs.Add(key+".group_wait", "must not be negative")
	}
	if r.GroupInterval < 0 {
		errs.Add(key+".group_interval", "must not be negative")
	}
	if r.RepeatInterval < 0 {
		errs.Add(key+".repeat_interval", "must not be negative")
	}
	for i := range r.Routes {
		r.Routes[i].validate(cfgerr.Index(key+".routes", i), errs)
	}
}

// ValidateSinks checks that every sink the config names is one of known (the sink
// names the daemon has configured).
func (c *Config) ValidateSinks(known []string, errs *cfgerr.List) {
	set := map[string]bool{}
	for _, k := range known {
		set[k] = true
	}
	check := func(key string, names []string) {
		for i, n := range names {
			if !set[n] {
				errs.Add(cfgerr.Index(key, i), "unknown sink %q (known: %v)", n, known)
			}
		}
	}
	var walk func(key string, r *Route)
	walk = func(key string, r *Route) {
		check(key+".sinks", r.Sinks)
		for i := range r.Routes {
			walk(cfgerr.Index(key+".routes", i), &r.Routes[i])
		}
	}
	walk("routes", &c.Routes)
	for i, t := range c.Escalation.Tiers {
		check(cfgerr.Index("escalation.tiers", i)+".sinks", t.Sinks)
	}
	check("mandatory_sinks", c.MandatorySinks)
	if c.Escalation.Police && !set[c.Escalation.PoliceSink] {
		errs.Add("escalation.police_sink", "unknown sink %q", c.Escalation.PoliceSink)
	}
}
