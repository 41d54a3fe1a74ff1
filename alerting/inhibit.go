package alerting

import (
	"strings"
	"time"
)

// inhibition is the inhibit stage: a target alarm is muted while an open source alarm
// of a rule matches and has the same values of the rule's Equal attributes.
type inhibition struct {
	rules []InhibitRule
	open  map[string]*AlarmRecord
}

// Mutes reports whether an open alarm inhibits a.
func (in inhibition) Mutes(a *Alarm, _ time.Time) (bool, string) {
	for _, r := range in.rules {
		if !r.TargetMatch.Matches(a) {
			continue
		}
		for _, src := range in.open {
			if src.Alarm.ID == a.ID || src.Alarm.State == Resolved || !r.SourceMatch.Matches(&src.Alarm) {
				continue
			}
			eq := true
			for _, l := range r.Equal {
				eq = eq && Attr(&src.Alarm, l) == Attr(a, l)
			}
			if eq {
				return true, "inhibited by " + src.Alarm.ID + " (equal " + strings.Join(r.Equal, ",") + ")"
			}
		}
	}
	return false, ""
}

// isSource reports whether a may inhibit other alarms: its fire and resolve make the
// Manager re-evaluate the open ones.
func (in inhibition) isSource(a *Alarm) bool {
	for _, r := range in.rules {
		if r.SourceMatch.Matches(a) {
			return true
		}
	}
	return false
}

func (m *Manager) isInhibitSource(a *Alarm) bool {
	return inhibition{rules: m.cfg.Inhibit}.isSource(a)
}
