package alerting

import "time"

// disarming is the arming stage: an alarm raised in a disarmed zone is journaled and
// shown, not notified, unless its class alarms armed or not (GB 50394, policy.go).
type disarming struct {
	armed func(zone string, now time.Time) bool // a zone's arming at now
}

// Mutes reports whether a's zone is disarmed and a's class is not exempt.
func (d disarming) Mutes(a *Alarm, now time.Time) (bool, string) {
	zoneArmed := a.Zone == "" || d.armed(a.Zone, now)
	if disarmedBy(a.Class, zoneArmed) {
		return true, "zone " + a.Zone + " disarmed"
	}
	return false, ""
}
