// Package patrol is campusguard's electronic patrol (电子巡查) tracker: it knows the
// patrol plans of the site, turns the checkpoint scans that readers report into patrol
// runs, and notices what did not happen.
//
// Config describes checkpoints (tags or fixed readers), guards (cards), routes (the
// checkpoints in order, with optional expected minutes per leg) and plans (which route,
// when, with which tolerances and whether order matters). Plans are evaluated in the
// site's time zone; a plan's start times are its slots, and every slot belongs to the
// day its window starts on (a night plan from 20:00 to 06:00 reports on its first day).
//
// Tracker is the pure core: Scan and Tick take the time as a parameter, change the
// tracker's state and return the patrol events to publish (patrol_started,
// checkpoint_ok, checkpoint_missed, ...; see docs/patrol.md). NextDeadline says when
// Tick must be called next. Finished runs are drained with DrainResults. The state
// (runs in progress, the slots already judged) is saved with MarshalState and
// restored with RestoreState, so a patrol in progress continues after a restart.
//
// Runner drives a Tracker from a bus subscription with a clockwork.Clock, publishes
// its events, keeps the state and the finished runs in a Store (the alerting journal)
// and reports its health. Package patrol/report turns the stored run results into
// day reports (JSON, CSV, a text table, an HTTP handler).
//
// # Why one package
//
// Its single job is judging patrols against their plans. The config and its checks
// (config.go; the compliance policy in compliance.go), the plans compiled into slots
// (compile.go) and the Tracker that judges scans and deadlines (tracker.go, scan.go,
// deadlines.go, run.go, events.go, compliance.go, state.go) change together whenever a
// rule of judgement does: each check in the config exists because the tracker relies on
// it. The seam that could split it runs between the pure Tracker and the Runner (bus,
// clock, journal, metrics: runner.go, results.go, metrics.go), but the two share
// RunResult and Store with the reports, the console and telemetry, so a split would
// move those types into a third package and every importer with them, for about 500
// lines. The reports already are a package of their own (patrol/report).
package patrol
