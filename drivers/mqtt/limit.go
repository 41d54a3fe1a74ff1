package mqtt

import (
	"sync"
	"time"
)

// bucket is a token bucket; the caller passes the time (pure, for fake clocks).
type bucket struct {
	rate   float64 // tokens per second
	burst  float64
	tokens float64
	last   time.Time
}

func newBucket(rate float64, burst int, now time.Time) *bucket {
	return &bucket{rate: rate, burst: float64(burst), tokens: float64(burst), last: now}
}

// allow takes one token if there is one.
func (b *bucket) allow(now time.Time) bool {
	if dt := now.Sub(b.last); dt > 0 {
		b.tokens += dt.Seconds() * b.rate
		if b.tokens > b.burst {
			b.tokens = b.burst
		}
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true
	}
	return false
}

// limiter holds one bucket per (mapping, device); safe for concurrent use.
type limiter struct {
	mu      sync.Mutex
	buckets map[limitKey]*bucket
}

type limitKey struct{ mapping, device string }

func newLimiter() *limiter { return &limiter{buckets: map[limitKey]*bucket{}} }

// allow applies cfg's bucket for device under mapping. A negative rate never limits.
func (l *limiter) allow(mapping, device string, cfg RateLimitConfig, now time.Time) bool {
	if cfg.Rate < 0 {
		return true
	}
	k := limitKey{mapping, device}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[k]
	if b == nil || b.rate != cfg.Rate || b.burst != float64(cfg.Burst) {
		b = newBucket(cfg.Rate, cfg.Burst, now)
		l.buckets[k] = b
	}
	return b.allow(now)
}

// logGate lets at most one log line per key through per interval and counts the ones
// it held back; safe for concurrent use. Keys are bounded by the caller (known devices
// plus one "unknown").
type logGate struct {
	interval time.Duration
	mu       sync.Mutex
	m        map[string]*gateState
}

type gateState struct {
	next       time.Time
	suppressed int
}

func newLogGate(interval time.Duration) *logGate {
	return &logGate{interval: interval, m: map[string]*gateState{}}
}

// allow reports whether to log for key now, and how many lines were suppressed since
// the last one that was let through.
func (g *logGate) allow(key string, now time.Time) (ok bool, suppressed int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.m[key]
	if s == nil {
		s = &gateState{}
		g.m[key] = s
	}
	if now.Before(s.next) {
		s.suppressed++
		return false, 0
	}
	n := s.suppressed
	s.suppressed = 0
	s.next = now.Add(g.interval)
	return true, n
}
