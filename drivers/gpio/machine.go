package gpio

import (
	"time"
)

// transition is what a machine reports.
type transition int

const (
	toActive transition = iota + 1
	toInactive
)

// change is one reported transition with the time of the edge that caused it.
type change struct {
	t      transition
	edgeAt time.Time // when the level that led to the change appeared
	// initial: the level is the one read when the input started (no edge since):
	// the device was already active then.
	initial bool
}

// machine turns raw logical levels of one input into debounced and held
// transitions. It reports the wire faithfully: active once the level is stable (and
// held), inactive once it is back to normal, every time. It is pure: time comes in as
// parameters, and the caller arms a timer for deadline().
type machine struct {
	debounce time.Duration // <= 0: none
	hold     time.Duration

	started  bool      // the first level (read at start) was sampled
	initial  bool      // raw is still the level read at start
	raw      bool      // last raw level (true = active)
	rawAt    time.Time // when raw last changed
	stable   bool      // debounced level
	stableAt time.Time // edge time of the current stable level
	reported bool      // the active state has been reported
}

// sample feeds a raw level read at now. The first sample is the level at start: if it
// is active, the active change it leads to is marked initial.
func (m *machine) sample(active bool, now time.Time) []change {
	switch {
	case !m.started:
		m.started = true
		m.initial = true
		if active {
			m.raw = true
			m.rawAt = now
		}
	case active != m.raw:
		m.raw = active
		m.rawAt = now
		m.initial = false
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
		out = append(out, change{t: toActive, edgeAt: m.stableAt, initial: m.initial})
	case !m.stable && m.reported:
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

// state is the reported state: active.
func (m *machine) state() bool { return m.reported }
