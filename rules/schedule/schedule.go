// Package schedule evaluates named time schedules ("school-hours", "nights", "weekends")
// in a site's time zone. Rules use them to be active only at certain times; alerting
// uses them for routing.
//
// A schedule is a list of weekly windows, a holidays list, a list of make-up working
// days (调休) and include/exclude composition:
//
//	school-hours:
//	  windows: ["mon-fri 07:30-17:30"]
//	  holidays: ["2026-10-01..2026-10-08"]
//	  workdays: ["2026-09-28", "2026-10-11 fri"]
//	nights:
//	  windows: ["22:00-06:00"]          # every day, across midnight
//	weekends:
//	  windows: ["sat,sun"]
//	off-hours:
//	  windows: ["daily"]
//	  exclude: [school-hours]
//
// A window is "DAYS", "HH:MM-HH:MM" (every day) or "DAYS HH:MM-HH:MM". DAYS is "daily",
// "*", a day name (mon..sun), a range ("mon-fri", "fri-mon" wraps) or a comma list of
// these. An end time at or before the start time makes an overnight window: it belongs
// to the day it starts on ("fri 22:00-06:00" runs into Saturday morning). "24:00" is
// allowed as an end time.
//
// Holidays (a date or a range "2026-10-01..2026-10-07") are days on which the
// schedule's own windows do not start. Workdays are dates that count as a working
// weekday whatever their real weekday is: "2026-09-28" counts as a Monday,
// "2026-10-11 fri" as a Friday. The schedule is active at t when one of its windows
// or one of its included schedules is active, and none of its excluded schedules is.
//
// Set is immutable and safe for concurrent use.
package schedule

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/campusguard/campusguard/cfgerr"
)

// Schedule is one named schedule as written in config.
type Schedule struct {
	Windows  []string `mapstructure:"windows" yaml:"windows" json:"windows,omitempty"`
	Holidays []string `mapstructure:"holidays" yaml:"holidays" json:"holidays,omitempty"`
	Workdays []string `mapstructure:"workdays" yaml:"workdays" json:"workdays,omitempty"`
	Include  []string `mapstructure:"include" yaml:"include" json:"include,omitempty"`
	Exclude  []string `mapstructure:"exclude" yaml:"exclude" json:"exclude,omitempty"`
}

// Config is the schedules section: schedules by name.
type Config map[string]Schedule

// Set is a compiled Config bound to a time zone.
type Set struct {
	loc    *time.Location
	scheds map[string]*sched
}

type window struct {
	days       uint8 // bit i = weekday i (0 = Sunday, as time.Weekday)
	start, end int   // minutes of the day; end may be <= start (overnight), end <= 1440
}

func (w window) overnight() bool { return w.end <= w.start }

type sched struct {
	name     string
	windows  []window
	holidays map[int32]bool
	workdays map[int32]time.Weekday
	include  []*sched
	exclude  []*sched
}

// Validate records every problem of the schedules section in errs, with keys relative
// to the section ("school-hours.windows[0]"), including schedules that can never match.
func (c Config) Validate(errs *cfgerr.List) {
	_, l := compile(c, time.UTC)
	if l != nil {
		errs.Errs = append(errs.Errs, l.Errs...)
	}
}

// Compile checks c and binds it to loc (nil means UTC). On any problem it returns a
// nil Set and a *cfgerr.List.
func Compile(c Config, loc *time.Location) (*Set, error) {
	s, l := compile(c, loc)
	if l != nil {
		return nil, l
	}
	return s, nil
}

// MustCompile is Compile for tests and built-in tables; it panics on error.
func MustCompile(c Config, loc *time.Location) *Set {
	s, err := Compile(c, loc)
	if err != nil {
		panic(err)
	}
	return s
}

func compile(c Config, loc *time.Location) (*Set, *cfgerr.List) {
	if loc == nil {
		loc = time.UTC
	}
	errs := &cfgerr.List{}
	set := &Set{loc: loc, scheds: make(map[string]*sched, len(c))}
	names := make([]string, 0, len(c))
	for n := range c {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		set.scheds[n] = &sched{name: n}
	}
	for _, n := range names {
		set.compileOne(n, c[n], errs)
	}
	if errs.Len() > 0 {
		return nil, errs
	}
	if n, ok := set.cycle(names); ok {
		errs.Add(n, "schedule includes or excludes itself (a cycle)")
		return nil, errs
	}
	set.checkNeverMatching(names, errs)
	if errs.Len() > 0 {
		return nil, errs
	}
	return set, nil
}

// compileOne fills schedule n of set from sc; its problems go to errs.
func (set *Set) compileOne(n string, sc Schedule, errs *cfgerr.List) {
	s := set.scheds[n]
	if n == "" || strings.ContainsAny(n, " \t,") {
		errs.Add(n, "schedule name %q is not valid", n)
	}
	for i, w := range sc.Windows {
		win, err := parseWindow(w)
		if err != nil {
			errs.Add(cfgerr.Join(n, cfgerr.Index("windows", i)), "%v", err)
			continue
		}
		s.windows = append(s.windows, win)
	}
	s.holidays = map[int32]bool{}
	for i, d := range sc.Holidays {
		from, to, err := parseDateRange(d)
		if err != nil {
			errs.Add(cfgerr.Join(n, cfgerr.Index("holidays", i)), "%v", err)
			continue
		}
		for t := from; !t.After(to); t = t.AddDate(0, 0, 1) {
			s.holidays[dayKey(t)] = true
		}
	}
	s.workdays = map[int32]time.Weekday{}
	for i, d := range sc.Workdays {
		s.addWorkday(cfgerr.Join(n, cfgerr.Index("workdays", i)), d, errs)
	}
	s.include = set.refs(n, "include", sc.Include, errs)
	s.exclude = set.refs(n, "exclude", sc.Exclude, errs)
	if len(sc.Windows) == 0 && len(sc.Include) == 0 {
		errs.Add(n, "schedule has no windows and includes nothing: it never matches")
	}
}

// addWorkday adds the workday entry d ("2026-10-11" or "2026-10-11 fri": a date or
// range that counts as a weekday, Monday by default) under key.
func (s *sched) addWorkday(key, d string, errs *cfgerr.List) {
	date, as, _ := strings.Cut(strings.TrimSpace(d), " ")
	wd := time.Monday
	if as = strings.TrimSpace(as); as != "" {
		w, ok := dayNames[strings.ToLower(as)]
		if !ok {
			errs.Add(key, "unknown weekday %q in %q (want mon..sun)", as, d)
			return
		}
		wd = w
	}
	from, to, err := parseDateRange(date)
	if err != nil {
		errs.Add(key, "%v", err)
		return
	}
	for t := from; !t.After(to); t = t.AddDate(0, 0, 1) {
		k := dayKey(t)
		if s.holidays[k] {
			errs.Add(key, "%s is both a holiday and a workday", t.Format(time.DateOnly))
		}
		s.workdays[k] = wd
	}
}

// refs resolves the schedule names of n's include or exclude list (what).
func (set *Set) refs(n, what string, names []string, errs *cfgerr.List) []*sched {
	var out []*sched
	for i, ref := range names {
		if o := set.scheds[ref]; o != nil {
			out = append(out, o)
		} else {
			errs.Add(cfgerr.Join(n, cfgerr.Index(what, i)), "unknown schedule %q", ref)
		}
	}
	return out
}

// cycle returns the first schedule (in names' order) from which includes and excludes
// lead in a circle.
func (set *Set) cycle(names []string) (string, bool) {
	state := map[*sched]int{}
	var visit func(s *sched) bool
	visit = func(s *sched) bool {
		switch state[s] {
		case 1:
			return false
		case 2:
			return true
		}
		state[s] = 1
		for _, o := range append(append([]*sched(nil), s.include...), s.exclude...) {
			if !visit(o) {
				return false
			}
		}
		state[s] = 2
		return true
	}
	for _, n := range names {
		if !visit(set.scheds[n]) {
			return n, true
		}
	}
	return "", false
}

// checkNeverMatching reports schedules that match no minute. Their result can only
// change at window edges, so it tests every edge minute of a generic week (no dated
// exceptions) and of every listed date.
func (set *Set) checkNeverMatching(names []string, errs *cfgerr.List) {
	edges := map[int]bool{0: true}
	var dates []int32
	for _, s := range set.scheds {
		for _, w := range s.windows {
			edges[w.start] = true
			edges[w.end%1440] = true
		}
		for k := range s.holidays {
			dates = append(dates, k)
		}
		for k := range s.workdays {
			dates = append(dates, k)
		}
	}
	for _, n := range names {
		if !set.everMatches(set.scheds[n], edges, dates) {
			errs.Add(n, "schedule can never match (what it excludes covers all of its windows)")
		}
	}
}

func (set *Set) everMatches(s *sched, edges map[int]bool, dates []int32) bool {
	base := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC) // a Monday
	for d := 0; d < 8; d++ {
		for m := range edges {
			if s.active(base.AddDate(0, 0, d).Add(time.Duration(m)*time.Minute), true) {
				return true
			}
		}
	}
	for _, k := range dates {
		day := time.Date(int(k/10000), time.Month(k/100%100), int(k%100), 0, 0, 0, 0, time.UTC)
		for d := -1; d <= 1; d++ {
			for m := range edges {
				if s.active(day.AddDate(0, 0, d).Add(time.Duration(m)*time.Minute), false) {
					return true
				}
			}
		}
	}
	return false
}

// Location is the set's time zone.
func (set *Set) Location() *time.Location {
	if set == nil {
		return time.UTC
	}
	return set.loc
}

// Has reports whether a schedule is named name.
func (set *Set) Has(name string) bool {
	if set == nil {
		return false
	}
	_, ok := set.scheds[name]
	return ok
}

// Names lists the schedules, sorted.
func (set *Set) Names() []string {
	if set == nil {
		return nil
	}
	out := make([]string, 0, len(set.scheds))
	for n := range set.scheds {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Active reports whether schedule name is active at t (in the set's time zone). An
// unknown name is never active: validate references before relying on them.
func (set *Set) Active(name string, t time.Time) bool {
	if set == nil {
		return false
	}
	s := set.scheds[name]
	if s == nil {
		return false
	}
	return s.active(t.In(set.loc), false)
}

// active is evaluated on a time already in the set's location (its wall clock).
func (s *sched) active(t time.Time, ignoreDates bool) bool {
	on := false
	if len(s.windows) > 0 {
		y, m, d := t.Date()
		hh, mm, _ := t.Clock()
		tod := hh*60 + mm
		today := s.weekday(y, m, d, t.Weekday(), ignoreDates)
		var yesterday int = -2
		for _, w := range s.windows {
			if today >= 0 && w.days&(1<<today) != 0 && tod >= w.start && (w.overnight() || tod < w.end) {
				on = true
				break
			}
			if w.overnight() && tod < w.end {
				if yesterday == -2 {
					p := time.Date(y, m, d-1, 12, 0, 0, 0, time.UTC)
					py, pm, pd := p.Date()
					yesterday = s.weekday(py, pm, pd, p.Weekday(), ignoreDates)
				}
				if yesterday >= 0 && w.days&(1<<yesterday) != 0 {
					on = true
					break
				}
			}
		}
	}
	if !on {
		for _, o := range s.include {
			if o.active(t, ignoreDates) {
				on = true
				break
			}
		}
	}
	if !on {
		return false
	}
	for _, o := range s.exclude {
		if o.active(t, ignoreDates) {
			return false
		}
	}
	return true
}

// weekday returns the weekday the date counts as for this schedule, or -1 for a holiday.
func (s *sched) weekday(y int, m time.Month, d int, wd time.Weekday, ignoreDates bool) int {
	if ignoreDates || (len(s.holidays) == 0 && len(s.workdays) == 0) {
		return int(wd)
	}
	k := int32(y*10000 + int(m)*100 + d)
	if s.holidays[k] {
		return -1
	}
	if w, ok := s.workdays[k]; ok {
		return int(w)
	}
	return int(wd)
}

func dayKey(t time.Time) int32 {
	y, m, d := t.Date()
	return int32(y*10000 + int(m)*100 + d)
}

var dayNames = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// parseWindow parses one weekly window ("mon-fri 07:30-17:30", "22:00-06:00", "sat,sun").
func parseWindow(s string) (window, error) {
	f := strings.Fields(s)
	w := window{days: 0x7f, start: 0, end: 1440}
	switch len(f) {
	case 1:
		if strings.Contains(f[0], ":") {
			return parseTimes(w, f[0], s)
		}
		days, err := parseDays(f[0])
		if err != nil {
			return w, err
		}
		w.days = days
		return w, nil
	case 2:
		days, err := parseDays(f[0])
		if err != nil {
			return w, err
		}
		w.days = days
		return parseTimes(w, f[1], s)
	}
	return w, fmt.Errorf("window %q: want \"DAYS\", \"HH:MM-HH:MM\" or \"DAYS HH:MM-HH:MM\"", s)
}

func parseTimes(w window, tr, whole string) (window, error) {
	a, b, ok := strings.Cut(tr, "-")
	if !ok {
		return w, fmt.Errorf("window %q: time range %q needs HH:MM-HH:MM", whole, tr)
	}
	var err error
	if w.start, err = parseClock(a, false); err != nil {
		return w, fmt.Errorf("window %q: %w", whole, err)
	}
	if w.end, err = parseClock(b, true); err != nil {
		return w, fmt.Errorf("window %q: %w", whole, err)
	}
	if w.start == w.end {
		return w, fmt.Errorf("window %q: start equals end (use 00:00-24:00 for a whole day)", whole)
	}
	if w.end == 1440 && w.start == 0 {
		return w, nil
	}
	return w, nil
}

// ParseClock parses "HH:MM" into minutes after midnight (0..1439).
func ParseClock(s string) (int, error) { return parseClock(s, false) }

func parseClock(s string, allow24 bool) (int, error) {
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok || len(h) == 0 || len(h) > 2 || len(m) != 2 {
		return 0, fmt.Errorf("time %q: want HH:MM", s)
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh < 0 || mm < 0 || mm > 59 || hh > 24 || (hh == 24 && (mm != 0 || !allow24)) {
		return 0, fmt.Errorf("time %q: not a valid HH:MM", s)
	}
	return hh*60 + mm, nil
}

func parseDays(s string) (uint8, error) {
	s = strings.ToLower(s)
	if s == "daily" || s == "*" || s == "everyday" {
		return 0x7f, nil
	}
	var days uint8
	for _, part := range strings.Split(s, ",") {
		a, b, isRange := strings.Cut(part, "-")
		da, ok := dayNames[a]
		if !ok {
			return 0, fmt.Errorf("days %q: unknown day %q (want mon..sun, daily)", s, a)
		}
		if !isRange {
			days |= 1 << da
			continue
		}
		db, ok := dayNames[b]
		if !ok {
			return 0, fmt.Errorf("days %q: unknown day %q (want mon..sun, daily)", s, b)
		}
		for d := da; ; d = (d + 1) % 7 {
			days |= 1 << d
			if d == db {
				break
			}
		}
	}
	return days, nil
}

func parseDateRange(s string) (from, to time.Time, err error) {
	a, b, isRange := strings.Cut(strings.TrimSpace(s), "..")
	from, err = time.Parse(time.DateOnly, strings.TrimSpace(a))
	if err != nil {
		return from, to, fmt.Errorf("date %q: want YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD", s)
	}
	to = from
	if isRange {
		to, err = time.Parse(time.DateOnly, strings.TrimSpace(b))
		if err != nil {
			return from, to, fmt.Errorf("date %q: want YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD", s)
		}
		if to.Before(from) {
			return from, to, fmt.Errorf("date range %q ends before it starts", s)
		}
		if to.Sub(from) > 366*24*time.Hour {
			return from, to, fmt.Errorf("date range %q is longer than a year", s)
		}
	}
	return from, to, nil
}
