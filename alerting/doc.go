// Package alerting turns rule triggers into alarms with a lifecycle, journals them
// durably, and delivers notifications to sinks (siren, MQTT, webhook, police link,
// telemetry). See docs/architecture.md for the pipeline and docs/alerting.md for the
// behaviour.
//
// The files follow the seams:
//
//   - model.go, store.go, history.go: the contracts — what sinks receive, what the
//     journal stores, how its history is queried;
//   - policy.go: GB 50394's treatment of an alarm by its class, as pure functions
//     that every other file asks (never disarmable, alarms armed or not, latching, the
//     30 s re-sound, simultaneous alarms each kept);
//   - mute.go with silence.go, inhibit.go and disarm.go: the muting stages (Muter);
//   - manager.go, lifecycle.go, occurrence.go, signal.go, notify.go, commit.go: the
//     Manager — alarms from fire to reset, the local output, notifications, journal
//     commits;
//   - arming.go, testmode.go, group.go, route.go, match.go: arming schedules and
//     overrides, test mode, grouping, the routing tree, matchers;
//   - run.go, worker.go, deliver.go: the time-driven work, the per-sink workers, and
//     the deliverer every worker uses (attempt, classify, back off);
//   - config.go, apply.go, metrics.go, subscribe.go: settings and reload, metrics,
//     live updates.
//
// Why it is one package of this size: the Manager's state (open alarms, silences,
// arming, test windows, groups, failed commits) is guarded by one mutex, and every
// change is queued to the journal while it is held, so commits keep the order of the
// changes. Lifecycle, muting, arming, test mode, grouping and escalation change that
// state in the same critical section (an inhibiting alarm's fire re-evaluates every
// open alarm in its own commit); a package boundary between them would have to export
// the lock and the commit. The pure parts (policy, the muting stages, the deliverer)
// hold none of that state, but they work on the contract's types (Alarm, Class,
// Notification, Sink), which every sink imports from here: a subpackage holding them
// would import alerting, and alerting could not import it back.
package alerting
