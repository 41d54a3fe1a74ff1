package mqtt

import (
	"sync"
	"time"

	"github.com/campusguard/campusguard/event"
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

// refill is how long an empty bucket takes to fill.
func (b *bucket) refill() time.Duration {
	if b.rate <= 0 {
		return 0
	}
	return time.Duration(b.burst / b.rate * float64(time.Second))
}

// stateFields are the event fields that carry a device's state. The rate limit drops
// only repeats: an event whose type, or whose value of one of these fields, differs
// from the last event passed for the same device and mapping always passes.
var stateFields = [...]string{"pressed", "occupied", "active", "tamper", "fault", "online"}

// NeverLimited reports whether the rate limit lets every event of type typ pass, even
// a repeat: a press, a tamper and a fault may each be a new one (a momentary button
// reports every press the same way), so none is ever dropped.
func NeverLimited(typ string) bool {
	return typ == event.TypePressed || typ == event.TypeTamper || typ == event.TypeFault
}

// FloodRestoreAfter is how long a flooding device must go without a dropped message
// before its flood fault is restored (or the bucket's refill time, burst/rate, when
// that is longer).
const FloodRestoreAfter = 10 * time.Second

// stateKey is what the limiter compares to tell a repeat from a change of state.
type stateKey struct {
	typ  string
	vals [len(stateFields)]any // nil when the event has no such field
}

func keyOf(e event.Event) stateKey {
	k := stateKey{typ: e.Type}
	for i, f := range stateFields {
		k.vals[i] = e.Fields[f]
	}
	return k
}

// same reports whether o repeats k. Values are compared by type (the event model's
// types only); anything else, and a NaN, counts as a change.
func (k stateKey) same(o stateKey) bool {
	if k.typ != o.typ {
		return false
	}
	for i := range k.vals {
		if !sameValue(k.vals[i], o.vals[i]) {
			return false
		}
	}
	return true
}

func sameValue(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case string:
		y, ok := b.(string)
		return ok && x == y
	case int64:
		y, ok := b.(int64)
		return ok && x == y
	case float64:
		y, ok := b.(float64)
		return ok && x == y
	case time.Time:
		y, ok := b.(time.Time)
		return ok && x.Equal(y)
	}
	return false
}

// limiter applies the per-(mapping, device) token buckets to repeats and tracks
// floods per device; safe for concurrent use.
type limiter struct {
	mu     sync.Mutex
	states map[limitKey]*limitState
	floods map[string]*flood // device → its flood in progress
}

type limitKey struct{ mapping, device string }

type limitState struct {
	b      *bucket
	last   stateKey // of the last event passed
	passed bool     // last is set
}

// flood is a device dropping messages over its rate.
type flood struct {
	dropped  int       // messages dropped since it started
	lastDrop time.Time // of the last one
	quiet    time.Duration
}

func newLimiter() *limiter {
	return &limiter{states: map[limitKey]*limitState{}, floods: map[string]*flood{}}
}

// verdict is the limiter's answer for one event.
type verdict struct {
	allow bool
	// started: this drop began a flood of the device (raise its fault).
	started bool
	// dropped: messages of the device dropped so far in its flood (after this one).
	dropped int
	// ended: the device's previous flood ended before this event (restore its fault);
	// endedDropped is how many that flood dropped.
	ended        bool
	endedDropped int
}

// allow decides whether e, from device under mapping, passes cfg's limit at now. A
// change of state (see stateFields) and the NeverLimited types always pass (taking a
// token when there is one); a repeat passes while the bucket has a token. A negative
// rate never limits.
func (l *limiter) allow(mapping, device string, cfg RateLimitConfig, e event.Event, now time.Time) verdict {
	if cfg.Rate < 0 {
		return verdict{allow: true}
	}
	k := limitKey{mapping, device}
	key := keyOf(e)
	l.mu.Lock()
	defer l.mu.Unlock()
	var v verdict
	if f := l.floods[device]; f != nil && now.Sub(f.lastDrop) >= f.quiet {
		delete(l.floods, device)
		v.ended, v.endedDropped = true, f.dropped
	}
	s := l.states[k]
	if s == nil || s.b.rate != cfg.Rate || s.b.burst != float64(cfg.Burst) {
		s = &limitState{b: newBucket(cfg.Rate, cfg.Burst, now)}
		l.states[k] = s
	}
	token := s.b.allow(now)
	if token || NeverLimited(e.Type) || !s.passed || !s.last.same(key) {
		s.last, s.passed = key, true
		v.allow = true
		return v
	}
	f := l.floods[device]
	if f == nil {
		f = &flood{}
		l.floods[device] = f
		v.started = true
	}
	f.dropped++
	f.lastDrop = now
	f.quiet = max(f.quiet, FloodRestoreAfter, s.b.refill())
	v.dropped = f.dropped
	return v
}

// floodEnd is a flood that ended: the device and how many messages it dropped.
type floodEnd struct {
	device  string
	dropped int
}

// sweep ends the floods that have been quiet long enough at now.
func (l *limiter) sweep(now time.Time) []floodEnd {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []floodEnd
	for dev, f := range l.floods {
		if now.Sub(f.lastDrop) >= f.quiet {
			delete(l.floods, dev)
			out = append(out, floodEnd{device: dev, dropped: f.dropped})
		}
	}
	return out
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
