package patrol

import (
	"time"

	"github.com/campusguard/campusguard/event"
)

// Source is the Source of every event the tracker publishes.
const Source = "patrol"

// The event types the tracker publishes (Kind patrol). docs/patrol.md lists their fields.
const (
	TypePatrolStarted        = "patrol_started"
	TypeCheckpointOK         = "checkpoint_ok"
	TypeCheckpointLate       = "checkpoint_late"
	TypeCheckpointEarly      = "checkpoint_early"
	TypeCheckpointOutOfOrder = "checkpoint_out_of_order"
	TypeCheckpointMissed     = "checkpoint_missed"
	TypePatrolCompleted      = "patrol_completed"
	TypePatrolIncomplete     = "patrol_incomplete"
	TypePatrolNotStarted     = "patrol_not_started"
	TypeUnknownCard          = "unknown_card"
	TypeUnknownCheckpoint    = "unknown_checkpoint"
	TypeReaderClockDrift     = "reader_clock_drift"
)

// Checkpoint statuses in run results (and the suffix of the checkpoint_* event types).
const (
	StatusOK         = "ok"
	StatusLate       = "late"
	StatusEarly      = "early"
	StatusOutOfOrder = "out_of_order"
	StatusMissed     = "missed"
	StatusPending    = "" // not scanned yet (runs in progress only)
)

// Run statuses in run results.
const (
	RunInProgress = "in_progress"
	RunCompleted  = "completed"
	RunIncomplete = "incomplete"
	RunNotStarted = "not_started"
)

// PlanDevice is the synthetic device id of events that no reader caused (deadlines).
func PlanDevice(plan string) string { return "patrol:" + plan }

// newEvent builds an output event. at is when it happened (the scan or the deadline);
// now is when the tracker decided.
func (t *Tracker) newEvent(typ, device string, at, now time.Time, f event.Fields) event.Event {
	e := event.Event{
		Site:       t.site,
		DeviceID:   device,
		Kind:       event.KindPatrol,
		Type:       typ,
		Fields:     f,
		ReceivedAt: now.In(t.loc),
		Source:     Source,
	}
	if !at.IsZero() && !at.Equal(now) {
		e.DeviceTime = at.In(t.loc)
	}
	return e
}

// runFields are the fields every run event carries.
func (t *Tracker) runFields(r *run) event.Fields {
	f := event.Fields{
		"plan":      r.Plan,
		"route":     r.Route,
		"run":       r.ID,
		"scheduled": r.Scheduled.In(t.loc),
		"day":       r.Day,
	}
	if p := t.c.plan(r.Plan); p != nil && p.Name != "" {
		f["plan_name"] = p.Name
	}
	if rt := t.c.routes[r.Route]; rt != nil && rt.Name != "" {
		f["route_name"] = rt.Name
	}
	return f
}

// checkpointFields adds a checkpoint's description to f.
func (t *Tracker) checkpointFields(f event.Fields, id string) {
	f["checkpoint"] = id
	if cp := t.c.checkpoints[id]; cp != nil {
		if cp.Name != "" {
			f["checkpoint_name"] = cp.Name
		}
		if cp.Location != "" {
			f["checkpoint_location"] = cp.Location
		}
		if cp.Zone != "" {
			f["zone"] = cp.Zone
		}
	}
}

// guardFields adds the guard (name, id) and card to f.
func (t *Tracker) guardFields(f event.Fields, guardID, card string) {
	if guardID != "" {
		f["guard_id"] = guardID
		name := guardID
		if g := t.c.guards[guardID]; g != nil && g.Name != "" {
			name = g.Name
		}
		f["guard"] = name
	}
	if card != "" {
		f["card"] = card
	}
}
