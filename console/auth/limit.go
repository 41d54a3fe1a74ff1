package auth

import (
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
)

// Limiter counts failed logins per key (client address, account name) in a sliding
// window: once a key has Attempts failures within Window, Allow refuses it until the
// oldest of them is older than Window. Safe for concurrent use; memory is bounded
// (keys whose failures have all aged out are dropped; at most maxKeys are kept).
type Limiter struct {
	clock    clockwork.Clock
	attempts int
	window   time.Duration

	mu sync.Mutex
	m  map[string][]time.Time
}

const maxKeys = 10000

// NewLimiter returns a limiter allowing attempts failures per window per key.
func NewLimiter(clock clockwork.Clock, attempts int, window time.Duration) *Limiter {
	return &Limiter{clock: clock, attempts: max(attempts, 1), window: window, m: map[string][]time.Time{}}
}

// Set changes the limits (a reload).
func (l *Limiter) Set(attempts int, window time.Duration) {
	l.mu.Lock()
	l.attempts, l.window = max(attempts, 1), window
	l.mu.Unlock()
}

// Allow reports whether every key may try again now; when not, retry is how long until
// it may.
func (l *Limiter) Allow(keys ...string) (ok bool, retry time.Duration) {
	now := l.clock.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		ts := l.recent(k, now)
		if len(ts) >= l.attempts {
			if r := ts[len(ts)-l.attempts].Add(l.window).Sub(now); r > retry {
				retry = r
			}
		}
	}
	return retry <= 0, retry
}

// Fail records a failed attempt for every key.
func (l *Limiter) Fail(keys ...string) {
	now := l.clock.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.m) >= maxKeys {
		for k := range l.m {
			if len(l.recent(k, now)) == 0 {
				delete(l.m, k)
			}
		}
		for k := range l.m { // still full: forget arbitrary keys (map order) rather than grow
			if len(l.m) < maxKeys {
				break
			}
			delete(l.m, k)
		}
	}
	for _, k := range keys {
		ts := append(l.recent(k, now), now)
		if len(ts) > l.attempts {
			ts = ts[len(ts)-l.attempts:]
		}
		l.m[k] = ts
	}
}

// Reset forgets key's failures (a successful login of that account).
func (l *Limiter) Reset(key string) {
	l.mu.Lock()
	delete(l.m, key)
	l.mu.Unlock()
}

// recent returns key's failures within the window (l.mu held), dropping older ones.
func (l *Limiter) recent(key string, now time.Time) []time.Time {
	ts := l.m[key]
	i := 0
	for i < len(ts) && !now.Before(ts[i].Add(l.window)) {
		i++
	}
	if i == len(ts) {
		delete(l.m, key)
		return nil
	}
	if i > 0 {
		ts = ts[i:]
		l.m[key] = ts
	}
	return ts
}
