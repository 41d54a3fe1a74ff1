package sim

import (
	"time"

	"github.com/campusguard/campusguard/event"
	"github.com/campusguard/campusguard/patrol"
	"github.com/campusguard/campusguard/site"
)

// DemoPatrol is the demo's patrol from the campus config: the first plan, walked with
// the first guard's first card at the first MQTT patrol reader along the plan's route
// (each leg as the route expects it, one minute where it says nothing). It is empty
// (no patrols) when the config has no such reader, plan, route or card.
func DemoPatrol(devices []site.Device, pc patrol.Config) PatrolPlan {
	var reader string
	for _, dev := range devices {
		if dev.Kind == event.KindPatrol && dev.Driver == "mqtt" {
			reader = dev.ID
			break
		}
	}
	if reader == "" || len(pc.Plans) == 0 || len(pc.Guards) == 0 || len(pc.Guards[0].Cards) == 0 {
		return PatrolPlan{}
	}
	plan := pc.Plans[0]
	var out PatrolPlan
	for _, r := range pc.Routes {
		if r.ID != plan.Route {
			continue
		}
		pp := PatrolPlan{Reader: reader, Card: pc.Guards[0].Cards[0], Every: plan.Every, Leg: time.Minute}
		for _, st := range r.Checkpoints {
			pp.Checkpoints = append(pp.Checkpoints, st.Checkpoint)
			if st.Leg > 0 {
				pp.Leg = st.Leg
			}
		}
		out = pp
	}
	return out
}
