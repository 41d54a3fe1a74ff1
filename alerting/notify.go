package alerting

// Notifications: an alarm's transitions become deliveries to the routes' sinks.

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"
)

// reevaluate recomputes the suppression of every open alarm after a silence or an
// inhibiting alarm changed. An alarm still firing and never notified is notified once
// it is no longer muted.
func (m *Manager) reevaluate(now time.Time, c *Commit) {
	for _, id := range m.openIDs() {
		rec := m.open[id]
		if !m.mute(&rec.Alarm, now, m.muteStages()) {
			continue
		}
		a := &rec.Alarm
		if !Muted(a) && !rec.Notified && a.State == Firing && !a.Cleared {
			rec.Transitions++
			m.notify(rec, Fired, now, c)
			m.sound(rec, now)
		}
		c.Alarms = append(c.Alarms, m.snapshot(rec))
		m.publish(*a)
	}
}

func (m *Manager) openIDs() []string {
	ids := slices.Collect(maps.Keys(m.open))
	sort.Strings(ids)
	return ids
}

// notify turns one transition into deliveries: to the routes' sinks (unless the alarm
// is muted), into groups for non-critical alarms on grouping routes, and — for panic
// alarms — to every mandatory sink whatever the mutes and routes.
func (m *Manager) notify(rec *AlarmRecord, tr Transition, now time.Time, c *Commit) {
	m.notifyN(rec, tr, false, now, c)
}

// notifyOccurrence notifies a new trigger of an open alarm (Refired, marked as an
// occurrence: the police link reports it as a new event).
func (m *Manager) notifyOccurrence(rec *AlarmRecord, now time.Time, c *Commit) {
	m.notifyN(rec, Refired, true, now, c)
}

func (m *Manager) notifyN(rec *AlarmRecord, tr Transition, occurrence bool, now time.Time, c *Commit) {
	a := rec.Alarm
	n := Notification{ID: fmt.Sprintf("%s/%d", a.ID, rec.Transitions), Transition: tr, Alarm: a, Count: 1, At: now, Occurrence: occurrence,
		Quiet: occurrence && !Resounds(rec.QuietAt, now)}
	sent := map[string]bool{}
	routed := !Muted(&a) && (rec.Notified || tr == Fired || tr == Refired)
	if routed {
		for _, r := range m.root.routes(&a, now, m.sch) {
			grouped := len(r.groupBy) > 0 && a.Severity != Critical && (tr == Fired || tr == Refired || tr == ResolvedT)
			var fresh []string
			for _, s := range r.sinks {
				if !overLink(a.Class) && m.isMandatory(s) {
					continue // a report about the police link does not go over it
				}
				if !sent[s] {
					sent[s] = true
					fresh = append(fresh, s)
				}
			}
			if len(fresh) == 0 {
				continue
			}
			if grouped {
				m.addToGroup(r, fresh, n, now, rec)
			} else {
				for _, s := range fresh {
					c.Deliveries = append(c.Deliveries, m.delivery(s, n, now))
				}
			}
			if tr == Fired || tr == Refired {
				rec.LastNotified[r.path] = now
			}
		}
		if tr == Fired || tr == Refired {
			rec.Notified = true
		}
	}
	if mandatoryReport(a.Class) {
		for _, s := range m.mand {
			if !sent[s] {
				sent[s] = true
				c.Deliveries = append(c.Deliveries, m.delivery(s, n, now))
			}
		}
	}
	m.met.transitions.WithLabelValues(string(tr)).Inc()
}

func (m *Manager) delivery(sink string, n Notification, now time.Time) Delivery {
	prio := n.Alarm.Severity.Rank()
	if m.ordered[sink] {
		prio = 0 // one priority: the sink takes its deliveries in commit order
	}
	return Delivery{Sink: sink, Priority: prio, Notification: n, State: Pending, CreatedAt: now}
}

func (m *Manager) isMandatory(sink string) bool {
	for _, s := range m.mand {
		if s == sink {
			return true
		}
	}
	return false
}
