package telemetry

import (
	"reflect"
	"testing"
	"time"

	"github.com/campusguard/campusguard/patrol"
)

func TestPatrolPoints(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 22, 0, 0, 0, time.UTC)
	end := t0.Add(20 * time.Minute)
	tests := []struct {
		name string
		run  patrol.RunResult
		want []PatrolResult
	}{
		{
			name: "no checkpoints: the summary only",
			run:  patrol.RunResult{Run: "r1", Route: "night", Status: "not_started", Ended: end},
			want: []PatrolResult{{At: end, Route: "night", Result: "not_started", Run: "r1"}},
		},
		{
			name: "a late scan and a missed checkpoint",
			run: patrol.RunResult{Run: "r2", Route: "night", Status: "incomplete", Ended: end,
				Guards: []patrol.GuardRef{{ID: "g1", Name: "张保安"}, {ID: "g2", Name: "李保安"}},
				Checkpoints: []patrol.CheckpointResult{
					{Checkpoint: "gate", Status: "late", Expected: t0, Scanned: t0.Add(90 * time.Second)},
					{Checkpoint: "roof", Status: "missed", Expected: t0.Add(10 * time.Minute)},
					{Checkpoint: "yard"},
				}},
			want: []PatrolResult{
				{At: t0.Add(90 * time.Second), Route: "night", Checkpoint: "gate", Result: "late", Run: "r2", Guard: "张保安",
					Expected: t0, Deviation: 90 * time.Second},
				{At: end, Route: "night", Checkpoint: "roof", Result: "missed", Run: "r2", Guard: "张保安", Expected: t0.Add(10 * time.Minute)},
				{At: end, Route: "night", Checkpoint: "yard", Run: "r2", Guard: "张保安"},
				{At: end, Route: "night", Result: "incomplete", Run: "r2", Guard: "张保安", Done: 1, Planned: 3},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := patrolPoints(tt.run); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("patrolPoints:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}
