// Package rules is campusguard's alert rule engine: it decides which events become
// alarms.
//
// Rules are YAML files written by operators (see docs/rules.md). Load (files) and Parse
// (sources in memory) read them strictly (unknown keys, type errors in expressions, unknown devices,
// kinds, zones, labels and schedules are errors with file and line), compile every
// expression once with expr against the event model, and return a RuleSet.
//
// The Engine is pure: no I/O, no goroutines, no clock of its own. The caller feeds it
// events (Process) and the time (Tick), arms one timer at NextDeadline, and receives
// Changes: a rule instance started firing, fired again (re-notify) or resolved. A rule
// instance is one rule for one key (a device, or the values of the rule's group_by).
//
// Rule forms: match (one event fires), for (a condition holds for a duration), count
// (N matching events within a sliding window) and absence (no matching event within a
// period, or by a daily deadline). Each may be limited to a named schedule, has a
// resolve condition, is deduplicated per key, and may re-notify while it fires.
//
// An Engine is not safe for concurrent use: one goroutine owns it.
//
// # Why one package
//
// Its single job is rules: their checking and compiling (load.go, parse.go, check.go,
// compile.go, builtin.go) and their evaluation (engine.go, instances.go, timers.go,
// absence.go, state.go). The two halves share the compiled rule (selector, group keys,
// expression programs, absence windows), which stays unexported so that an Engine only
// ever runs a RuleSet that passed every check, and the checks themselves run the engine
// (the built-in panic rule must not be shadowed). Splitting loader from engine would
// export that compiled form to both, for about 2,400 lines that change together. The
// parts with a seam of their own are subpackages: schedules (rules/schedule), the fast
// expression compiler (rules/fastexpr) and operator rule tests (rules/ruletest).
package rules
