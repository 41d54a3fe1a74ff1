package patrol

import (
	"encoding/json"
	"fmt"
	"time"
)

// stateVersion is the format of MarshalState.
const stateVersion = 1

type snapshot struct {
	Version  int                  `json:"version"`
	Cursor   time.Time            `json:"cursor,omitzero"`
	Runs     []*run               `json:"runs"`
	Used     map[string]time.Time `json:"used,omitempty"`
	LastScan map[string]time.Time `json:"last_scan,omitempty"`
	Drift    map[string]time.Time `json:"drift,omitempty"`
	Areas    map[string]areaDay   `json:"areas,omitempty"`
	Since    time.Time            `json:"since,omitzero"`
}

// MarshalState returns the tracker's state (runs in progress, judged slots, recent
// scans) for the store. Undrained results are not part of it.
func (t *Tracker) MarshalState() ([]byte, error) {
	b, err := json.Marshal(snapshot{
		Version: stateVersion, Cursor: t.cursor, Runs: t.runs,
		Used: t.used, LastScan: t.lastScan, Drift: t.drift, Areas: t.areas, Since: t.since,
	})
	if err != nil {
		return nil, fmt.Errorf("patrol state: %w", err)
	}
	return b, nil
}

// RestoreState replaces the tracker's state with b (from MarshalState, possibly of an
// older config). Runs of plans that no longer exist or changed are dropped and their
// ids returned; damaged runs are dropped too. An empty b is a fresh start.
func (t *Tracker) RestoreState(b []byte) (dropped []string, err error) {
	if len(b) == 0 {
		return nil, nil
	}
	var s snapshot
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("patrol state: %w", err)
	}
	if s.Version != stateVersion {
		return nil, fmt.Errorf("patrol state: unknown version %d", s.Version)
	}
	t.cursor = s.Cursor
	t.used = nonNil(s.Used)
	t.lastScan = nonNil(s.LastScan)
	t.drift = nonNil(s.Drift)
	t.areas = nonNil(s.Areas)
	if !s.Since.IsZero() {
		t.since = s.Since
	}
	t.runs = nil
	seen := map[string]bool{}
	for _, r := range s.Runs {
		if r == nil {
			continue
		}
		if !t.validRun(r) || seen[r.ID] {
			dropped = append(dropped, r.ID)
			continue
		}
		seen[r.ID] = true
		t.runs = append(t.runs, r)
	}
	return dropped, nil
}

// validRun checks a restored run against the current config.
func (t *Tracker) validRun(r *run) bool {
	p := t.c.plan(r.Plan)
	if p == nil || p.hash != r.Hash || len(r.Stops) != len(p.route.Checkpoints) || r.Started.IsZero() {
		return false
	}
	for i, s := range p.route.Checkpoints {
		if r.Stops[i].Checkpoint != s.Checkpoint || r.Stops[i].Leg != s.Leg {
			return false
		}
	}
	if r.Next < 0 || r.Next > len(r.Stops) {
		r.Next = 0
	}
	r.advanceNext()
	r.Ordered, r.Tolerance, r.Duration, r.Route = p.ordered, p.tolerance, p.Duration, p.route.ID
	if r.complete() {
		return false
	}
	return true
}

func nonNil[V any](m map[string]V) map[string]V {
	if m == nil {
		return map[string]V{}
	}
	return m
}
