package patrol

import (
	"fmt"
	"hash/fnv"
	"sort"
	"time"

	"github.com/campusguard/campusguard/cfgerr"
)

// Days says whether a named schedule is active at t (rules/schedule.Set satisfies it).
type Days interface {
	Active(name string, t time.Time) bool
}

// compiled is a validated Config indexed for the hot path.
type compiled struct {
	cfg         Config
	checkpoints map[string]*Checkpoint // id
	tags        map[string]string      // normalised tag/id -> checkpoint id
	readers     map[string]string      // reader device id -> checkpoint id
	guards      map[string]*Guard      // id
	cards       map[string]string      // normalised card -> guard id
	routes      map[string]*Route
	plans       []*cplan
}

// cplan is a plan with its route and parsed times.
type cplan struct {
	Plan
	route      *Route
	ordered    bool
	times      []int // minutes of the day
	from, to   int   // every-window, minutes; to may be <= from (overnight)
	fullDay    bool  // from == until: the whole day, end exclusive
	days       uint8
	startTol   time.Duration
	startEarly time.Duration
	tolerance  time.Duration
	hash       string
	stopIndex  map[string]int
}

func compile(cfg Config) (*compiled, error) {
	cfg.SetDefaults(cfgerr.Env{})
	errs := &cfgerr.List{}
	cfg.Validate(errs, nil)
	if err := errs.Err(); err != nil {
		return nil, fmt.Errorf("patrol config: %w", err)
	}
	c := &compiled{
		cfg:         cfg,
		checkpoints: map[string]*Checkpoint{},
		tags:        map[string]string{},
		readers:     map[string]string{},
		guards:      map[string]*Guard{},
		cards:       map[string]string{},
		routes:      map[string]*Route{},
	}
	for i := range cfg.Checkpoints {
		cp := &cfg.Checkpoints[i]
		c.checkpoints[cp.ID] = cp
		c.tags[norm(cp.ID)] = cp.ID
		for _, t := range cp.Tags {
			c.tags[norm(t)] = cp.ID
		}
		if cp.Reader != "" {
			c.readers[cp.Reader] = cp.ID
		}
	}
	for i := range cfg.Guards {
		g := &cfg.Guards[i]
		c.guards[g.ID] = g
		for _, cd := range g.Cards {
			c.cards[norm(cd)] = g.ID
		}
	}
	for i := range cfg.Routes {
		c.routes[cfg.Routes[i].ID] = &cfg.Routes[i]
	}
	for i := range cfg.Plans {
		p := cfg.Plans[i]
		cp := &cplan{Plan: p, route: c.routes[p.Route], stopIndex: map[string]int{}}
		order := p.Order
		if order == "" {
			order = cp.route.Order
		}
		cp.ordered = order == OrderStrict
		for _, t := range p.Times {
			m, _ := parseClock(t, false)
			cp.times = append(cp.times, m)
		}
		sort.Ints(cp.times)
		if p.Every > 0 {
			if p.From != "" {
				cp.from, _ = parseClock(p.From, false)
			}
			cp.to = cp.from
			if p.Until != "" {
				cp.to, _ = parseClock(p.Until, true)
			}
			cp.fullDay = cp.to == cp.from
		}
		cp.days, _ = parseDays(p.Days)
		cp.startTol, cp.startEarly, cp.tolerance = *p.StartTolerance, *p.StartEarly, *p.Tolerance
		for j, s := range cp.route.Checkpoints {
			cp.stopIndex[s.Checkpoint] = j
		}
		h := fnv.New64a()
		fmt.Fprintf(h, "%s|%v|%v|%v|", cp.route.ID, cp.ordered, cp.tolerance, p.Duration)
		for _, s := range cp.route.Checkpoints {
			fmt.Fprintf(h, "%s/%v|", s.Checkpoint, s.Leg)
		}
		cp.hash = fmt.Sprintf("%016x", h.Sum64())
		c.plans = append(c.plans, cp)
	}
	return c, nil
}

func (c *compiled) plan(id string) *cplan {
	for _, p := range c.plans {
		if p.ID == id {
			return p
		}
	}
	return nil
}

// slot is one scheduled start of a plan.
type slot struct {
	plan *cplan
	at   time.Time // scheduled start
	day  string    // the day the plan's window starts on (YYYY-MM-DD): the report day
}

func (s slot) id() string { return s.plan.ID + "@" + s.at.Format("2006-01-02T15:04") }

func (s slot) windowStart() time.Time { return s.at.Add(-s.plan.startEarly) }
func (s slot) windowEnd() time.Time   { return s.at.Add(s.plan.startTol) }

func (s slot) contains(t time.Time) bool {
	return !t.Before(s.windowStart()) && !t.After(s.windowEnd())
}

// slots returns the plan's scheduled starts at or after from and before to, in order.
func (p *cplan) slots(from, to time.Time, loc *time.Location, days Days) []slot {
	var out []slot
	f := from.In(loc)
	// Start two days early: an overnight window that began the day before still yields.
	d0 := time.Date(f.Year(), f.Month(), f.Day()-2, 0, 0, 0, 0, loc)
	for d := d0; d.Before(to); d = time.Date(d.Year(), d.Month(), d.Day()+1, 0, 0, 0, 0, loc) {
		if p.days&(1<<uint(d.Weekday())) == 0 {
			continue
		}
		day := d.Format(time.DateOnly)
		at := func(min int) time.Time {
			return time.Date(d.Year(), d.Month(), d.Day(), min/60, min%60, 0, 0, loc)
		}
		for _, m := range p.times {
			t := at(m)
			if !t.Before(from) && t.Before(to) && p.scheduleOK(days, t) {
				out = append(out, slot{plan: p, at: t, day: day})
			}
		}
		if p.Every > 0 {
			ws := at(p.from)
			we := at(p.to)
			if !we.After(ws) {
				we = time.Date(d.Year(), d.Month(), d.Day()+1, p.to/60, p.to%60, 0, 0, loc)
			}
			if we.Before(from) || !ws.Before(to) || !p.scheduleOK(days, ws) {
				continue
			}
			for t := ws; t.Before(we) || (!p.fullDay && t.Equal(we)); t = t.Add(p.Every) {
				if !t.Before(from) && t.Before(to) {
					out = append(out, slot{plan: p, at: t, day: day})
				}
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].at.Before(out[j].at) })
	// Drop duplicates (a fixed time that is also a recurring start).
	k := 0
	for i := range out {
		if k > 0 && out[k-1].at.Equal(out[i].at) {
			continue
		}
		out[k] = out[i]
		k++
	}
	return out[:k]
}

func (p *cplan) scheduleOK(days Days, t time.Time) bool {
	if p.Schedule == "" || days == nil {
		return true
	}
	return days.Active(p.Schedule, t)
}

// maxWindow is the longest start window of any plan (for slot look-ups).
func (c *compiled) maxWindow() time.Duration {
	var m time.Duration
	for _, p := range c.plans {
		if w := p.startEarly + p.startTol; w > m {
			m = w
		}
	}
	return m
}
