package alerting_test

import (
	"testing"

	"github.com/campusguard/campusguard/alerting"
)

// TestApplyRoutes: a reload that changes routes takes effect for the next alarm; open
// alarms stay; a change of delivery settings is refused whole.
func TestApplyRoutes(t *testing.T) {
	e := newEnv(t, baseConfig())
	e.handle(camTrigger("cam-1", "kitchen-a", alerting.Minor, "detection"))
	first := e.onlyAlarm()
	if got := e.sinksOf(first.ID, alerting.Fired); !sameSet(got, []string{"staff"}) {
		t.Fatalf("before reload fired to %v", got)
	}
	cfg := baseConfig()
	cfg.Routes.Sinks = []string{"mqtt"}
	if err := e.m.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	e.handle(camTrigger("cam-2", "kitchen-b", alerting.Minor, "detection"))
	var second alerting.Alarm
	for _, a := range e.m.Active() {
		if a.ID != first.ID {
			second = a
		}
	}
	if got := e.sinksOf(second.ID, alerting.Fired); !sameSet(got, []string{"mqtt"}) {
		t.Fatalf("after reload fired to %v", got)
	}
	if len(e.m.Active()) != 2 {
		t.Fatalf("open alarms after reload: %d", len(e.m.Active()))
	}
	bad := baseConfig()
	bad.Delivery.BackoffMax = 12345
	if err := e.m.Apply(bad); err == nil {
		t.Fatal("a delivery change was applied without a restart")
	}
	unknown := baseConfig()
	unknown.Routes.Sinks = []string{"pager"}
	if err := e.m.Apply(unknown); err == nil {
		t.Fatal("a route to an unknown sink was applied")
	}
}
