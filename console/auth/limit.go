package auth

import (
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
)

// Limiter throttles login attempts per key (a client address, an account name) with
// an exponential back-off instead of a lock: each key gets Attempts free tries; once
// that many have failed (or are being checked), the next try is allowed only after a
// pause that doubles with every further failure (1 s, 2 s, 4 s …), capped per key kind
// (see Cap). A key with no failure for Window is forgotten.
//
// An attempt is reserved before its password is checked (Reserve), so parallel
// attempts cannot all slip past the limit while the slow hash runs; the reservation
// is settled afterwards (Done).
//
// Safe for concurrent use; memory is bounded (at most maxKeys keys are kept).
type Limiter struct {
	clock    clockwork.Clock
	attempts int
	window   time.Duration

	mu sync.Mutex
	m  map[string]*keyState
}

type keyState struct {
	fails int       // failures and reservations within the window
	next  time.Time // no attempt before this
	last  time.Time // the last failure or reservation
}

const maxKeys = 10000

// BaseBackoff is the first pause after the free attempts are used up.
const BaseBackoff = time.Second

// NewLimiter returns a limiter allowing attempts free tries per key; failures are
// forgotten after window without one.
func NewLimiter(clock clockwork.Clock, attempts int, window time.Duration) *Limiter {
	return &Limiter{clock: clock, attempts: max(attempts, 1), window: window, m: map[string]*keyState{}}
}

// Set changes the limits (a reload).
func (l *Limiter) Set(attempts int, window time.Duration) {
	l.mu.Lock()
	l.attempts, l.window = max(attempts, 1), window
	l.mu.Unlock()
}

// Key is one limited key and the longest pause it may get.
type Key struct {
	Name string
	Cap  time.Duration // 0: the window
}

// Reservation is an attempt admitted by Reserve: settle it with Done.
type Reservation struct {
	l    *Limiter
	keys []Key
}

// Reserve admits an attempt for every key at once, or none: when any key is backing
// off, it returns nil and how long until that key may try again. An admitted attempt
// counts as a failure until Done says otherwise.
func (l *Limiter) Reserve(keys ...Key) (*Reservation, time.Duration) {
	now := l.clock.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	var retry time.Duration
	for _, k := range keys {
		if s := l.state(k.Name, now); s != nil && now.Before(s.next) {
			retry = max(retry, s.next.Sub(now))
		}
	}
	if retry > 0 {
		return nil, retry
	}
	l.makeRoom(now, len(keys))
	for _, k := range keys {
		s := l.m[k.Name]
		if s == nil {
			s = &keyState{}
			l.m[k.Name] = s
		}
		s.fails++
		s.last = now
		if over := s.fails - l.attempts; over >= 0 {
			s.next = now.Add(l.pause(over, k.Cap))
		}
	}
	return &Reservation{l: l, keys: keys}, 0
}

// pause is the back-off after over attempts beyond the free ones (l.mu held).
func (l *Limiter) pause(over int, cap time.Duration) time.Duration {
	if cap <= 0 || cap > l.window {
		cap = l.window
	}
	d := BaseBackoff
	for i := 0; i < over && d < cap; i++ {
		d *= 2
	}
	return min(d, cap)
}

// Done settles the attempt: a failed one stays counted; a successful one clears the
// keys named in clear and gives back the reservation of the others.
func (r *Reservation) Done(ok bool, clear ...string) {
	if r == nil || !ok {
		return
	}
	l := r.l
	now := l.clock.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range r.keys {
		s := l.state(k.Name, now)
		if s == nil {
			continue
		}
		cleared := false
		for _, c := range clear {
			cleared = cleared || c == k.Name
		}
		if cleared || s.fails <= 1 {
			delete(l.m, k.Name)
			continue
		}
		s.fails--
		if s.fails < l.attempts {
			s.next = time.Time{}
		}
	}
}

// Release gives back the reservation of the named keys only (an attempt that was not
// tried: the client stays counted, the account does not).
func (r *Reservation) Release(names ...string) {
	if r == nil {
		return
	}
	l := r.l
	now := l.clock.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, n := range names {
		s := l.state(n, now)
		if s == nil {
			continue
		}
		if s.fails <= 1 {
			delete(l.m, n)
			continue
		}
		s.fails--
		if s.fails < l.attempts {
			s.next = time.Time{}
		}
	}
}

// Retry reports how long key must still wait (0: it may try now).
func (l *Limiter) Retry(key string) time.Duration {
	now := l.clock.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if s := l.state(key, now); s != nil && now.Before(s.next) {
		return s.next.Sub(now)
	}
	return 0
}

// state returns key's live state (l.mu held), forgetting it after a quiet window.
func (l *Limiter) state(key string, now time.Time) *keyState {
	s := l.m[key]
	if s == nil {
		return nil
	}
	if !now.Before(s.last.Add(l.window)) && !now.Before(s.next) {
		delete(l.m, key)
		return nil
	}
	return s
}

// makeRoom keeps the map bounded before n keys are added (l.mu held). When full it
// drops the quiet keys, and if that is not enough a quarter of the rest (map order),
// so a flood of new keys costs one pass per maxKeys/4 of them, not one per attempt.
func (l *Limiter) makeRoom(now time.Time, n int) {
	if len(l.m)+n <= maxKeys {
		return
	}
	for k := range l.m {
		l.state(k, now)
	}
	for k := range l.m {
		if len(l.m)+n <= maxKeys*3/4 {
			break
		}
		delete(l.m, k)
	}
}
