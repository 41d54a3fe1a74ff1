package alerting

// The per-sink delivery workers: the journal's pending deliveries, and those kept in
// memory while the journal cannot write.

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
