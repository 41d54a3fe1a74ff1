package daemon

import (
	"context"
	"os"
	"sync"
	"time"

	sd "github.com/coreos/go-systemd/v22/daemon"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/event"
	"github.com/campusguard/campusguard/rules"
)

// ruleStateKey is where the rule engine's open instances are kept across restarts.
const ruleStateKey = "rules/engine"

// handleEvent runs one event through the rule engine and hands its changes to
// alerting, then moves the durability watermark past it: every journal write it caused
// is on disk (Handle returns after the fsync). While the journal cannot write, the
// watermark is held, so inputs stop acknowledging and their sources keep what they
// sent.
func (d *Daemon) handleEvent(ctx context.Context, ev event.Event) {
	d.handleEvents(ctx, []event.Event{ev})
}

// maxBatch bounds the events the main loop takes in one round when they are already
// queued: their journal commits share one fsync.
const maxBatch = 64

// handleEvents runs a batch of events (in bus order) through the rule engine, queues
// every change with alerting, waits for all their commits at once, and only then moves
// the watermark past the last event.
func (d *Daemon) handleEvents(ctx context.Context, evs []event.Event) {
	now := d.clock.Now()
	var waits []commitWait
	changed := false
	for _, ev := range evs {
		d.metrics.loopEvents.Inc()
		cs := d.p.engine.Process(now, ev)
		changed = changed || len(cs) > 0
		waits = d.queueChanges(ctx, cs, waits)
	}
	d.awaitCommits(ctx, waits)
	if changed {
		d.saveRuleState(false)
	}
	last := evs[len(evs)-1].Seq
	d.processed.Advance(last)
	d.settleWatermark()
}

// drainBatch takes ev and the events already waiting behind it, up to maxBatch.
func drainBatch(ev event.Event, in <-chan event.Event) []event.Event {
	batch := []event.Event{ev}
	for len(batch) < maxBatch {
		select {
		case e, ok := <-in:
			if !ok {
				return batch
			}
			batch = append(batch, e)
		default:
			return batch
		}
	}
	return batch
}

// settleWatermark moves the watermark to the last processed event, or holds it while
// alerting has a journal write waiting for a retry.
func (d *Daemon) settleWatermark() {
	if d.p.alerts.Failing() {
		if !d.mark.Held() {
			d.log.Error("journal cannot write: input is no longer acknowledged until it can", "last_durable", d.mark.Durable())
		}
		d.mark.Hold()
		return
	}
	if d.mark.Held() {
		d.log.Info("journal writes again: input is acknowledged again", "durable", d.processed.Durable())
		d.mark.Release(d.processed.Durable())
		return
	}
	d.mark.Advance(d.processed.Durable())
}

// applyResets re-arms the rule instances of alarms a person reset (the console, the
// API, an MQTT command), so the next press raises a new alarm.
func (d *Daemon) applyResets() {
	now := d.clock.Now()
	n := 0
	for _, a := range d.resets.take() {
		if d.p.engine.Reset(now, a.Rule, a.Key) {
			n++
			d.log.Info("rule instance re-armed after a reset", "rule", a.Rule, "key", a.Key, "by", a.ResolvedBy)
		}
	}
	if n > 0 {
		d.saveRuleState(true)
	}
}

// resetQueue hands a person's resets from any goroutine to the main loop, which owns
// the rule engine. It never blocks and never drops.
type resetQueue struct {
	mu    sync.Mutex
	items []alerting.Alarm
	ready chan struct{}
}

func newResetQueue() *resetQueue { return &resetQueue{ready: make(chan struct{}, 1)} }

func (q *resetQueue) add(a alerting.Alarm) {
	q.mu.Lock()
	q.items = append(q.items, a)
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

func (q *resetQueue) take() []alerting.Alarm {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.items
	q.items = nil
	return out
}

// handleTimer runs the engine's due timers.
func (d *Daemon) handleTimer(ctx context.Context) {
	d.handleChanges(ctx, d.p.engine.Tick(d.clock.Now()))
}

func (d *Daemon) handleChanges(ctx context.Context, cs []rules.Change) {
	d.awaitCommits(ctx, d.queueChanges(ctx, cs, nil))
	if len(cs) > 0 {
		d.saveRuleState(false)
	}
}

// commitWait is one change's journal commit being awaited.
type commitWait struct {
	c    rules.Change
	wait func() error
}

// queueChanges hands the engine's changes to alerting (the siren sounds at once) and
// appends the waits for their journal commits. Each change is logged after alerting
// took it: formatting a log line is not worth a siren's delay.
func (d *Daemon) queueChanges(ctx context.Context, cs []rules.Change, waits []commitWait) []commitWait {
	for _, c := range cs {
		t := alerting.Trigger{Rule: c.Rule, Key: c.Key, Firing: c.Firing, At: c.At, Severity: alerting.Severity(c.Severity),
			Labels: c.Labels, Message: c.Message, DeviceID: c.DeviceID, Event: c.Event, Reason: c.Reason, Latch: c.Latch,
			Renotify: c.Renotify, Occurrence: c.Occurrence}
		waits = append(waits, commitWait{c: c, wait: d.p.alerts.HandleAsync(ctx, t)})
		switch {
		case c.Renotify:
			d.log.Info("rule still firing", "rule", c.Rule, "key", c.Key)
		case c.Occurrence:
			d.log.Info("rule triggered again", "rule", c.Rule, "key", c.Key, "severity", c.Severity, "message", c.Message)
		case c.Firing:
			d.log.Info("rule fired", "rule", c.Rule, "key", c.Key, "severity", c.Severity, "message", c.Message)
		default:
			d.log.Info("rule cleared", "rule", c.Rule, "key", c.Key, "reason", c.Reason)
		}
	}
	return waits
}

// awaitCommits waits for the queued changes' journal commits (they share an fsync). A
// failed commit is kept in memory and retried by alerting; it is logged here.
func (d *Daemon) awaitCommits(ctx context.Context, waits []commitWait) {
	for _, w := range waits {
		if err := w.wait(); err != nil && ctx.Err() == nil {
			d.log.Error("alarm not journaled yet; kept in memory, delivered from memory, retried", "rule", w.c.Rule, "key", w.c.Key, "err", err)
		}
	}
}

// saveRuleState persists the engine's open instances (latched, pending for, open
// absences) at most every 5 s, written off the loop by the rule saver; forced (a
// person's reset, the stop) it is written before the loop goes on.
func (d *Daemon) saveRuleState(force bool) {
	p := d.p
	now := d.clock.Now()
	if !force && now.Sub(p.ruleSave) < 5*time.Second {
		return
	}
	p.ruleSave = now
	if force {
		p.ruleSaver.flush(p.engine.State())
		return
	}
	p.ruleSaver.offer(p.engine.State())
}

// nextDeadline is how long until the engine's next timer (capped, so the state is
// saved regularly).
func (d *Daemon) nextDeadline() time.Duration {
	wait := 5 * time.Second
	if t, ok := d.p.engine.NextDeadline(); ok {
		if w := t.Sub(d.clock.Now()); w < wait {
			wait = w
		}
	}
	if wait < 0 {
		wait = 0
	}
	return wait
}

// loop is the main loop: it evaluates events, handles reloads and proves its own
// progress to the systemd watchdog.
func (d *Daemon) loop(ctx context.Context, hup <-chan os.Signal, changed <-chan struct{}) error {
	in := d.p.ruleSub
	d.handleTimer(ctx) // absence timers count from start
	timer := d.clock.NewTimer(d.nextDeadline())
	defer timer.Stop()
	var wdC <-chan time.Time
	if iv, err := sd.SdWatchdogEnabled(false); err == nil && iv > 0 {
		t := d.clock.NewTicker(iv / 2)
		defer t.Stop()
		wdC = t.Chan()
		d.log.Info("systemd watchdog enabled", "interval", iv)
	}
	status := d.clock.NewTicker(30 * time.Second)
	defer status.Stop()
	// While the journal cannot write, look every second whether alerting's retry got
	// through, to acknowledge input again.
	held := d.clock.NewTicker(time.Second)
	defer held.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-held.Chan():
			if d.mark.Held() {
				d.settleWatermark()
			}
		case <-d.resets.ready:
			d.applyResets()
		case done := <-d.pings:
			// Everything a caller did before Ping is seen by the loop after it: the
			// resets it made, and the timers its clock reached.
			d.applyResets()
			if t, ok := d.p.engine.NextDeadline(); ok && !t.After(d.clock.Now()) {
				d.handleTimer(ctx)
			}
			if d.mark.Held() {
				d.settleWatermark()
			}
			close(done)
		case ev, ok := <-in.C():
			if !ok {
				return nil
			}
			// Events already queued behind this one share its journal fsync.
			d.handleEvents(ctx, drainBatch(ev, in.C()))
			if !timer.Stop() {
				select {
				case <-timer.Chan():
				default:
				}
			}
			timer.Reset(d.nextDeadline())
		case <-timer.Chan():
			d.handleTimer(ctx)
			d.saveRuleState(false)
			timer.Reset(d.nextDeadline())
		case <-wdC:
			// Reached only when the loop is free: a stuck pipeline stops the pings.
			d.opts.Notify("WATCHDOG=1")
		case <-status.Chan():
			d.notifyStatus()
		case <-hup:
			d.doReload(ctx, "SIGHUP", nil)
		case <-changed:
			d.doReload(ctx, "config files changed", nil)
		case r := <-d.reloadReq:
			d.doReload(ctx, r.reason, r.result)
		}
	}
}
