package rules

import (
	_ "embed"
	"fmt"
	"sync"
	"time"

	"github.com/campusguard/campusguard/cfgerr"
	"github.com/campusguard/campusguard/event"
	"github.com/campusguard/campusguard/site"
)

// BuiltinFile is the name the built-in rules carry in errors and listings.
const BuiltinFile = "(built-in rules)"

// BuiltinPanic is the built-in panic rule's name.
const BuiltinPanic = "builtin-panic"

//go:embed builtin.yaml
var builtinYAML []byte

var (
	builtinOnce sync.Once
	builtinSet  []*Rule
)

// builtinRules returns the compiled built-in rules. They are checked without a site
// (they must hold for every site), so a site without panic buttons is no error.
func builtinRules() []*Rule {
	builtinOnce.Do(func() {
		rs, err := Parse([]Source{{Name: BuiltinFile, Data: builtinYAML}}, Options{NoBuiltins: true})
		if err != nil {
			panic(fmt.Sprintf("rules: the built-in rules do not compile: %v", err)) // a build defect, caught by every test
		}
		for _, r := range rs.Rules {
			r.Builtin = true
		}
		builtinSet = rs.Rules
	})
	out := make([]*Rule, len(builtinSet))
	copy(out, builtinSet)
	return out
}

// Builtins lists the built-in rules' names.
func Builtins() []string {
	var out []string
	for _, r := range builtinRules() {
		out = append(out, r.Name)
	}
	return out
}

// checkPanicShadow refuses an operator match rule that fires on a panic press: the
// built-in panic rule already raises the one critical, latched, never-disarmable alarm
// for it (GB 50394). A second rule would either duplicate that alarm or contradict
// it (another severity, no latch, a schedule). Count and for rules over presses
// (three presses in a minute, say) add to it and are allowed.
func checkPanicShadow(r *Rule, key string, dir *site.Directory, errs *cfgerr.List) {
	if r.Form != FormMatch {
		return
	}
	var devs []site.Device
	if dir != nil {
		for _, d := range dir.Devices() {
			if d.Kind == event.KindPanic {
				devs = append(devs, d)
			}
		}
	} else {
		devs = []site.Device{{ID: "panic-probe", Kind: event.KindPanic}}
	}
	// One engine for the rule (instances are per device): a site with hundreds of panic
	// buttons costs one index build per rule, not one per button.
	e := New(&RuleSet{Rules: []*Rule{r}}, dir, time.UTC)
	now := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	for _, d := range devs {
		ev := event.Event{DeviceID: d.ID, Kind: event.KindPanic, Type: event.TypePressed, ReceivedAt: now, Fields: event.Fields{"pressed": true}}
		for _, c := range e.Process(now, ev) {
			if c.Firing {
				errs.Add(key+".when", "fires on a press of panic button %q: the built-in rule %s already raises the one critical, latched alarm for every panic press (GB 50394), which no rule may duplicate or weaken; remove this rule (route panic alarms in alerting with class: panic), or make it a count or for rule that adds to it", d.ID, BuiltinPanic)
				return
			}
		}
	}
}
