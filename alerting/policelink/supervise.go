package policelink

import (
	"context"
	"time"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/alerting/policelink/dc09"
)

// linkReport is a report the link makes on its own: a path failure or restore, a
// periodic test. It is kept, in memory and in the journal's state, until a receiver
// acknowledges it.
type linkReport struct {
	kind  string // metrics label: link or test
	rep   Report
	seq   int   // 0 until first sent; retries reuse it
	avoid *path // the path it is about: tried last
}

// Run supervises the paths until ctx ends: it sends a NULL link test on each path
// when the path carried no message for its interval (the backup's slow interval
// becomes the main one while the main path is down), sends the path-failure and
// -restore reports and events queued by any message, and the periodic test. The
// first poll of every path is at once. It returns nil when ctx ends.
func (s *Sink) Run(ctx context.Context) error {
	s.mu.Lock()
	s.running = true
	s.scheduleTest(s.clock.Now())
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.running = false
		s.mu.Unlock()
		s.Close()
	}()
	for {
		s.flushEvents(ctx)
		if ctx.Err() != nil {
			return nil
		}
		now := s.clock.Now()
		if p := s.duePath(now); p != nil {
			s.poll(ctx, p)
			continue
		}
		if s.testDue(now) {
			continue
		}
		if s.reportsDue(now) {
			s.sendPending(ctx)
			continue
		}
		wait := s.nextWake(now).Sub(now)
		t := s.clock.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-s.kick:
			t.Stop()
		case <-t.Chan():
		}
	}
}

// interval is p's supervision interval as of now: while the main path is down it
// is probed every probe_main, so that reports go back to it soon after it returns.
func (s *Sink) interval(p *path) time.Duration {
	if p.num == 1 {
		if p.state == stateDown {
			return s.cfg.Supervision.ProbeMain
		}
		return s.cfg.Supervision.Main
	}
	if s.paths[0].state == stateDown {
		return s.cfg.Supervision.Main
	}
	return s.cfg.Supervision.Backup
}

// duePath returns the first path whose supervision interval has passed.
func (s *Sink) duePath(now time.Time) *path {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.paths {
		if p.active.IsZero() || !now.Before(p.active.Add(s.interval(p))) {
			return p
		}
	}
	return nil
}

// nextWake is the earliest of the paths' supervision times, the periodic test and
// the retry of pending reports.
func (s *Sink) nextWake(now time.Time) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := now.Add(MaxSupervision)
	for _, p := range s.paths {
		if t := p.active.Add(s.interval(p)); t.Before(next) {
			next = t
		}
	}
	if !s.nextTest.IsZero() && s.nextTest.Before(next) {
		next = s.nextTest
	}
	if len(s.pending) > 0 && s.retryAt.Before(next) {
		next = s.retryAt
	}
	if next.Before(now) {
		next = now
	}
	return next
}

// poll sends a NULL message to p's receivers in configured order until one
// acknowledges it.
func (s *Sink) poll(ctx context.Context, p *path) {
	now := s.clock.Now()
	s.mu.Lock()
	p.active = now // the next poll is an interval from now, whatever the answer
	s.mu.Unlock()
	_, err := s.send(ctx, s.cfg.nullMessage(s.key != nil), "null", p.rcvs)
	if err != nil && ctx.Err() == nil {
		s.m.supFailures.WithLabelValues(p.name).Inc()
		s.log.Warn("policelink: supervision failed", "path", p.name, "err", err)
	}
	s.mu.Lock()
	if p.active.Before(now) {
		p.active = now
	}
	s.mu.Unlock()
}

// flushEvents publishes the queued path events, in order.
func (s *Sink) flushEvents(ctx context.Context) {
	s.mu.Lock()
	evs := s.events
	s.events = nil
	s.mu.Unlock()
	for _, e := range evs {
		s.publish(ctx, e)
	}
}

func (s *Sink) reportsDue(now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending) > 0 && !now.Before(s.retryAt)
}

// sendPending sends the pending link reports in order; on the first failure the
// rest wait for Supervision.Retry.
func (s *Sink) sendPending(ctx context.Context) {
	s.mu.Lock()
	unsaved := len(s.pending) != s.pendingSaved
	s.mu.Unlock()
	if unsaved {
		s.save() // the queued reports outlive a crash
	}
	for ctx.Err() == nil {
		s.mu.Lock()
		if len(s.pending) == 0 {
			s.mu.Unlock()
			return
		}
		lr := s.pending[0]
		s.mu.Unlock()
		if lr.seq == 0 {
			n := s.nextSeq()
			s.mu.Lock()
			lr.seq = n
			s.mu.Unlock()
			s.save() // the number, with the report, persisted before it is sent
		}
		msg, err := s.cfg.message(lr.rep, lr.seq, s.key != nil)
		if err != nil {
			s.log.Error("policelink: link report cannot be built; dropped", "report", lr.rep, "err", err)
			s.dropPending(lr)
			continue
		}
		order := s.deliveryOrder()
		if lr.avoid != nil {
			var first, last []*receiver
			for _, r := range order {
				if r.path == lr.avoid {
					last = append(last, r)
				} else {
					first = append(first, r)
				}
			}
			order = append(first, last...)
		}
		res, err := s.send(ctx, msg, lr.kind, order)
		switch {
		case err == nil:
			s.log.Info("policelink: link report acknowledged", "data", msg.Data, "receiver", res.rcv.String())
			s.dropPending(lr)
			s.journalReport(linkAction(lr), reportNote(lr.rep, lr.seq, "acknowledged by "+res.rcv.String()))
		case res.out == outDUH:
			s.log.Error("policelink: link report rejected by the receiver", "data", msg.Data, "receiver", res.rcv.String(), "err", err)
			s.dropPending(lr)
			s.journalReport(linkAction(lr), reportNote(lr.rep, lr.seq, "rejected (DUH) by "+res.rcv.String()))
			s.publish(ctx, s.rejectEvent(alerting.Notification{}, res.rcv, CauseDUH, err))
		default:
			if ctx.Err() != nil {
				return
			}
			s.log.Warn("policelink: link report not delivered; will retry", "data", msg.Data, "retry_in", s.cfg.Supervision.Retry, "err", err)
			s.mu.Lock()
			s.retryAt = s.clock.Now().Add(s.cfg.Supervision.Retry)
			s.mu.Unlock()
			return
		}
	}
}

func (s *Sink) dropPending(lr *linkReport) {
	s.mu.Lock()
	for i, p := range s.pending {
		if p == lr {
			s.pending = append(s.pending[:i], s.pending[i+1:]...)
			break
		}
	}
	s.mu.Unlock()
	s.save()
}

// scheduleTest sets nextTest from lastTest and the config. Called with mu held.
func (s *Sink) scheduleTest(now time.Time) {
	pt := s.cfg.PeriodicTest
	if pt.Disabled {
		s.nextTest = time.Time{}
		return
	}
	s.nextTest = NextTest(pt, s.lastTest, now, s.loc)
}

// NextTest returns when the periodic test after last (zero: none yet) is due:
// every Interval from the daily anchor At (site time; "" = Interval after now when
// there was no test yet). A test missed while the gateway was off is due at once.
func NextTest(pt PeriodicTest, last, now time.Time, loc *time.Location) time.Time {
	if pt.Interval <= 0 {
		return time.Time{}
	}
	if pt.At == "" {
		if last.IsZero() {
			return now.Add(pt.Interval)
		}
		return last.Add(pt.Interval)
	}
	at, err := time.Parse("15:04", pt.At)
	if err != nil {
		return time.Time{}
	}
	if loc == nil {
		loc = time.Local
	}
	l := now.In(loc)
	anchor := time.Date(l.Year(), l.Month(), l.Day(), at.Hour(), at.Minute(), 0, 0, loc)
	ref, strict := now, false // the first t at (or, after a test, strictly after) ref
	if !last.IsZero() {
		ref, strict = last, true
	}
	before := func(t time.Time) bool { return t.Before(ref) || strict && t.Equal(ref) }
	t := anchor.Add(ref.Sub(anchor) / pt.Interval * pt.Interval)
	for before(t) {
		t = t.Add(pt.Interval)
	}
	for !before(t.Add(-pt.Interval)) {
		t = t.Add(-pt.Interval)
	}
	return t
}

// testDue queues the periodic test when it is due and reports whether it did.
func (s *Sink) testDue(now time.Time) bool {
	s.mu.Lock()
	if s.nextTest.IsZero() || now.Before(s.nextTest) {
		s.mu.Unlock()
		return false
	}
	pt := s.cfg.PeriodicTest
	due := s.nextTest
	s.pending = append(s.pending, &linkReport{kind: "test", rep: Report{
		Qualifier: dc09.QualifierNew, Code: pt.Code, SIA: pt.SIA, At: due, Test: true}})
	s.retryAt = time.Time{}
	s.lastTest = due
	if !pt.Disabled {
		s.nextTest = NextTest(pt, maxTime(due, now), now, s.loc) // a long outage sends one test, not a burst
	}
	s.mu.Unlock()
	s.save()
	return true
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func linkAction(lr *linkReport) string {
	if lr.kind == "test" {
		return ActionTestReport
	}
	return ActionLinkReport
}
