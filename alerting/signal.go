package alerting

// The local output (siren, strobe): what sounds, and a person's silence.

import "time"

// LocalRouter is implemented by a LocalOutput that knows which alarms it signals on
// site (the siren sink's signalling table: class × zone × schedule → outputs). The
// Manager sounds every alarm the table signals, whatever its severity, besides the
// severities of local.severities and panic alarms, which always sound (GB 50394).
type LocalRouter interface {
	Signals(a Alarm) bool
}

// signals reports whether the local output should sound a (not muted, not panic).
func (m *Manager) signals(a *Alarm) bool {
	if m.sounding[a.Severity] {
		return true
	}
	lr, ok := m.local.(LocalRouter)
	return ok && lr.Signals(*a)
}

// sound starts the local output for an alarm that should be heard: panic alarms
// always (GB 50394), others when not muted and either of the configured severities or
// signalled by the local output's table (LocalRouter); not again within ResoundAfter
// of staff silencing it.
func (m *Manager) sound(rec *AlarmRecord, now time.Time) {
	if m.local == nil {
		return
	}
	a := &rec.Alarm
	if !AlwaysSounds(a.Class) && (Muted(a) || !m.signals(a)) {
		return
	}
	if !Resounds(rec.QuietAt, now) {
		return
	}
	rec.Sounded = true
	m.local.Sound(*a)
}

// quiet stops the local output for an alarm. Only a person's silence (ack, reset)
// arms the 30 s re-sound rule; an alarm clearing by itself does not.
func (m *Manager) quiet(rec *AlarmRecord, now time.Time, person bool) {
	if m.local == nil || !rec.Sounded {
		return
	}
	rec.Sounded = false
	if person {
		rec.QuietAt = now
		m.local.Silence(rec.Alarm)
		return
	}
	m.local.Off(rec.Alarm)
}
