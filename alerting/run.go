package alerting

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/campusguard/campusguard/health"
)

// Run starts one delivery worker per sink (resuming the deliveries pending in the
// journal), sounds again the alarms that were sounding when the gateway stopped, and
// checks escalations, silence expiry, group flushes and repeats every TickEvery. It
// returns when ctx ends and every worker has stopped.
func (m *Manager) Run(ctx context.Context) error {
	m.mu.Lock()
	if m.local != nil {
		for _, id := range m.resound {
			if r := m.open[id]; r != nil && r.Sounded && r.Alarm.State == Firing {
				m.local.Sound(r.Alarm)
			}
		}
	}
	m.resound = nil
	m.mu.Unlock()
	var wg sync.WaitGroup
	for _, name := range m.names {
		w := m.workers[name]
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.run(ctx)
		}()
	}
	t := m.clock.NewTicker(m.tickEvery)
	defer func() {
		t.Stop()
		wg.Wait()
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.Chan():
			m.tick(m.clock.Now())
		}
	}
}

// tick does the time-driven work as of now.
func (m *Manager) tick(now time.Time) {
	var c Commit
	m.mu.Lock()
	retries := m.retryFailed()
	m.expireSilences(now, &c)
	m.expireTests(now, &c)
	if len(m.static) > 0 {
		m.reevaluate(now, &c)
	}
	m.escalate(now, &c)
	m.repeat(now, &c)
	m.flushGroups(now, &c)
	wait := m.enqueue(&c)
	m.mu.Unlock()
	for _, r := range retries {
		if err := m.settle(&r.c, r.wait); err != nil {
			m.log.Error("journal retry failed", "err", err)
		}
	}
	if len(retries) > 0 {
		m.mu.Lock()
		m.retrying -= len(retries)
		m.mu.Unlock()
	}
	if err := m.settle(&c, wait); err != nil {
		m.log.Error("alerting: journal commit failed; retrying", "err", err)
	}
}

// escalate moves every firing alarm that needs acknowledgement and has none to the
// tiers whose time has come (every tier reached, in order).
func (m *Manager) escalate(now time.Time, c *Commit) {
	tiers := m.cfg.Escalation.Tiers
	if len(tiers) == 0 {
		return
	}
	for _, id := range m.openIDs() {
		rec := m.open[id]
		a := &rec.Alarm
		if a.State != Firing || !m.requireAck[a.Severity] || Muted(a) {
			continue
		}
		changed := false
		from := a.FiredAt
		if !a.PendingSince.IsZero() {
			from = a.PendingSince
		}
		for a.Escalation < len(tiers) && !now.Before(from.Add(tiers[a.Escalation].After)) {
			tier := tiers[a.Escalation]
			a.Escalation++
			rec.Transitions++
			n := Notification{ID: fmt.Sprintf("%s/%d", a.ID, rec.Transitions), Transition: Escalated,
				Alarm: *a, Count: 1, At: now, Tier: a.Escalation}
			sinks := tier.Sinks
			if m.cfg.Escalation.Police && a.Escalation == len(tiers) {
				sinks = append(append([]string(nil), sinks...), m.cfg.Escalation.PoliceSink)
			}
			seen := map[string]bool{}
			for _, s := range sinks {
				if !seen[s] {
					seen[s] = true
					c.Deliveries = append(c.Deliveries, m.delivery(s, n, now))
				}
			}
			m.met.transitions.WithLabelValues(string(Escalated)).Inc()
			c.History = append(c.History, m.hist(rec, string(Escalated), "", fmt.Sprintf("tier %d: not acknowledged within %s", a.Escalation, tier.After), now))
			changed = true
		}
		if changed {
			c.Alarms = append(c.Alarms, m.snapshot(rec))
			m.publish(*a)
		}
	}
}

// repeat re-notifies firing, unacknowledged alarms on routes with a repeat_interval.
func (m *Manager) repeat(now time.Time, c *Commit) {
	for _, id := range m.openIDs() {
		rec := m.open[id]
		a := &rec.Alarm
		if a.State != Firing || a.Cleared || !rec.Notified || Muted(a) {
			continue
		}
		var due []*node
		for _, r := range m.root.routes(a, now, m.sch) {
			if last, ok := rec.LastNotified[r.path]; r.repeat > 0 && ok && !now.Before(last.Add(r.repeat)) {
				due = append(due, r)
			}
		}
		if len(due) == 0 {
			continue
		}
		rec.Transitions++
		n := Notification{ID: fmt.Sprintf("%s/%d", a.ID, rec.Transitions), Transition: Refired, Alarm: *a, Count: 1, At: now}
		seen := map[string]bool{}
		for _, r := range due {
			rec.LastNotified[r.path] = now
			for _, s := range r.sinks {
				if !seen[s] {
					seen[s] = true
					c.Deliveries = append(c.Deliveries, m.delivery(s, n, now))
				}
			}
		}
		c.Alarms = append(c.Alarms, m.snapshot(rec))
	}
}

// SinkHealth returns a health reporter per sink (backlog, last error, counts, and the
// sink's own report when it has one), for the daemon's health registry.
func (m *Manager) SinkHealth() map[string]health.Reporter {
	out := make(map[string]health.Reporter, len(m.workers))
	for n, w := range m.workers {
		out[n] = w
	}
	return out
}

// Health is Down while a journal commit is failing (alarms still sound and are kept in
// memory, and the commit is retried), Degraded when a sink fails, else Up.
func (m *Manager) Health() health.Status {
	m.mu.Lock()
	lastErr, failed, active := m.lastErr, len(m.failed), len(m.open)
	m.mu.Unlock()
	st := health.Status{State: health.Up, Detail: map[string]any{"active_alarms": active}}
	backlog := map[string]int64{}
	for _, n := range m.names {
		w := m.workers[n]
		backlog[n] = w.backlog.Load()
		if hs := w.Health(); hs.State != health.Up {
			st.State = health.Worst(st.State, health.Degraded)
			if st.Reason == "" {
				st.Reason = "sink " + n + ": " + hs.Reason
			}
		}
	}
	st.Detail["backlog"] = backlog
	if lastErr != nil {
		st.State = health.Down
		st.Reason = fmt.Sprintf("journal commit failing (%d commits waiting for retry): %v", failed, lastErr)
	}
	return st
}
