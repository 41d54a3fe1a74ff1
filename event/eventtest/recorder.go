// Package eventtest is an in-memory event.Publisher for the tests of the packages that
// produce events: a Recorder numbers and keeps what it is given, and lets a test await
// events (no sleeping) or make publishing fail.
package eventtest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/campusguard/campusguard/event"
)

// Guard bounds the waits of the testing.TB helpers (Take, Expect): a guard against a
// hang, not a timing assertion.
const Guard = 10 * time.Second

// Recorder is an event.Publisher that keeps the events it takes, in order. It numbers
// them as the Bus does (Seq from 1; ReceivedAt from its clock when unset). Next and
// Take hand out the events one by one in that order; Events lists all of them.
type Recorder struct {
	now func() time.Time

	mu      sync.Mutex
	seq     uint64
	events  []event.Event
	taken   int   // events handed out by Next
	tries   int   // Publish calls, refused ones included
	fail    error // returned by Publish when set
	changed chan struct{}
}

var _ event.Publisher = (*Recorder)(nil)

// NewRecorder returns an empty Recorder whose receive times come from now; nil means
// time.Now.
func NewRecorder(now func() time.Time) *Recorder {
	if now == nil {
		now = time.Now
	}
	return &Recorder{now: now, changed: make(chan struct{})}
}

// Publish records e with the next sequence number, or refuses it with the error set
// by Fail. It never blocks.
func (r *Recorder) Publish(_ context.Context, e event.Event) (event.Event, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tries++
	defer r.signal()
	if r.fail != nil {
		return e, r.fail
	}
	r.seq++
	e.Seq = r.seq
	if e.ReceivedAt.IsZero() {
		e.ReceivedAt = r.now()
	}
	r.events = append(r.events, e)
	return e, nil
}

// signal wakes the waiters; r.mu is held.
func (r *Recorder) signal() {
	close(r.changed)
	r.changed = make(chan struct{})
}

// Fail makes every later Publish return err (a closed or stuck bus); nil accepts
// events again.
func (r *Recorder) Fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fail = err
}

// Events returns a copy of every event recorded so far.
func (r *Recorder) Events() []event.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]event.Event(nil), r.events...)
}

// Len is the number of events recorded.
func (r *Recorder) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.events)
}

// Tries is the number of Publish calls, refused ones included.
func (r *Recorder) Tries() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.tries
}

// Pending returns the recorded events Next has not handed out yet.
func (r *Recorder) Pending() []event.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]event.Event(nil), r.events[r.taken:]...)
}

// wait returns once cond (called with r.mu held) is true, or with ctx's error.
func (r *Recorder) wait(ctx context.Context, cond func() bool) error {
	for {
		r.mu.Lock()
		if cond() {
			r.mu.Unlock()
			return nil
		}
		ch := r.changed
		r.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Await waits until at least n events are recorded and returns all of them.
func (r *Recorder) Await(ctx context.Context, n int) ([]event.Event, error) {
	if err := r.wait(ctx, func() bool { return len(r.events) >= n }); err != nil {
		return r.Events(), fmt.Errorf("await %d events (have %d): %w", n, r.Len(), err)
	}
	return r.Events(), nil
}

// AwaitTries waits until Publish was called at least n times, refused calls included.
func (r *Recorder) AwaitTries(ctx context.Context, n int) error {
	if err := r.wait(ctx, func() bool { return r.tries >= n }); err != nil {
		return fmt.Errorf("await %d publishes (have %d): %w", n, r.Tries(), err)
	}
	return nil
}

// Next waits for the first event not yet handed out and hands it out.
func (r *Recorder) Next(ctx context.Context) (event.Event, error) {
	if err := r.wait(ctx, func() bool { return r.taken < len(r.events) }); err != nil {
		return event.Event{}, fmt.Errorf("await the next event: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.events[r.taken]
	r.taken++
	return e, nil
}

// Take is Next for a test: it fails t when no event comes within Guard.
func (r *Recorder) Take(t testing.TB) event.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Guard)
	defer cancel()
	e, err := r.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// Expect takes the next event and fails t unless its Type is typ.
func (r *Recorder) Expect(t testing.TB, typ string) event.Event {
	t.Helper()
	e := r.Take(t)
	if e.Type != typ {
		t.Fatalf("got event %s, want type %q", e, typ)
	}
	return e
}

// NoMore fails t when an event is recorded that Next has not handed out.
func (r *Recorder) NoMore(t testing.TB) {
	t.Helper()
	if p := r.Pending(); len(p) > 0 {
		t.Fatalf("unexpected event %s", p[0])
	}
}
