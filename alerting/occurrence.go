package alerting

// Another trigger of an open alarm, and a rule's renotify of one.

import (
	"fmt"
	"maps"
	"time"
)

// ActionOccurrence is the history record of another trigger of an open alarm.
const ActionOccurrence = "occurrence"

// occur records another trigger of an open alarm (another press of the same button,
// the condition coming back on a latched alarm). Every occurrence is a record of its
// own. When staff already had the alarm in hand (acknowledged, silenced, or its
// condition had cleared) it needs a person again: it is notified as a repeat (to the
// police as a new event for a panic), sounds the siren again (30 s after a person's
// silence, GB 50394), and goes back to firing so the duty screen asks for an
// acknowledgement. An occurrence of a firing alarm nobody acknowledged yet is
// journaled and shown; its notification is still on its way.
func (m *Manager) occur(rec *AlarmRecord, t *Trigger, now time.Time, c *Commit) {
	a := &rec.Alarm
	if t.Event != nil {
		if initial, _ := t.Event.Fields["initial"].(bool); initial {
			return // a level read at start on an alarm restored from the journal: nothing new
		}
	}
	wasCleared, wasAcked, wasSilenced := a.Cleared, a.State == Acknowledged, a.Silenced
	a.Count++
	a.LastAt = t.At
	a.Cleared = false
	if t.Message != "" {
		a.Message = t.Message
		if a.Test {
			a.Message = testPrefix + a.Message
		}
	}
	if t.Event != nil && t.Event.Fields != nil {
		a.Fields = maps.Clone(t.Event.Fields)
	}
	rec.Transitions++
	note := fmt.Sprintf("#%d", a.Count)
	if wasAcked {
		a.State = Firing
		a.Escalation = 0
		a.PendingSince = now
	}
	m.sound(rec, now)
	if wasCleared || wasAcked || wasSilenced {
		m.notifyOccurrence(rec, now, c)
	} else {
		m.met.transitions.WithLabelValues(ActionOccurrence).Inc()
	}
	c.History = append(c.History, m.hist(rec, ActionOccurrence, "", note, now))
	c.Alarms = append(c.Alarms, m.snapshot(rec))
	m.publishOccurrence(*a)
}

// renotify repeats an open, unacknowledged alarm's notification to its routes (a
// rule's renotify interval). It never raises an alarm, sounds a siren or reports to
// the police: only a new trigger does.
func (m *Manager) renotify(rec *AlarmRecord, now time.Time, c *Commit) {
	a := &rec.Alarm
	if a.State != Firing || Muted(a) {
		return
	}
	rec.Transitions++
	n := Notification{ID: fmt.Sprintf("%s/%d", a.ID, rec.Transitions), Transition: Refired, Alarm: *a, Count: 1, At: now}
	seen := map[string]bool{}
	for _, r := range m.root.routes(a, now, m.sch) {
		for _, s := range r.sinks {
			if !seen[s] && !m.isMandatory(s) {
				seen[s] = true
				c.Deliveries = append(c.Deliveries, m.delivery(s, n, now))
			}
		}
	}
	c.Alarms = append(c.Alarms, m.snapshot(rec))
}
