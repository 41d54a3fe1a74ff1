package alerting

import "time"

// Muter is one suppression stage: whether it mutes an alarm's notifications at now,
// and why (for the log). Silences, inhibition and arming are the stages; the Manager
// runs them in order with its lock held and marks the alarm with each verdict
// (Silenced, Inhibited, Disarmed). A muted alarm is still journaled and shown; the
// policy says which classes a mute cannot silence (policy.go).
type Muter interface {
	Mutes(a *Alarm, now time.Time) (muted bool, reason string)
}

// stage is a Muter with the alarm's mark of its verdict.
type stage struct {
	name  string
	muter Muter
	mark  func(a *Alarm) *bool
}

func silencedMark(a *Alarm) *bool  { return &a.Silenced }
func inhibitedMark(a *Alarm) *bool { return &a.Inhibited }
func disarmedMark(a *Alarm) *bool  { return &a.Disarmed }

// muteStages are the stages an open alarm is re-evaluated by whenever a silence or an
// inhibiting alarm changes: silences, then inhibition. Call with m.mu held.
func (m *Manager) muteStages() []stage {
	return []stage{
		{"silence", silencing{dynamic: m.silences, static: m.static, sch: m.sch}, silencedMark},
		{"inhibit", inhibition{rules: m.cfg.Inhibit, open: m.open}, inhibitedMark},
	}
}

// fireStages are the stages a new alarm goes through: arming (decided once, when it
// fires: a zone armed later does not notify it), then the others.
func (m *Manager) fireStages() []stage {
	return append([]stage{{"arming", disarming{armed: m.armedAt}, disarmedMark}}, m.muteStages()...)
}

// mute runs the stages in order and marks the alarm with each verdict; it reports
// whether a mark changed.
func (m *Manager) mute(a *Alarm, now time.Time, stages []stage) bool {
	changed := false
	for _, s := range stages {
		muted, reason := s.muter.Mutes(a, now)
		if p := s.mark(a); *p != muted {
			*p, changed = muted, true
			m.log.Debug("alarm muting changed", "alarm", a.ID, "stage", s.name, "muted", muted, "reason", reason)
		}
	}
	return changed
}
