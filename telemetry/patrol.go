package telemetry

import (
	"time"

	"github.com/campusguard/campusguard/patrol"
)

// RecordPatrolRun queues a finished patrol run: one point per checkpoint and the run's
// summary (checkpoints done of planned). Never blocks.
func (f *Forwarder) RecordPatrolRun(r patrol.RunResult) {
	for _, p := range patrolPoints(r) {
		f.RecordPatrol(p)
	}
}

// patrolPoints maps a run to its points: each checkpoint at its scan time (or the run's
// end when it was not scanned), then the summary at the run's end.
func patrolPoints(r patrol.RunResult) []PatrolResult {
	guard := ""
	if len(r.Guards) > 0 {
		guard = r.Guards[0].Name
	}
	out := make([]PatrolResult, 0, len(r.Checkpoints)+1)
	done := 0
	for _, c := range r.Checkpoints {
		if c.Status != "" && c.Status != "missed" {
			done++
		}
		out = append(out, PatrolResult{At: nonZero(c.Scanned, r.Ended), Route: r.Route, Checkpoint: c.Checkpoint,
			Result: c.Status, Run: r.Run, Guard: guard, Expected: c.Expected, Deviation: deviation(c.Scanned, c.Expected)})
	}
	return append(out, PatrolResult{At: r.Ended, Route: r.Route, Result: r.Status, Run: r.Run, Guard: guard,
		Done: done, Planned: len(r.Checkpoints)})
}

func nonZero(a, b time.Time) time.Time {
	if a.IsZero() {
		return b
	}
	return a
}

func deviation(at, exp time.Time) time.Duration {
	if at.IsZero() || exp.IsZero() {
		return 0
	}
	return at.Sub(exp)
}
