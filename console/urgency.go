package console

import (
	"sort"
	"time"

	"github.com/campusguard/campusguard/alerting"
)

// byUrgency sorts the open alarms in the order a guard must handle them: critical
// alarms nobody has acknowledged first, then by severity, unacknowledged before
// acknowledged, and the most recent occurrence first.
func byUrgency(as []alerting.Alarm) []alerting.Alarm {
	if as == nil {
		as = []alerting.Alarm{}
	}
	sort.SliceStable(as, func(i, j int) bool {
		a, b := &as[i], &as[j]
		if ua, ub := urgentUnacked(a), urgentUnacked(b); ua != ub {
			return ua
		}
		if ra, rb := a.Severity.Rank(), b.Severity.Rank(); ra != rb {
			return ra < rb
		}
		if fa, fb := a.State == alerting.Firing, b.State == alerting.Firing; fa != fb {
			return fa
		}
		ta, tb := lastOf(a), lastOf(b)
		if !ta.Equal(tb) {
			return ta.After(tb)
		}
		return a.ID > b.ID
	})
	if len(as) > activeListSize {
		as = as[:activeListSize]
	}
	return as
}

func urgentUnacked(a *alerting.Alarm) bool {
	return a.Severity == alerting.Critical && a.State == alerting.Firing
}

// lastOf is the alarm's latest occurrence.
func lastOf(a *alerting.Alarm) time.Time {
	if a.LastAt.After(a.FiredAt) {
		return a.LastAt
	}
	return a.FiredAt
}
