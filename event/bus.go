package event

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// Policy says what the bus does when a subscriber's queue is full.
type Policy int

const (
	// Block makes the publisher wait for room (the alarm path: nothing is lost; the
	// wait is counted as a stall).
	Block Policy = iota
	// DropOldest discards the oldest queued event to make room (telemetry: may lose,
	// never slows the producers; each drop is counted).
	DropOldest
)

// ErrClosed is returned by Publish after Close.
var ErrClosed = errors.New("event bus closed")

// Bus fans events out to subscribers, each with its own bounded queue. It assigns every
// published event its sequence number; each subscriber sees events in sequence order.
type Bus struct {
	mu     sync.Mutex // serialises publishes so queues see events in Seq order
	seq    uint64
	subs   []*Subscription
	closed bool
	now    func() time.Time

	published atomic.Uint64
}

// Subscription is one consumer's queue.
type Subscription struct {
	Name    string
	policy  Policy
	ch      chan Event
	dropped atomic.Uint64
	stalls  atomic.Uint64
}

// NewBus returns a bus whose receive times (for events published without one) come
// from now; nil means time.Now.
func NewBus(now func() time.Time) *Bus {
	if now == nil {
		now = time.Now
	}
	return &Bus{now: now}
}

// Subscribe adds a consumer with a queue of size events. Subscribe before the
// producers start: a subscriber added later sees only later events.
func (b *Bus) Subscribe(name string, size int, p Policy) *Subscription {
	if size < 1 {
		size = 1
	}
	s := &Subscription{Name: name, policy: p, ch: make(chan Event, size)}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		close(s.ch)
	}
	b.subs = append(b.subs, s)
	return s
}

// C is the subscriber's queue; it is closed when the bus closes.
func (s *Subscription) C() <-chan Event { return s.ch }

// Dropped counts events discarded from this queue (DropOldest only).
func (s *Subscription) Dropped() uint64 { return s.dropped.Load() }

// Stalls counts publishes that had to wait for room in this queue (Block only).
func (s *Subscription) Stalls() uint64 { return s.stalls.Load() }

// Len is the number of events waiting in the queue.
func (s *Subscription) Len() int { return len(s.ch) }

// Cap is the queue's size.
func (s *Subscription) Cap() int { return cap(s.ch) }

// Publish assigns e its sequence number (and receive time, if unset) and queues it for
// every subscriber. It waits for room in Block queues until ctx ends; on ctx end the
// event may have reached only some subscribers and the error says so.
func (b *Bus) Publish(ctx context.Context, e Event) (Event, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return e, ErrClosed
	}
	b.seq++
	e.Seq = b.seq
	if e.ReceivedAt.IsZero() {
		e.ReceivedAt = b.now()
	}
	for _, s := range b.subs {
		if err := s.put(ctx, e); err != nil {
			return e, err
		}
	}
	b.published.Add(1)
	return e, nil
}

func (s *Subscription) put(ctx context.Context, e Event) error {
	select {
	case s.ch <- e:
		return nil
	default:
	}
	if s.policy == DropOldest {
		for {
			select {
			case <-s.ch:
				s.dropped.Add(1)
			default:
			}
			select {
			case s.ch <- e:
				return nil
			default:
			}
		}
	}
	s.stalls.Add(1)
	select {
	case s.ch <- e:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Published counts events published since start.
func (b *Bus) Published() uint64 { return b.published.Load() }

// Subscriptions returns the current subscribers (for metrics).
func (b *Bus) Subscriptions() []*Subscription {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]*Subscription(nil), b.subs...)
}

// Close stops the bus: later publishes fail and every subscriber's queue is closed once
// drained. Call it after the producers have stopped.
func (b *Bus) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	b.closed = true
	for _, s := range b.subs {
		close(s.ch)
	}
}
