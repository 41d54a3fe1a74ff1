package alerting

import (
	"context"
	"errors"
	"time"

	"github.com/jonboulle/clockwork"
)

// RetryDelayer is implemented by a sink's error when the receiver asked for a least
// delay before the next attempt (an HTTP Retry-After, a chat robot's rate limit). The
// deliverer waits at least that long, up to delivery.backoff_max.
type RetryDelayer interface {
	RetryDelay() time.Duration
}

// verdict is what one Deliver call's error means.
type verdict int

const (
	delivered verdict = iota // nil: the receiver took it
	rejected                 // *Permanent: retrying cannot fix it
	retryable                // anything else: try again after the back-off
)

// classify says what a sink's error means, and the least delay before the next
// attempt the receiver asked for (0: none).
func classify(err error) (verdict, time.Duration) {
	var perm *Permanent
	var rd RetryDelayer
	switch {
	case err == nil:
		return delivered, 0
	case errors.As(err, &perm):
		return rejected, 0
	case errors.As(err, &rd):
		return retryable, max(rd.RetryDelay(), 0)
	}
	return retryable, 0
}

// backoff is a capped exponential back-off: min, 2·min, 4·min, ... up to max.
type backoff struct {
	min, max time.Duration
	cur      time.Duration // the next wait (0: min)
}

// next returns the wait before the next attempt, at least least (capped at max), and
// doubles the one after.
func (b *backoff) next(least time.Duration) time.Duration {
	if b.cur < b.min {
		b.cur = b.min
	}
	d := max(b.cur, min(least, b.max))
	b.cur = min(b.cur*2, b.max)
	return d
}

// reset starts the back-off again from min (a success, or the sink says retry now).
func (b *backoff) reset() { b.cur = b.min }

// deliverer makes one sink's delivery attempts: attempt (one Deliver call with the
// timeout), classify the sink's error, back off (capped exponential from
// delivery.backoff_min to backoff_max, at least the receiver's RetryDelay, cut short
// by the sink's Waker), and record the outcome in the delivery. Every sink's worker
// has one; it is used by that worker's goroutine only.
type deliverer struct {
	sink    Sink
	clock   clockwork.Clock
	timeout time.Duration
	ready   <-chan struct{} // the sink's Waker: retry now (nil: none)
	bo      backoff
	least   time.Duration // the receiver's least delay from the last failed attempt
}

func newDeliverer(s Sink, clock clockwork.Clock, cfg DeliveryConfig) *deliverer {
	d := &deliverer{sink: s, clock: clock, timeout: cfg.Timeout, bo: backoff{min: cfg.BackoffMin, max: cfg.BackoffMax}}
	if wk, ok := s.(Waker); ok {
		d.ready = wk.Wake()
	}
	return d
}

// attempt delivers n once and says what came of it; err is the sink's error.
func (dl *deliverer) attempt(ctx context.Context, n Notification) (verdict, error) {
	dctx, cancel := context.WithTimeout(ctx, dl.timeout)
	err := dl.sink.Deliver(dctx, n)
	cancel()
	v, least := classify(err)
	dl.least = least
	if v != retryable {
		dl.bo.reset()
	}
	return v, err
}

// apply records an attempt's outcome in d: delivered (with the receiver, when the
// sink says), rejected, or still pending with its error.
func (dl *deliverer) apply(d *Delivery, v verdict, err error, now time.Time) {
	switch v {
	case delivered:
		d.State, d.DoneAt, d.LastError = Delivered, now, ""
		if vs, ok := dl.sink.(ViaSink); ok {
			d.Via = vs.Via(d.Notification.ID)
		}
	case rejected:
		d.State, d.DoneAt, d.LastError = Rejected, now, err.Error()
	default:
		d.LastError = err.Error()
	}
}

// delay is the wait before the next attempt, without taking it.
func (dl *deliverer) delay() time.Duration {
	return max(dl.bo.cur, dl.bo.min, min(dl.least, dl.bo.max))
}

// pause waits out the back-off before the next attempt, or less when the sink says a
// retry is worth it now; it reports false when ctx ended.
func (dl *deliverer) pause(ctx context.Context) bool {
	wait := dl.bo.next(dl.least)
	dl.least = 0
	select {
	case <-ctx.Done():
		return false
	case <-dl.clock.After(wait):
	case <-dl.ready:
		dl.bo.reset()
	}
	return true
}
