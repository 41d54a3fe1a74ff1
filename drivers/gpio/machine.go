package gpio

import (
	"errors"
	"time"
)

// ErrNotLatched is returned by Reset for an input that is not latched.
var ErrNotLatched = errors.New("input is not latched")

// transition is what a machine reports.
type transition int

const (
	toActive transition = iota + 1
	toInactive
	toReset
)

// change is one reported transition with the time of the edge that caused it.
type change struct {
	t      transition
	edgeAt time.Time // when the level that led to the change appeared
	active bool      // toReset: whether the contact is still active
}

// machine turns raw logical levels of one input into debounced, held and latched
// transitions. It is pure: time comes in as parameters, and the caller arms a timer
// for deadline().
type machine struct {
	debounce time.Duration // <= 0: none
	hold     time.Duration
	latch    bool

	raw      bool      // last raw level (true = active)
	rawAt    time.Time // when raw last changed
	stable   bool      // debounced level
	stableAt time.Time // edge time of the current stable level
	reported bool      // the active state has been reported
	latched  bool
}

// sample feeds a raw level read at now.
func (m *machine) sample(active bool, now time.Time) []change {
	if active != m.raw {
		m.raw = active
		m.rawAt = now
	}
	return m.tick(now)
}

// tick applies the passage of time up to now.
func (m *machine) tick(now time.Time) []change {
	var out []change
	if m.raw != m.stable && !now.Before(m.rawAt.Add(max(m.debounce, 0))) {
		m.stable = m.raw
		m.stableAt = m.rawAt
	}
	switch {
	case m.stable && !m.reported && !now.Before(m.stableAt.Add(m.hold)):
		m.reported = true
		m.latched = m.latch
		out = append(out, change{t: toActive, edgeAt: m.stableAt})
	case !m.stable && m.reported && !m.latched:
		m.reported = false
		out = append(out, change{t: toInactive, edgeAt: m.stableAt})
	}
	return out
}

// deadline is when tick must next run, if at all.
func (m *machine) deadline() (time.Time, bool) {
	if m.raw != m.stable {
		return m.rawAt.Add(max(m.debounce, 0)), true
	}
	if m.stable && !m.reported {
		return m.stableAt.Add(m.hold), true
	}
	return time.Time{}, false
}

// reset clears a latch. If the contact is still active the input reports active
// again at once (the alarm condition is still there).
func (m *machine) reset(now time.Time) ([]change, error) {
	if !m.latched {
		return nil, ErrNotLatched
	}
	m.latched = false
	m.reported = false
	out := []change{{t: toReset, edgeAt: now, active: m.stable}}
	if m.stable {
		// Still active: held since stableAt, so this reports active (and latches) now.
		out = append(out, m.tick(now)...)
	}
	return out, nil
}

// state is the reported state: active (reported or latched).
func (m *machine) state() (active, latched bool) { return m.reported, m.latched }
