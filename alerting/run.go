package alerting

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
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

type retry struct {
	c    Commit
	wait func() error
}

// retryFailed queues the failed commits again, in order, with the alarms' current
// records (the journal never lets an older record overwrite a newer one). Called
// with m.mu held; the caller waits for them after unlocking.
func (m *Manager) retryFailed() []retry {
	failed := m.failed
	m.failed = nil
	m.retrying += len(failed)
	var out []retry
	for i := range failed {
		c := failed[i]
		for j := range c.Alarms {
			if cur := m.open[c.Alarms[j].Alarm.ID]; cur != nil {
				c.Alarms[j] = m.snapshot(cur)
			}
		}
		// Deliveries made from memory while the commit failed are recorded as done;
		// the others leave the memory queues and go out from the journal.
		c.Deliveries = slices.Clone(c.Deliveries)
		for j := range c.Deliveries {
			d := &c.Deliveries[j]
			k := memKey(d.Sink, d.Notification.ID)
			if at, ok := m.memDone[k]; ok {
				delete(m.memDone, k)
				d.State, d.DoneAt, d.Attempts = Delivered, at, max(d.Attempts, 1)
				continue
			}
			if w := m.workers[d.Sink]; w != nil {
				w.dropMem(d.Notification.ID)
			}
		}
		out = append(out, retry{c: c, wait: m.store.Enqueue(c)})
	}
	return out
}

func memKey(sink, id string) string { return sink + "\x00" + id }

// takeMemDone reports (and forgets) when a delivery was sent from memory.
func (m *Manager) takeMemDone(sink, id string) (time.Time, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := memKey(sink, id)
	at, ok := m.memDone[k]
	if ok {
		delete(m.memDone, k)
	}
	return at, ok
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

// worker delivers one sink's pending notifications from the journal, in order
// (critical first); its deliverer makes the attempts and backs off between them.
type worker struct {
	m       *Manager
	sink    Sink
	name    string
	wake    chan struct{}
	dl      *deliverer
	backlog atomic.Int64

	// mem holds deliveries whose journal commit failed (a full disk): they go out from
	// memory, most urgent first, so the police and staff still hear of the alarm.
	memMu sync.Mutex
	mem   []Delivery

	mu          sync.Mutex
	lastErr     string
	lastErrAt   time.Time
	lastOK      time.Time
	delivered   uint64
	failures    uint64
	rejected    uint64
	consecutive int
}

// addMem queues deliveries whose commit failed, most urgent first.
func (w *worker) addMem(ds []Delivery) {
	w.memMu.Lock()
	w.mem = append(w.mem, ds...)
	sort.SliceStable(w.mem, func(i, j int) bool { return w.mem[i].Priority < w.mem[j].Priority })
	w.memMu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *worker) popMem() (Delivery, bool) {
	w.memMu.Lock()
	defer w.memMu.Unlock()
	if len(w.mem) == 0 {
		return Delivery{}, false
	}
	d := w.mem[0]
	w.mem = w.mem[1:]
	return d, true
}

func (w *worker) pushMemFront(d Delivery) {
	w.memMu.Lock()
	w.mem = append([]Delivery{d}, w.mem...)
	w.memMu.Unlock()
}

func (w *worker) dropMem(id string) {
	w.memMu.Lock()
	w.mem = slices.DeleteFunc(w.mem, func(d Delivery) bool { return d.Notification.ID == id })
	w.memMu.Unlock()
}

func (w *worker) memLen() int {
	w.memMu.Lock()
	defer w.memMu.Unlock()
	return len(w.mem)
}

// deliverMem delivers one delivery whose commit failed, from memory. It reports
// whether the worker should go on (false: pause, or stop).
func (w *worker) deliverMem(ctx context.Context, d Delivery) bool {
	m := w.m
	v, err := w.dl.attempt(ctx, d.Notification)
	if v == retryable {
		if ctx.Err() == nil {
			w.pushMemFront(d)
			m.log.Warn("delivery from memory failed; will retry", "sink", w.name, "id", d.Notification.ID, "err", err)
		}
		return false
	}
	m.mu.Lock()
	m.memDone[memKey(w.name, d.Notification.ID)] = m.clock.Now()
	m.mu.Unlock()
	m.met.deliveries.WithLabelValues(w.name, "delivered_from_memory").Inc()
	m.log.Warn("delivered from memory: the journal cannot write", "sink", w.name, "id", d.Notification.ID, "err", err)
	return true
}

func (w *worker) run(ctx context.Context) {
	m := w.m
	for {
		if ctx.Err() != nil {
			return
		}
		if md, ok := w.popMem(); ok {
			if !w.deliverMem(ctx, md) && !w.dl.pause(ctx) {
				return
			}
			continue
		}
		d, ok, err := m.store.NextPending(w.name)
		if err != nil {
			m.log.Error("alerting: reading pending deliveries", "sink", w.name, "err", err)
			if !w.dl.pause(ctx) {
				return
			}
			continue
		}
		if !ok {
			select {
			case <-ctx.Done():
				return
			case <-w.wake:
			case <-w.dl.ready:
			}
			continue
		}
		if at, ok := m.takeMemDone(w.name, d.Notification.ID); ok {
			// Sent from memory while its commit was failing; the retried commit
			// recorded it as pending: record it as done, do not send it twice.
			d.State, d.DoneAt, d.Attempts = Delivered, at, max(d.Attempts, 1)
			if uerr := m.store.UpdateDelivery(d); uerr != nil {
				m.mu.Lock()
				m.memDone[memKey(w.name, d.Notification.ID)] = at
				m.mu.Unlock()
				if !w.dl.pause(ctx) {
					return
				}
				continue
			}
			w.record(d, nil)
			continue
		}
		d.Attempts++
		d.LastAttempt = m.clock.Now()
		start := time.Now()
		v, derr := w.dl.attempt(ctx, d.Notification)
		if ctx.Err() != nil && derr != nil {
			return // shutting down: the delivery stays pending for the next start
		}
		m.met.deliverySecs.WithLabelValues(w.name).Observe(time.Since(start).Seconds())
		w.dl.apply(&d, v, derr, m.clock.Now())
		if uerr := w.recordDelivery(d); uerr != nil {
			m.log.Error("alerting: recording delivery", "sink", w.name, "id", d.Notification.ID, "err", uerr)
			if !w.dl.pause(ctx) {
				return
			}
			continue
		}
		w.record(d, derr)
		if v != retryable {
			continue
		}
		m.log.Warn("alerting: delivery failed; will retry", "sink", w.name, "id", d.Notification.ID,
			"attempt", d.Attempts, "retry_in", w.dl.delay(), "err", derr)
		if !w.dl.pause(ctx) {
			return
		}
	}
}

// LazyUpdater is a Store that can take a delivery's new state without the worker
// waiting for the disk: it is written with the next group commit (an alarm's), and
// the store's NextPending sees it at once. A crash before the write delivers the
// notification again, with the same id (at least once).
type LazyUpdater interface {
	UpdateDeliveryLater(d Delivery)
}

// recordDelivery stores a delivery attempt's outcome: without waiting when the store
// allows, so the worker's bookkeeping never holds up an alarm's commit.
func (w *worker) recordDelivery(d Delivery) error {
	if lu, ok := w.m.store.(LazyUpdater); ok {
		lu.UpdateDeliveryLater(d)
		return nil
	}
	return w.m.store.UpdateDelivery(d)
}

func (w *worker) record(d Delivery, err error) {
	m := w.m
	w.mu.Lock()
	defer w.mu.Unlock()
	switch d.State {
	case Delivered:
		w.delivered++
		w.lastOK = d.DoneAt
		w.consecutive = 0
		m.met.deliveries.WithLabelValues(w.name, "delivered").Inc()
	case Rejected:
		w.rejected++
		w.lastErr, w.lastErrAt = err.Error(), d.DoneAt
		w.consecutive = 0
		m.met.deliveries.WithLabelValues(w.name, "rejected").Inc()
		m.log.Error("alerting: sink rejected a notification permanently", "sink", w.name, "id", d.Notification.ID, "err", err)
	default:
		w.failures++
		w.consecutive++
		w.lastErr, w.lastErrAt = err.Error(), d.LastAttempt
		m.met.deliveries.WithLabelValues(w.name, "failed").Inc()
		return
	}
	w.backlog.Add(-1)
	m.met.backlog.WithLabelValues(w.name).Set(float64(w.backlog.Load()))
}

// Health is the sink's delivery health: Degraded while deliveries fail, Up otherwise.
func (w *worker) Health() health.Status {
	w.mu.Lock()
	defer w.mu.Unlock()
	st := health.Status{State: health.Up, Detail: map[string]any{
		"backlog": w.backlog.Load(), "delivered": w.delivered, "failures": w.failures, "rejected": w.rejected,
	}}
	if !w.lastOK.IsZero() {
		st.Detail["last_delivered"] = w.lastOK
	}
	if w.lastErr != "" {
		st.Detail["last_error"] = w.lastErr
		st.Detail["last_error_at"] = w.lastErrAt
	}
	if w.consecutive > 0 {
		st.State = health.Degraded
		st.Reason = fmt.Sprintf("%d failed attempts in a row: %s", w.consecutive, w.lastErr)
	}
	if hr, ok := w.sink.(health.Reporter); ok {
		own := hr.Health()
		st.Detail["sink"] = own
		if own.State != "" && own.State != health.Up {
			st.State = health.Worst(st.State, own.State)
			if st.Reason == "" {
				st.Reason = own.Reason
			}
		}
	}
	return st
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
