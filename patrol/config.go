package patrol

import (
	"fmt"
	"strings"
	"time"

	"github.com/campusguard/campusguard/cfgerr"
	"github.com/campusguard/campusguard/event"
	"github.com/campusguard/campusguard/site"
)

// Defaults applied by SetDefaults.
const (
	DefaultTolerance       = 2 * time.Minute
	DefaultStartTolerance  = 10 * time.Minute
	DefaultDuplicateWindow = time.Minute
	DefaultClockDrift      = 30 * time.Second
	DefaultRetention       = 90 * 24 * time.Hour
)

// Route orders.
const (
	OrderStrict = "strict" // checkpoints must be scanned in route order
	OrderAny    = "any"    // any order; only the run's deadline counts
)

// Config is the patrol section of the gateway config.
type Config struct {
	Checkpoints []Checkpoint `mapstructure:"checkpoints"`
	Guards      []Guard      `mapstructure:"guards"`
	Routes      []Route      `mapstructure:"routes"`
	Plans       []Plan       `mapstructure:"plans"`
	// DuplicateWindow: a second scan of the same checkpoint with the same card within
	// this window is a duplicate and ignored (default 1m).
	DuplicateWindow time.Duration `mapstructure:"duplicate_window"`
	// ClockDrift: a reader whose own timestamp is further than this from the gateway's
	// receive time is reported (reader_clock_drift, at most once an hour per reader;
	// default 30s, GA/T 644).
	ClockDrift time.Duration `mapstructure:"clock_drift"`
	// Retention is how long finished run results are kept for reports (default 90 days).
	Retention time.Duration `mapstructure:"retention"`
	// Compliance is the site's policy: the key areas and their rounds a day (default:
	// every route, at least 5 rounds a day, GB/T 29315). See compliance.go.
	Compliance Compliance `mapstructure:"compliance"`
}

// Checkpoint is a place guards must visit.
type Checkpoint struct {
	ID       string `mapstructure:"id"`
	Name     string `mapstructure:"name"`
	Location string `mapstructure:"location"` // free text for staff: 教学楼东侧楼梯口
	Zone     string `mapstructure:"zone"`     // the site zone it is in (optional)
	// Tags are the tag ids a guard's reader reports for this checkpoint (its
	// "checkpoint" field). The checkpoint id itself always matches.
	Tags []string `mapstructure:"tags"`
	// Reader is a fixed reader's device id: a scan from this device (guard's card,
	// no or an unknown checkpoint field) is a scan of this checkpoint.
	Reader string `mapstructure:"reader"`
}

// Guard is a person who patrols.
type Guard struct {
	ID    string   `mapstructure:"id"`
	Name  string   `mapstructure:"name"`
	Cards []string `mapstructure:"cards"`
}

// Route is a list of checkpoints.
type Route struct {
	ID   string `mapstructure:"id"`
	Name string `mapstructure:"name"`
	// Order is "strict" (default) or "any".
	Order       string `mapstructure:"order"`
	Checkpoints []Stop `mapstructure:"checkpoints"`
}

// Stop is one checkpoint of a route. In YAML it is either a mapping
// ({checkpoint: CP-02, leg: 5m}) or a string "CP-02" / "CP-02 5m".
type Stop struct {
	Checkpoint string `mapstructure:"checkpoint"`
	// Leg is the expected time from the previous checkpoint (0 = no expectation; for
	// the first checkpoint it is ignored: the run starts there).
	Leg time.Duration `mapstructure:"leg"`
}

// UnmarshalText accepts the short form "CP-02" or "CP-02 5m".
func (s *Stop) UnmarshalText(b []byte) error {
	f := strings.Fields(string(b))
	switch len(f) {
	case 1:
		*s = Stop{Checkpoint: f[0]}
	case 2:
		d, err := time.ParseDuration(strings.TrimPrefix(f[1], "+"))
		if err != nil {
			return fmt.Errorf("stop %q: leg: %w", string(b), err)
		}
		*s = Stop{Checkpoint: f[0], Leg: d}
	default:
		return fmt.Errorf("stop %q: want \"CHECKPOINT\" or \"CHECKPOINT LEG\"", string(b))
	}
	return nil
}

// Plan says when a route is patrolled.
type Plan struct {
	ID    string `mapstructure:"id"`
	Name  string `mapstructure:"name"`
	Route string `mapstructure:"route"`
	// Times are fixed start times ("08:00", "12:30").
	Times []string `mapstructure:"times"`
	// Every, From and Until make recurring starts: every 2h from 20:00 until 06:00
	// (inclusive; across midnight when Until <= From; From = Until or both empty: the
	// whole day).
	Every time.Duration `mapstructure:"every"`
	From  string        `mapstructure:"from"`
	Until string        `mapstructure:"until"`
	// Days limits the plan to weekdays: "daily" (default), "mon-fri", "sat,sun".
	Days string `mapstructure:"days"`
	// Schedule names a schedule (rules schedules: "school-days") that must be active at
	// the start of the plan's window that day.
	Schedule string `mapstructure:"schedule"`
	// StartTolerance is how late after a start time the first scan may come (default
	// 10m); StartEarly how early (default: StartTolerance). "0s" is allowed for both.
	StartTolerance *time.Duration `mapstructure:"start_tolerance"`
	StartEarly     *time.Duration `mapstructure:"start_early"`
	// Tolerance is the ± window around a checkpoint's expected time (default 2m).
	Tolerance *time.Duration `mapstructure:"tolerance"`
	// Duration is how long the whole patrol may take (default: the route's legs plus
	// the tolerance). Required when the route has no leg times.
	Duration time.Duration `mapstructure:"duration"`
	// Order overrides the route's order: "strict" or "any" ("" = the route's).
	Order string `mapstructure:"order"`
}

// SetDefaults fills in the defaults.
func (c *Config) SetDefaults(cfgerr.Env) {
	if c.DuplicateWindow == 0 {
		c.DuplicateWindow = DefaultDuplicateWindow
	}
	if c.ClockDrift == 0 {
		c.ClockDrift = DefaultClockDrift
	}
	if c.Retention == 0 {
		c.Retention = DefaultRetention
	}
	c.Compliance.setDefaults(c.Routes)
	for i := range c.Routes {
		if c.Routes[i].Order == "" {
			c.Routes[i].Order = OrderStrict
		}
	}
	for i := range c.Plans {
		p := &c.Plans[i]
		if p.StartTolerance == nil {
			p.StartTolerance = dur(DefaultStartTolerance)
		}
		if p.StartEarly == nil {
			p.StartEarly = dur(*p.StartTolerance)
		}
		if p.Tolerance == nil {
			p.Tolerance = dur(DefaultTolerance)
		}
		if p.Days == "" {
			p.Days = "daily"
		}
	}
}

func dur(d time.Duration) *time.Duration { return &d }

// ScheduleRefs returns the schedule names plans refer to, by key path
// ("plans[1].schedule"), so the config loader can check them against the schedules.
func (c *Config) ScheduleRefs() map[string]string {
	out := map[string]string{}
	for i, p := range c.Plans {
		if p.Schedule != "" {
			out[cfgerr.Index("plans", i)+".schedule"] = p.Schedule
		}
	}
	return out
}

// Validate records every problem of the section in errs, with keys relative to the
// section ("plans[0].route"). dir (may be nil) is the site's devices and zones, for
// readers and zones. Call SetDefaults first.
func (c *Config) Validate(errs *cfgerr.List, dir *site.Directory) {
	if c.DuplicateWindow < 0 {
		errs.Add("duplicate_window", "must not be negative")
	}
	if c.ClockDrift < 0 {
		errs.Add("clock_drift", "must not be negative")
	}
	if c.Retention < 24*time.Hour {
		errs.Add("retention", "must be at least 24h (got %v)", c.Retention)
	}
	cps := c.validateCheckpoints(errs, dir)
	c.validateGuards(errs)
	routes := c.validateRoutes(errs, cps)
	plans := map[string]bool{}
	for i := range c.Plans {
		p := &c.Plans[i]
		key := cfgerr.Index("plans", i)
		site.CheckID(errs, key+".id", "plan", p.ID, plans)
		validatePlan(p, key, routes[p.Route], errs)
	}
	if dir != nil && errs.Len() == 0 {
		// The site's check (campusguard check, a load, a reload), once the plans are
		// valid: a tracker built from plans alone (tests, tools) runs whatever plans it
		// is given.
		c.validateCompliance(errs, routes)
	}
}

// validateCheckpoints checks ids, tags, readers and zones; it returns the checkpoint
// ids and their indices.
func (c *Config) validateCheckpoints(errs *cfgerr.List, dir *site.Directory) map[string]int {
	cps := map[string]int{}
	tags := map[string]string{}
	readers := map[string]string{}
	cpIDs := map[string]bool{}
	for i, cp := range c.Checkpoints {
		key := cfgerr.Index("checkpoints", i)
		site.CheckID(errs, key+".id", "checkpoint", cp.ID, cpIDs)
		cps[cp.ID] = i
		for _, t := range append([]string{cp.ID}, cp.Tags...) {
			n := norm(t)
			if n == "" {
				errs.Add(key+".tags", "a tag is empty")
				continue
			}
			if other, dup := tags[n]; dup && other != cp.ID {
				errs.Add(key+".tags", "tag %q is also checkpoint %q", t, other)
			}
			tags[n] = cp.ID
		}
		if cp.Reader != "" {
			if other, dup := readers[cp.Reader]; dup {
				errs.Add(key+".reader", "reader %q is also the reader of checkpoint %q", cp.Reader, other)
			}
			readers[cp.Reader] = cp.ID
			validateReader(errs, key, cp.Reader, dir)
		}
		if cp.Zone != "" && dir != nil && dir.Site != nil && dir.Site.Zone(cp.Zone) == nil {
			errs.Add(key+".zone", "unknown zone %q", cp.Zone)
		}
	}
	return cps
}

// validateReader checks that the fixed reader of checkpoint key is a patrol device of
// the site (dir nil: not checked).
func validateReader(errs *cfgerr.List, key, reader string, dir *site.Directory) {
	if dir == nil {
		return
	}
	d := dir.Device(reader)
	switch {
	case d == nil:
		errs.Add(key+".reader", "unknown device %q", reader)
	case d.Kind != event.KindPatrol:
		errs.Add(key+".reader", "device %q is a %s device, not a patrol reader", reader, d.Kind)
	}
}

// validateGuards checks guard ids and cards (each card belongs to one guard).
func (c *Config) validateGuards(errs *cfgerr.List) {
	guards := map[string]bool{}
	cards := map[string]string{}
	for i, g := range c.Guards {
		key := cfgerr.Index("guards", i)
		site.CheckID(errs, key+".id", "guard", g.ID, guards)
		if len(g.Cards) == 0 {
			errs.Add(key+".cards", "a guard needs at least one card")
		}
		for j, cd := range g.Cards {
			n := norm(cd)
			ck := cfgerr.Index(key+".cards", j)
			if n == "" {
				errs.Add(ck, "is empty")
				continue
			}
			if other, dup := cards[n]; dup {
				errs.Add(ck, "card %q is also guard %q's", cd, other)
			}
			cards[n] = g.ID
		}
	}
}

// validateRoutes checks the routes against the checkpoints cps; it returns the routes
// by id.
func (c *Config) validateRoutes(errs *cfgerr.List, cps map[string]int) map[string]*Route {
	routes := map[string]*Route{}
	routeIDs := map[string]bool{}
	for i := range c.Routes {
		r := &c.Routes[i]
		key := cfgerr.Index("routes", i)
		site.CheckID(errs, key+".id", "route", r.ID, routeIDs)
		routes[r.ID] = r
		if r.Order != OrderStrict && r.Order != OrderAny {
			errs.Add(key+".order", "unknown order %q (strict or any)", r.Order)
		}
		if len(r.Checkpoints) == 0 {
			errs.Add(key+".checkpoints", "a route needs at least one checkpoint")
		}
		seen := map[string]bool{}
		for j, s := range r.Checkpoints {
			sk := cfgerr.Index(key+".checkpoints", j)
			if _, ok := cps[s.Checkpoint]; !ok {
				errs.Add(sk+".checkpoint", "unknown checkpoint %q", s.Checkpoint)
			}
			if seen[s.Checkpoint] {
				errs.Add(sk+".checkpoint", "checkpoint %q is twice in the route", s.Checkpoint)
			}
			seen[s.Checkpoint] = true
			if s.Leg < 0 {
				errs.Add(sk+".leg", "must not be negative")
			}
		}
	}
	return routes
}

func validatePlan(p *Plan, key string, r *Route, errs *cfgerr.List) {
	if p.Route == "" {
		errs.Add(key+".route", "is required")
	} else if r == nil {
		errs.Add(key+".route", "unknown route %q", p.Route)
	}
	if p.Order != "" && p.Order != OrderStrict && p.Order != OrderAny {
		errs.Add(key+".order", "unknown order %q (strict or any)", p.Order)
	}
	for j, t := range p.Times {
		if _, err := parseClock(t, false); err != nil {
			errs.Add(cfgerr.Index(key+".times", j), "%v", err)
		}
	}
	if p.Every < 0 {
		errs.Add(key+".every", "must not be negative")
	}
	if p.Every == 0 && (p.From != "" || p.Until != "") {
		errs.Add(key+".every", "from/until need every (e.g. every: 2h)")
	}
	if p.From != "" {
		if _, err := parseClock(p.From, false); err != nil {
			errs.Add(key+".from", "%v", err)
		}
	}
	if p.Until != "" {
		if _, err := parseClock(p.Until, true); err != nil {
			errs.Add(key+".until", "%v", err)
		}
	}
	if len(p.Times) == 0 && p.Every == 0 {
		errs.Add(key, "the plan never runs: set times or every (with from/until)")
	}
	if _, err := parseDays(p.Days); err != nil {
		errs.Add(key+".days", "%v", err)
	}
	for name, d := range map[string]*time.Duration{"start_tolerance": p.StartTolerance, "start_early": p.StartEarly, "tolerance": p.Tolerance} {
		if d != nil && *d < 0 {
			errs.Add(key+"."+name, "must not be negative")
		}
	}
	if p.Duration < 0 {
		errs.Add(key+".duration", "must not be negative")
	}
	if r != nil && p.Duration == 0 {
		var legs time.Duration
		for i, s := range r.Checkpoints {
			if i > 0 {
				legs += s.Leg
			}
		}
		if legs == 0 {
			errs.Add(key+".duration", "route %q has no leg times: set the patrol's duration", r.ID)
		}
	}
	if p.Every > 0 && p.StartTolerance != nil && p.StartEarly != nil && *p.StartTolerance+*p.StartEarly >= p.Every {
		errs.Add(key+".start_tolerance", "start windows of consecutive patrols overlap: start_early + start_tolerance (%v) must be shorter than every (%v)",
			*p.StartTolerance+*p.StartEarly, p.Every)
	}
}

// norm normalises a card or tag id for lookup: trimmed, upper case.
func norm(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }

// parseClock parses "HH:MM" into minutes of the day; allow24 admits "24:00".
func parseClock(s string, allow24 bool) (int, error) {
	var h, m int
	if len(s) != 5 || s[2] != ':' {
		return 0, fmt.Errorf("time %q: want HH:MM", s)
	}
	for _, c := range s[:2] + s[3:] {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("time %q: want HH:MM", s)
		}
	}
	h = int(s[0]-'0')*10 + int(s[1]-'0')
	m = int(s[3]-'0')*10 + int(s[4]-'0')
	if m > 59 || h > 24 || (h == 24 && (m != 0 || !allow24)) {
		return 0, fmt.Errorf("time %q is out of range", s)
	}
	return h*60 + m, nil
}

var dayNames = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

func dayIndex(s string) int {
	for i, n := range dayNames {
		if s == n {
			return i
		}
	}
	return -1
}

// parseDays parses "daily", "*", "mon-fri", "sat,sun", "fri-mon" into a weekday mask
// (bit i = time.Weekday i).
func parseDays(s string) (uint8, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" || s == "daily" || s == "*" {
		return 0x7f, nil
	}
	var mask uint8
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "daily" || part == "*" {
			mask = 0x7f
			continue
		}
		a, b, isRange := strings.Cut(part, "-")
		from := dayIndex(strings.TrimSpace(a))
		if from < 0 {
			return 0, fmt.Errorf("days %q: unknown day %q (mon..sun, daily)", s, a)
		}
		to := from
		if isRange {
			to = dayIndex(strings.TrimSpace(b))
			if to < 0 {
				return 0, fmt.Errorf("days %q: unknown day %q (mon..sun, daily)", s, b)
			}
		}
		for d := from; ; d = (d + 1) % 7 {
			mask |= 1 << d
			if d == to {
				break
			}
		}
	}
	return mask, nil
}
