package alerting

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
