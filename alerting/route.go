package alerting

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Schedules tells whether a named schedule (school hours, nights, ...) is active; the
// rules/schedule package implements it. A route or silence naming a schedule applies
// only while it is active.
type Schedules interface {
	Active(name string, t time.Time) bool
}

// node is a compiled Route with its inherited settings.
type node struct {
	path          string // "routes", "routes.routes[1]"...
	match         Matchers
	re            regexMatchers
	schedule      string
	sinks         []string
	cont          bool
	groupBy       []string
	groupWait     time.Duration
	groupInterval time.Duration
	repeat        time.Duration
	children      []*node
}

func compileRoute(r *Route, path string, parent *node) (*node, error) {
	re, err := compileRE(r.MatchRE)
	if err != nil {
		return nil, fmt.Errorf("%s.match_re: %w", path, err)
	}
	n := &node{path: path, match: r.Match, re: re, schedule: r.Schedule, sinks: r.Sinks, cont: r.Continue,
		groupBy: r.GroupBy, groupWait: r.GroupWait, groupInterval: r.GroupInterval, repeat: r.RepeatInterval}
	if parent != nil {
		if n.sinks == nil {
			n.sinks = parent.sinks
		}
		if n.groupBy == nil {
			n.groupBy = parent.groupBy
		}
		if n.groupWait == 0 {
			n.groupWait = parent.groupWait
		}
		if n.groupInterval == 0 {
			n.groupInterval = parent.groupInterval
		}
		if n.repeat == 0 {
			n.repeat = parent.repeat
		}
	}
	if len(n.groupBy) > 0 {
		if n.groupWait == 0 {
			n.groupWait = DefaultGroupWait
		}
		if n.groupInterval == 0 {
			n.groupInterval = DefaultGroupInterval
		}
	}
	for i := range r.Routes {
		c, err := compileRoute(&r.Routes[i], path+".routes["+strconv.Itoa(i)+"]", n)
		if err != nil {
			return nil, err
		}
		n.children = append(n.children, c)
	}
	return n, nil
}

func (n *node) matches(a *Alarm, now time.Time, sch Schedules) bool {
	if !n.match.Matches(a) || !n.re.matches(a) {
		return false
	}
	// An unknown schedule source fails open: an alarm is never lost to a missing
	// schedule.
	return n.schedule == "" || sch == nil || sch.Active(n.schedule, now)
}

// routes returns the nodes that deliver a, in tree order.
func (n *node) routes(a *Alarm, now time.Time, sch Schedules) []*node {
	if !n.matches(a, now, sch) {
		return nil
	}
	return n.walk(a, now, sch, nil)
}

func (n *node) walk(a *Alarm, now time.Time, sch Schedules, out []*node) []*node {
	matched := false
	for _, c := range n.children {
		if !c.matches(a, now, sch) {
			continue
		}
		matched = true
		out = c.walk(a, now, sch, out)
		if !c.cont {
			break
		}
	}
	if !matched {
		out = append(out, n)
	}
	return out
}

// groupKey is the route's path and the alarm's group_by values.
func (n *node) groupKey(a *Alarm) string {
	var b strings.Builder
	b.WriteString(n.path)
	for _, g := range n.groupBy {
		b.WriteByte('|')
		b.WriteString(g)
		b.WriteByte('=')
		b.WriteString(Attr(a, g))
	}
	return b.String()
}
