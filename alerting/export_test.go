package alerting

import "time"

// Tick runs the time-driven work (escalation, silence expiry, group flush, repeat) as
// of now, synchronously: tests step it instead of waiting for Run's ticker.
func (m *Manager) Tick(now time.Time) { m.tick(now) }

// SetOnResetForTest replaces the reset hook.
func (m *Manager) SetOnResetForTest(f func(Alarm)) { m.onReset = f }

// Route returns the sinks the routing tree sends a to at now: one entry per matching
// route, in tree order.
func (c *Config) Route(a Alarm, now time.Time, sch Schedules) ([]RouteMatch, error) {
	root, err := compileRoute(&c.Routes, "routes", nil)
	if err != nil {
		return nil, err
	}
	var out []RouteMatch
	for _, n := range root.routes(&a, now, sch) {
		out = append(out, RouteMatch{Path: n.path, Sinks: n.sinks, Grouped: len(n.groupBy) > 0 && a.Severity != Critical,
			RepeatInterval: n.repeat})
	}
	return out, nil
}

// RouteMatch is one route an alarm takes.
type RouteMatch struct {
	Path           string        // key path of the route in the config ("routes.routes[0]")
	Sinks          []string      // where it goes
	Grouped        bool          // collected into group notifications (never for critical)
	RepeatInterval time.Duration // re-notify period while firing and unacknowledged
}
