package alerting

// Journal commits: queued in the order of the changes, waited for, retried on failure.

import (
	"slices"
	"time"
)

// enqueue queues c in the journal (call with m.mu held, so commits keep the order of
// the changes); the empty commit needs no wait.
func (m *Manager) enqueue(c *Commit) func() error {
	if c.Empty() {
		return nil
	}
	return m.store.Enqueue(*c)
}

// settle waits for the commit, then wakes the sink workers of its deliveries. A
// failed commit is kept and retried on the next tick (newer alarm records win).
func (m *Manager) settle(c *Commit, wait func() error) error {
	if wait == nil {
		return nil
	}
	if err := wait(); err != nil {
		m.mu.Lock()
		m.failed = append(m.failed, *c)
		m.lastErr = err
		m.mu.Unlock()
		m.met.commitErrors.Inc()
		// The alarm is kept in memory and its commit retried; meanwhile its
		// notifications go out from memory so the police and staff still hear of it.
		bySink := map[string][]Delivery{}
		for _, d := range c.Deliveries {
			bySink[d.Sink] = append(bySink[d.Sink], d)
		}
		for sink, ds := range bySink {
			if w := m.workers[sink]; w != nil {
				w.addMem(ds)
			}
		}
		return err // the store's error names it ("journal <path>: commit: ...")
	}
	m.mu.Lock()
	if len(m.failed) == 0 {
		m.lastErr = nil
	}
	m.mu.Unlock()
	m.wake(c.Deliveries)
	return nil
}

func (m *Manager) wake(ds []Delivery) {
	for _, d := range ds {
		if d.State != "" && d.State != Pending {
			continue
		}
		if w, ok := m.workers[d.Sink]; ok {
			w.backlog.Add(1)
			m.met.backlog.WithLabelValues(d.Sink).Set(float64(w.backlog.Load()))
			select {
			case w.wake <- struct{}{}:
			default:
			}
		}
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
