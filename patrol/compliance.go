package patrol

import (
	"fmt"
	"slices"
	"time"

	"github.com/campusguard/campusguard/cfgerr"
	"github.com/campusguard/campusguard/event"
)

// DefaultMinRounds is the rounds a day of each key area GB/T 29315 asks for: the
// security staff patrol the key parts and areas at least 5 times a day.
const DefaultMinRounds = 5

// DefaultAreaID names the one key area of a site that lists none: every route.
const DefaultAreaID = "key-areas"

// Compliance is the site's patrol policy (patrol.compliance): the key areas and the
// rounds a day each must be patrolled.
type Compliance struct {
	// MinRounds is the default of the areas' min_rounds (default 5, GB/T 29315).
	MinRounds int `mapstructure:"min_rounds"`
	// Areas are the key areas. None: one area, "key-areas" (重点部位), made of every
	// route.
	Areas []Area `mapstructure:"areas"`
}

// Area is a key area: a round of any of its routes that is completed counts as one
// round of the area.
type Area struct {
	ID        string   `mapstructure:"id"`
	Name      string   `mapstructure:"name"`
	Routes    []string `mapstructure:"routes"`
	MinRounds int      `mapstructure:"min_rounds"` // 0: compliance.min_rounds
}

func (c *Compliance) setDefaults(routes []Route) {
	if c.MinRounds == 0 {
		c.MinRounds = DefaultMinRounds
	}
	if len(c.Areas) == 0 && len(routes) > 0 {
		a := Area{ID: DefaultAreaID, Name: "重点部位"}
		for _, r := range routes {
			a.Routes = append(a.Routes, r.ID)
		}
		c.Areas = []Area{a}
	}
	for i := range c.Areas {
		if c.Areas[i].MinRounds == 0 {
			c.Areas[i].MinRounds = c.MinRounds
		}
		if c.Areas[i].Name == "" {
			c.Areas[i].Name = c.Areas[i].ID
		}
	}
}

var weekdayNames = [7]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}

// validateCompliance checks the policy and that the plans give every key area its
// rounds on every day of the week (a plan's schedule, such as school days only, is not
// counted against it: a holiday is the school's call). The error is located at the
// area's first plan.
func (c *Config) validateCompliance(errs *cfgerr.List, routes map[string]*Route) {
	if c.Compliance.MinRounds < 1 {
		errs.Add("compliance.min_rounds", "must be at least 1 (GB/T 29315 asks for %d a day)", DefaultMinRounds)
	}
	ids := map[string]bool{}
	for i, a := range c.Compliance.Areas {
		key := cfgerr.Index("compliance.areas", i)
		if a.ID == "" {
			errs.Add(key+".id", "is required")
		} else if ids[a.ID] {
			errs.Add(key+".id", "area %q is listed twice", a.ID)
		}
		ids[a.ID] = true
		if len(a.Routes) == 0 {
			errs.Add(key+".routes", "a key area needs at least one route")
		}
		bad := len(a.Routes) == 0
		for j, r := range a.Routes {
			if routes[r] == nil {
				errs.Add(cfgerr.Index(key+".routes", j), "unknown route %q", r)
				bad = true
			}
		}
		if bad {
			continue
		}
		if a.MinRounds < 1 {
			errs.Add(key+".min_rounds", "must be at least 1")
			continue
		}
		var per [7]int
		first := -1
		for k := range c.Plans {
			p := &c.Plans[k]
			if !slices.Contains(a.Routes, p.Route) {
				continue
			}
			if first < 0 {
				first = k
			}
			n := planRounds(p)
			mask, err := parseDays(p.Days)
			if err != nil {
				continue
			}
			for d := range 7 {
				if mask&(1<<uint(d)) != 0 {
					per[d] += n
				}
			}
		}
		short := []string{}
		least := per[0]
		for d := range 7 {
			if per[d] < a.MinRounds {
				short = append(short, weekdayNames[d])
			}
			least = min(least, per[d])
		}
		if len(short) == 0 {
			continue
		}
		where := key + ".routes"
		if first >= 0 {
			where = cfgerr.Index("plans", first)
		}
		errs.Add(where, "key area %q (%s) is planned for %d round(s) a day on %v, fewer than the %d a day it needs (GB/T 29315: key areas are patrolled at least %d times a day)",
			a.ID, a.Name, least, short, a.MinRounds, DefaultMinRounds)
	}
}

// planRounds is the number of starts a plan makes on a day it runs.
func planRounds(p *Plan) int {
	starts := map[int]bool{}
	for _, t := range p.Times {
		if m, err := parseClock(t, false); err == nil {
			starts[m] = true
		}
	}
	if p.Every > 0 {
		from, to := 0, 0
		if p.From != "" {
			from, _ = parseClock(p.From, false)
		}
		to = from
		if p.Until != "" {
			to, _ = parseClock(p.Until, true)
		}
		every := int(p.Every / time.Minute)
		if every < 1 {
			every = 1
		}
		end := to
		inclusive := true
		if to <= from {
			end += 24 * 60
		}
		if to == from {
			inclusive = false
		}
		for m := from; m < end || (inclusive && m == end); m += every {
			starts[m] = true
		}
	}
	return len(starts)
}

// The events of the day's judgement (Kind patrol, device "patrol:area:<id>").
const (
	// TypeRoundsShort: the area can no longer make its rounds today (the rounds done,
	// in progress and still planned are fewer than it needs): published once a day,
	// as soon as a missed or incomplete round makes it so, before the shift ends.
	TypeRoundsShort = "patrol_rounds_short"
	// TypeDayJudged: the area's rounds of the day are over; compliant or not, with the
	// reason.
	TypeDayJudged = "patrol_day_judged"
)

// AreaDevice is the synthetic device id of an area's judgement events.
func AreaDevice(area string) string { return "patrol:area:" + area }

// AreaRef is a key area a run counts for, with the rounds a day it needs: a report
// judges a day from its runs alone.
type AreaRef struct {
	ID        string `json:"id"`
	Name      string `json:"name,omitempty"`
	MinRounds int    `json:"min_rounds"`
}

// areasOf returns the key areas route counts for.
func (c *compiled) areasOf(route string) []AreaRef {
	var out []AreaRef
	for _, a := range c.cfg.Compliance.Areas {
		if slices.Contains(a.Routes, route) {
			out = append(out, AreaRef{ID: a.ID, Name: a.Name, MinRounds: a.MinRounds})
		}
	}
	return out
}

// areaDay is the tracker's count of an area's day.
type areaDay struct {
	Done   int  `json:"done"`   // completed rounds
	Warned bool `json:"warned"` // patrol_rounds_short published
	Judged bool `json:"judged"` // patrol_day_judged published
}

func areaDayKey(area, day string) string { return area + "|" + day }

// judge looks at the areas' days that may still change (yesterday's night rounds and
// today's) and returns the warnings and judgements due at now.
func (t *Tracker) judge(now time.Time) []event.Event {
	if len(t.c.cfg.Compliance.Areas) == 0 || len(t.c.plans) == 0 {
		return nil
	}
	loc := now.In(t.loc)
	today := time.Date(loc.Year(), loc.Month(), loc.Day(), 0, 0, 0, 0, t.loc)
	var out []event.Event
	for _, d := range []time.Time{today.AddDate(0, 0, -1), today} {
		if d.Before(t.since) {
			continue // a day the tracker did not watch from its start is not judged
		}
		day := d.Format(time.DateOnly)
		for _, a := range t.c.cfg.Compliance.Areas {
			out = append(out, t.judgeArea(&a, d, day, now)...)
		}
	}
	return out
}

func (t *Tracker) judgeArea(a *Area, d time.Time, day string, now time.Time) []event.Event {
	k := areaDayKey(a.ID, day)
	st := t.areas[k]
	if st.Judged {
		return nil
	}
	inProgress := 0
	for _, r := range t.runs {
		if r.Day == day && slices.Contains(a.Routes, r.Route) {
			inProgress++
		}
	}
	remaining, planned := 0, 0
	for _, p := range t.c.plans {
		if !slices.Contains(a.Routes, p.route.ID) {
			continue
		}
		for _, sl := range p.slots(d, d.AddDate(0, 0, 2), t.loc, t.days) { // a night runs past midnight
			if sl.day != day {
				continue
			}
			planned++
			if _, used := t.used[sl.id()]; !used && sl.windowEnd().After(now) {
				remaining++
			}
		}
	}
	if planned == 0 && st.Done == 0 && d.AddDate(0, 0, 1).After(now) {
		return nil // a day without plans is judged once it is over
	}
	var out []event.Event
	f := func() event.Fields {
		return event.Fields{"area": a.ID, "area_name": a.Name, "day": day, "rounds": int64(st.Done),
			"required": int64(a.MinRounds), "planned": int64(planned)}
	}
	if !st.Warned && st.Done < a.MinRounds && st.Done+inProgress+remaining < a.MinRounds {
		st.Warned = true
		fs := f()
		fs["in_progress"] = int64(inProgress)
		fs["remaining"] = int64(remaining)
		fs["reason"] = fmt.Sprintf("%s今日已完成巡查%d次，进行中%d次，尚余计划%d次，达不到每日至少%d次", a.Name, st.Done, inProgress, remaining, a.MinRounds)
		out = append(out, t.newEvent(TypeRoundsShort, AreaDevice(a.ID), now, now, fs))
	}
	if remaining == 0 && inProgress == 0 {
		st.Judged = true
		fs := f()
		ok := st.Done >= a.MinRounds
		fs["compliant"] = ok
		if ok {
			fs["reason"] = fmt.Sprintf("%s完成巡查%d次，符合每日至少%d次", a.Name, st.Done, a.MinRounds)
		} else {
			fs["reason"] = fmt.Sprintf("%s只完成巡查%d次（计划%d次），不符合每日至少%d次", a.Name, st.Done, planned, a.MinRounds)
		}
		out = append(out, t.newEvent(TypeDayJudged, AreaDevice(a.ID), now, now, fs))
	}
	t.areas[k] = st
	return out
}

// countRound records a completed run for its areas.
func (t *Tracker) countRound(r *run) {
	for _, a := range t.c.areasOf(r.Route) {
		k := areaDayKey(a.ID, r.Day)
		st := t.areas[k]
		st.Done++
		t.areas[k] = st
	}
}

// pruneAreas forgets the days older than the backlog.
func (t *Tracker) pruneAreas(now time.Time) {
	cut := now.In(t.loc).AddDate(0, 0, -3).Format(time.DateOnly)
	for k := range t.areas {
		if i := len(k) - len(time.DateOnly); i > 0 && k[i:] < cut {
			delete(t.areas, k)
		}
	}
}
