package alerting

import "time"

// Tick runs the time-driven work (escalation, silence expiry, group flush, repeat) as
// of now, synchronously: tests step it instead of waiting for Run's ticker.
func (m *Manager) Tick(now time.Time) { m.tick(now) }

// SetOnResetForTest replaces the reset hook.
func (m *Manager) SetOnResetForTest(f func(Alarm)) { m.onReset = f }
