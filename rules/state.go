package rules

import (
	"sort"
	"time"

	"github.com/campusguard/campusguard/site"
)

// Reload swaps in a new rule set (and device directory; nil keeps the current one).
// Rules with the same name and content hash keep their state: open windows, pending
// for timers, firing instances, absence timers. Firing instances of removed or changed
// rules resolve with a reason; so do instances of devices a kept rule no longer
// selects. The caller validates set first (Load): an invalid set never reaches here,
// so the old rules keep running.
func (e *Engine) Reload(set *RuleSet, dir *site.Directory) []Change {
	e.out = nil
	if dir == nil {
		dir = e.dir
	}
	at := e.now
	newNames := map[string]bool{}
	if set != nil {
		for _, r := range set.Rules {
			newNames[r.Name] = true
		}
	}
	dropped, _ := e.install(set, dir)
	sort.Slice(dropped, func(i, j int) bool { return dropped[i].idx < dropped[j].idx })
	for _, o := range dropped {
		reason := "rule removed"
		if newNames[o.rule.Name] {
			reason = "rule changed"
		}
		for _, in := range sortedInstances(o) {
			if in.firing {
				in.firing = false
				e.emit(in, at, nil, in.dev, false, false, reason, 0)
			}
			in.removed = true
		}
	}
	// Kept rules: drop instances whose key no selected device produces any more.
	for _, r := range e.rules {
		if len(r.inst) == 0 && r.rule.Form != FormAbsence {
			continue
		}
		valid := map[string]*site.Device{}
		for i := range dir.Devices() {
			d := &dir.Devices()[i]
			if r.c.sel.matchDevice(d) {
				valid[e.bind(r, d).key] = d
			}
		}
		for _, in := range sortedInstances(r) {
			d, ok := valid[in.key]
			if !ok {
				if in.firing {
					in.firing = false
					e.emit(in, at, nil, in.dev, false, false, "device no longer selected by the rule", 0)
				}
				e.drop(in)
				continue
			}
			if in.dev != nil {
				in.dev = d // the device's details may have changed
			}
		}
		if r.rule.Form == FormAbsence && r.armed && e.started {
			// Devices new to the rule get their absence instances, timed from now.
			r.armed = false
			e.unarmed = true
		}
	}
	if e.started && e.unarmed {
		e.arm(at)
	}
	return e.take()
}

func sortedInstances(r *rstate) []*instance {
	out := make([]*instance, 0, len(r.inst))
	for _, in := range r.inst {
		out = append(out, in)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	return out
}

// Snapshot is the engine's state in a form to persist (JSON) across restarts: the
// open instances of every rule, by rule name and content hash.
type Snapshot struct {
	Version int            `json:"version"`
	At      time.Time      `json:"at"`
	Rules   []RuleSnapshot `json:"rules,omitempty"`
}

// RuleSnapshot is one rule's open instances.
type RuleSnapshot struct {
	Name      string             `json:"name"`
	Hash      string             `json:"hash"`
	Instances []InstanceSnapshot `json:"instances"`
}

// InstanceSnapshot is one rule instance's state.
type InstanceSnapshot struct {
	Key        string      `json:"key"`
	Firing     bool        `json:"firing,omitempty"`
	FiredAt    time.Time   `json:"fired_at,omitzero"`
	LastNotify time.Time   `json:"last_notify,omitzero"`
	LastSeen   time.Time   `json:"last_seen,omitzero"`
	Holding    bool        `json:"holding,omitempty"`
	Since      time.Time   `json:"since,omitzero"`
	Due        bool        `json:"due,omitempty"`
	Hits       []time.Time `json:"hits,omitempty"`
	Check      time.Time   `json:"check,omitzero"`
}

// SnapshotVersion is the current Snapshot format.
const SnapshotVersion = 1

// State returns a snapshot of every open rule instance.
func (e *Engine) State() Snapshot {
	s := Snapshot{Version: SnapshotVersion, At: e.now}
	for _, r := range e.rules {
		if len(r.inst) == 0 {
			continue
		}
		rs := RuleSnapshot{Name: r.rule.Name, Hash: r.rule.Hash}
		for _, in := range sortedInstances(r) {
			rs.Instances = append(rs.Instances, InstanceSnapshot{
				Key: in.key, Firing: in.firing, FiredAt: in.firedAt, LastNotify: in.lastNotify,
				LastSeen: in.lastSeen, Holding: in.holding, Since: in.since, Due: in.due,
				Hits: append([]time.Time(nil), in.hits...), Check: in.check,
			})
		}
		s.Rules = append(s.Rules, rs)
	}
	return s
}

// Restore loads a snapshot taken by State, before the engine's first Tick or Process
// (or at any time: restored instances replace the current ones of the same key). Only
// rules with the same name and hash are restored, and only keys the rule still has
// devices for; the rest is skipped (a changed rule starts afresh). Restoring emits no
// changes: alerting keeps its own journal of firing alarms. It returns how many
// instances were restored and skipped.
func (e *Engine) Restore(s Snapshot) (restored, skipped int) {
	if s.Version != SnapshotVersion {
		for _, r := range s.Rules {
			skipped += len(r.Instances)
		}
		return 0, skipped
	}
	for _, rs := range s.Rules {
		r := e.byName[rs.Name]
		if r == nil || r.rule.Hash != rs.Hash {
			skipped += len(rs.Instances)
			continue
		}
		binds := map[string]binding{}
		devs := map[string]*site.Device{}
		for i := range e.dir.Devices() {
			d := &e.dir.Devices()[i]
			if r.c.sel.matchDevice(d) {
				b := e.bind(r, d)
				binds[b.key], devs[b.key] = b, d
			}
		}
		for _, is := range rs.Instances {
			b, ok := binds[is.Key]
			if !ok {
				skipped++
				continue
			}
			if old := r.inst[is.Key]; old != nil {
				old.removed = true
			}
			in := e.newInstance(r, b, devs[is.Key])
			in.firing, in.firedAt, in.lastNotify, in.lastSeen = is.Firing, is.FiredAt, is.LastNotify, is.LastSeen
			in.holding, in.since, in.due, in.check = is.Holding, is.Since, is.Due, is.Check
			if r.c.threshold > 0 && len(is.Hits) > r.c.threshold {
				is.Hits = is.Hits[len(is.Hits)-r.c.threshold:]
			}
			in.hits = append([]time.Time(nil), is.Hits...)
			if r.rule.Form == FormAbsence && in.check.IsZero() && !in.firing {
				e.startAbsence(in, in.lastSeen)
			}
			now := e.now
			if now.IsZero() {
				now = s.At
			}
			e.reschedule(in, now)
			restored++
		}
	}
	return restored, skipped
}
