package alerting

// An alarm's lifecycle: fire, clear, acknowledge, resolve (by rule or a person's reset).

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/campusguard/campusguard/event"
)

// Handle applies a rule trigger: a new alarm; another occurrence of an open one (a
// record of its own; notified again when staff had it in hand); a renotify (a repeat
// of an open alarm's notification, never a new alarm); the condition clearing (a
// latched alarm is marked Cleared; any other resolves). The local output is told
// first; Handle returns once the change is journaled (fsynced). Network deliveries
// start from the journal after that.
func (m *Manager) Handle(ctx context.Context, t Trigger) error {
	return m.HandleAsync(ctx, t)()
}

// HandleAsync applies a trigger as Handle does (the local output is told at once, the
// change is queued for the journal in call order) and returns the wait for its commit:
// it returns once the change is fsynced, then wakes the sinks. A caller with several
// triggers queues them all and waits for each, so they share one fsync. Nothing
// leaves for a sink before its commit is durable.
func (m *Manager) HandleAsync(ctx context.Context, t Trigger) (wait func() error) {
	if t.Rule == "" {
		return func() error { return errors.New("trigger without rule") }
	}
	start := time.Now()
	now := m.clock.Now()
	if t.At.IsZero() {
		t.At = now
	}
	if !t.Severity.Valid() {
		m.log.Warn("trigger with unknown severity, raised as critical", "rule", t.Rule, "severity", t.Severity)
		t.Severity = Critical
	}
	var c Commit
	m.mu.Lock()
	id := m.byInst[instanceKey(t.Rule, t.Key)]
	rec := m.open[id]
	switch {
	case t.Renotify:
		if rec != nil {
			m.renotify(rec, now, &c)
		}
	case t.Firing && rec == nil:
		m.fire(&t, now, &c)
	case t.Firing:
		m.occur(rec, &t, now, &c)
	case rec == nil:
		// cleared with nothing open: nothing to do
	case rec.Alarm.Latched:
		m.clear(rec, &t, now, &c)
	default:
		m.resolve(rec, "rule", t.Reason, t.At, now, &c)
	}
	w := m.enqueue(&c)
	m.mu.Unlock()
	return func() error {
		err := m.settle(&c, w)
		m.met.handleSecs.Observe(time.Since(start).Seconds())
		return err
	}
}

func (m *Manager) fire(t *Trigger, now time.Time, c *Commit) {
	a := Alarm{ID: m.newID(), Rule: t.Rule, Key: t.Key, Site: m.siteID, DeviceID: t.DeviceID,
		Severity: t.Severity, Labels: maps.Clone(t.Labels), Message: t.Message, State: Firing,
		Count: 1, FiredAt: t.At, LastAt: t.At}
	if t.Event != nil {
		a.DeviceKind = t.Event.Kind
		a.Fields = maps.Clone(t.Event.Fields)
		if a.Site == "" {
			a.Site = t.Event.Site
		}
		if a.DeviceID == "" {
			a.DeviceID = t.Event.DeviceID
		}
	}
	if d := m.dir.Device(a.DeviceID); d != nil {
		a.DeviceKind, a.Zone, a.Location = d.Kind, d.Zone, d.Location
	}
	if a.DeviceKind == "" {
		a.DeviceKind = event.Kind(t.Labels["kind"])
	}
	if a.Zone == "" {
		a.Zone = t.Labels["zone"]
	}
	a.Class = ClassOf(t, a.DeviceKind)
	a.Latched = latches(a.Class, t.Latch)
	a.Test = t.Labels["test"] == "true" || m.inTest(a.DeviceID, a.Zone, now)
	if v, ok := a.Fields["test"].(bool); ok && v {
		a.Test = true
	}
	if a.Test && !strings.HasPrefix(a.Message, testPrefix) {
		a.Message = testPrefix + a.Message // staff read it as a test, not as an emergency
	}
	rec := &AlarmRecord{Alarm: a, Transitions: 1, Tamper: a.Class.Trouble(), LastNotified: map[string]time.Time{}}
	m.mute(&rec.Alarm, now, m.fireStages())
	m.open[a.ID] = rec
	m.byInst[instanceKey(a.Rule, a.Key)] = a.ID
	m.sound(rec, now)
	m.met.alarms.WithLabelValues(string(a.Severity)).Inc()
	m.met.active.Set(float64(len(m.open)))
	m.notify(rec, Fired, now, c)
	c.History = append(c.History, m.hist(rec, string(Fired), "", t.Reason, now))
	c.AlarmSeq = m.seq
	if m.isInhibitSource(&rec.Alarm) {
		m.reevaluate(now, c)
	}
	c.Alarms = append(c.Alarms, m.snapshot(rec))
	m.publishOccurrence(rec.Alarm)
}

// testPrefix marks the message of an alarm raised in test mode.
const testPrefix = "【测试】"

func (m *Manager) clear(rec *AlarmRecord, t *Trigger, now time.Time, c *Commit) {
	if rec.Alarm.Cleared {
		return
	}
	rec.Alarm.Cleared = true
	rec.Alarm.Reason = t.Reason
	rec.Transitions++
	m.notify(rec, ConditionEnd, now, c)
	c.History = append(c.History, m.hist(rec, string(ConditionEnd), "", t.Reason, now))
	c.Alarms = append(c.Alarms, m.snapshot(rec))
	m.publish(rec.Alarm)
}

func (m *Manager) resolve(rec *AlarmRecord, by, reason string, at, now time.Time, c *Commit) {
	a := &rec.Alarm
	a.State = Resolved
	a.ResolvedAt = at
	a.ResolvedBy = by
	a.Reason = reason
	rec.Transitions++
	m.quiet(rec, now, by != "rule")
	m.notify(rec, ResolvedT, now, c)
	c.History = append(c.History, m.hist(rec, string(ResolvedT), by, reason, now))
	delete(m.open, a.ID)
	if m.byInst[instanceKey(a.Rule, a.Key)] == a.ID {
		delete(m.byInst, instanceKey(a.Rule, a.Key))
	}
	m.met.active.Set(float64(len(m.open)))
	if m.isInhibitSource(a) {
		m.reevaluate(now, c)
	}
	c.Alarms = append(c.Alarms, m.snapshot(rec))
	m.publish(*a)
}

// Ack acknowledges an open alarm: staff have it. The siren for it stops; escalation
// stops.
func (m *Manager) Ack(ctx context.Context, alarmID, by, note string) error {
	if by == "" {
		return ErrNoPerson
	}
	now := m.clock.Now()
	var c Commit
	m.mu.Lock()
	rec := m.open[alarmID]
	switch {
	case rec == nil:
		m.mu.Unlock()
		return fmt.Errorf("ack %s: %w", alarmID, ErrNotFound)
	case rec.Alarm.State == Acknowledged:
		m.mu.Unlock()
		return fmt.Errorf("ack %s: %w", alarmID, ErrAlreadyAcked)
	}
	a := &rec.Alarm
	a.State = Acknowledged
	a.AckedAt, a.AckedBy, a.AckNote = now, by, note
	rec.Transitions++
	m.quiet(rec, now, true)
	m.notify(rec, Acked, now, &c)
	c.History = append(c.History, m.hist(rec, string(Acked), by, note, now))
	c.Alarms = append(c.Alarms, m.snapshot(rec))
	m.publish(*a)
	wait := m.enqueue(&c)
	m.mu.Unlock()
	return m.settle(&c, wait)
}

// Resolve is a person's reset of an open alarm (the only way a latched alarm ends).
func (m *Manager) Resolve(ctx context.Context, alarmID, by, note string) error {
	if by == "" {
		return ErrNoPerson
	}
	now := m.clock.Now()
	var c Commit
	m.mu.Lock()
	rec := m.open[alarmID]
	if rec == nil {
		m.mu.Unlock()
		return fmt.Errorf("resolve %s: %w", alarmID, ErrNotFound)
	}
	m.resolve(rec, by, note, now, now, &c)
	a := rec.Alarm
	wait := m.enqueue(&c)
	m.mu.Unlock()
	if m.onReset != nil {
		m.onReset(a)
	}
	return m.settle(&c, wait)
}

func (m *Manager) hist(rec *AlarmRecord, action, by, note string, now time.Time) HistoryRecord {
	a := &rec.Alarm
	return HistoryRecord{At: now, AlarmID: a.ID, Action: action, By: by, Note: note, State: a.State,
		Severity: a.Severity, DeviceID: a.DeviceID, Zone: a.Zone}
}

func (m *Manager) snapshot(rec *AlarmRecord) AlarmRecord {
	r := *rec
	r.LastNotified = maps.Clone(rec.LastNotified)
	return r
}
