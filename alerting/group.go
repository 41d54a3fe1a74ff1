package alerting

import (
	"fmt"
	"slices"
	"sort"
	"time"
)

// group collects the transitions of non-critical alarms on one grouping route with
// the same group_by values, and sends them as one notification per transition kind.
// Its waiting items are journaled as GroupMarks on the alarms' records, so a restart
// rebuilds it.
type group struct {
	key       string
	node      *node // nil when the route is gone from the config: sent at the next tick
	route     string
	sinks     []string
	first     time.Time // when the oldest waiting item arrived
	lastFlush time.Time
	items     []groupItem
}

type groupItem struct {
	rec *AlarmRecord
	n   Notification
}

func (g *group) due(now time.Time) bool {
	if len(g.items) == 0 {
		return false
	}
	var wait, interval time.Duration
	if g.node != nil {
		wait, interval = g.node.groupWait, g.node.groupInterval
	}
	if g.lastFlush.IsZero() {
		return !now.Before(g.first.Add(wait))
	}
	return !now.Before(g.lastFlush.Add(interval))
}

func (m *Manager) addToGroup(r *node, sinks []string, n Notification, now time.Time, rec *AlarmRecord) {
	gk := r.groupKey(&n.Alarm) + "|" + fmt.Sprint(sinks)
	g := m.groups[gk]
	if g == nil {
		g = &group{key: gk, node: r, route: r.path, sinks: sinks}
		m.groups[gk] = g
	}
	if len(g.items) == 0 {
		g.first = now
	}
	g.items = append(g.items, groupItem{rec: rec, n: n})
	rec.Groups = append(rec.Groups, GroupMark{Key: gk, Route: r.path, Sinks: sinks,
		N: rec.Transitions, Transition: n.Transition, At: now})
}

// restoreGroup puts a restored alarm's journaled marks back into their groups.
func (m *Manager) restoreGroup(rec *AlarmRecord) {
	for _, mk := range rec.Groups {
		g := m.groups[mk.Key]
		if g == nil {
			g = &group{key: mk.Key, node: m.findNode(mk.Route), route: mk.Route, sinks: mk.Sinks, first: mk.At}
			m.groups[mk.Key] = g
		}
		if mk.At.Before(g.first) {
			g.first = mk.At
		}
		n := Notification{ID: fmt.Sprintf("%s/%d", rec.Alarm.ID, mk.N), Transition: mk.Transition,
			Alarm: rec.Alarm, Count: 1, At: mk.At}
		g.items = append(g.items, groupItem{rec: rec, n: n})
	}
}

// flushGroups sends every due group: one notification per transition kind, with the
// alarms and their count.
func (m *Manager) flushGroups(now time.Time, c *Commit) {
	keys := make([]string, 0, len(m.groups))
	for k := range m.groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	touched := map[string]*AlarmRecord{}
	for _, k := range keys {
		g := m.groups[k]
		if len(g.items) == 0 {
			var interval time.Duration
			if g.node != nil {
				interval = g.node.groupInterval
			}
			if !now.Before(g.lastFlush.Add(interval)) {
				delete(m.groups, k) // idle: the next alarm waits group_wait again
			}
			continue
		}
		if !g.due(now) {
			continue
		}
		for _, tr := range []Transition{Fired, Refired, ResolvedT} {
			var items []groupItem
			for _, it := range g.items {
				if it.n.Transition == tr {
					items = append(items, it)
				}
			}
			if len(items) == 0 {
				continue
			}
			n := items[0].n
			n.At = now
			n.Count = len(items)
			prio := n.Alarm.Severity.Rank()
			if len(items) > 1 {
				n.Group = make([]Alarm, len(items))
				for i, it := range items {
					n.Group[i] = it.n.Alarm
					prio = min(prio, it.n.Alarm.Severity.Rank())
				}
			}
			for _, s := range g.sinks {
				d := m.delivery(s, n, now)
				if !m.ordered[s] {
					d.Priority = prio
				}
				c.Deliveries = append(c.Deliveries, d)
			}
			m.met.groups.Inc()
		}
		for _, it := range g.items {
			it.rec.Groups = slices.DeleteFunc(it.rec.Groups, func(mk GroupMark) bool {
				return mk.Key == g.key && fmt.Sprintf("%s/%d", it.rec.Alarm.ID, mk.N) == it.n.ID
			})
			touched[it.rec.Alarm.ID] = it.rec
		}
		g.items = nil
		g.lastFlush = now
	}
	ids := make([]string, 0, len(touched))
	for id := range touched {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		c.Alarms = append(c.Alarms, m.snapshot(touched[id]))
	}
}
