package alerting

import "time"

// This file is the alarm policy of GB 50394 (intrusion and hold-up alarm systems) in
// one place: small pure functions over what happened (Class) and time. Firing,
// sounding, muting and notifying all ask these; no other code repeats them.

// neverDisarmable is the clause "emergency alarms are active 24 hours": a panic
// (one-key) alarm is never disarmed, never muted at the Mandatory sinks (the police
// link) and always sounds. It is the class of what happened, not the device's kind: a
// panic button's cut cable is a tamper alarm.
func neverDisarmable(c Class) bool { return c == ClassPanic }

// alarmsArmedOrNot is the clause "tamper, a cut or shorted line, and loss of the
// transmission path alarm whether the zone is armed or not" (see Class.Trouble), and
// the panic alarm's 24 hours besides: arming does not mute these.
func alarmsArmedOrNot(c Class) bool { return neverDisarmable(c) || c.Trouble() }

// Trouble reports whether the class is a trouble condition that alarms whether the
// zone is armed or not (GB 50394: tamper, a cut or shorted line, loss of the
// transmission path).
func (c Class) Trouble() bool {
	return c == ClassTamper || c == ClassFault || c == ClassOffline || c == ClassLink
}

// disarmedBy reports whether an alarm of class c raised in a zone with the given
// arming is disarmed: journaled and shown, not notified.
func disarmedBy(c Class, zoneArmed bool) bool { return !alarmsArmedOrNot(c) && !zoneArmed }

// latches is the clause "an alarm latches until a person resets it": panic and
// intrusion alarms by default (the anti-fall sensors are the campus's intrusion
// detectors), a rule's latch setting otherwise (override nil: the default); a panic
// alarm always latches, whatever the rule says.
func latches(c Class, override *bool) bool {
	l := c == ClassPanic || c == ClassIntrusion
	if override != nil {
		l = *override
	}
	return l || neverDisarmable(c)
}

// ResoundAfter is the clause "after the siren was silenced, a new trigger more than
// 30 s later sounds it again": how long after a person silenced an alarm's local
// output a new trigger of the same alarm stays quiet. It is fixed, not a setting.
const ResoundAfter = 30 * time.Second

// Resounds reports whether a new trigger at now of an alarm a person silenced at
// quietAt (zero: never) sounds the local output again: only more than ResoundAfter
// later. Only a person's silence (ack, reset) sets quietAt; an alarm going off by
// itself does not.
func Resounds(quietAt, now time.Time) bool {
	return quietAt.IsZero() || now.Sub(quietAt) > ResoundAfter
}

// AlwaysSounds reports whether alarms of class c sound the local output whatever the
// silences, inhibition and arming (the panic alarm, neverDisarmable).
func AlwaysSounds(c Class) bool { return neverDisarmable(c) }

// mandatoryReport reports whether alarms of class c reach every Mandatory sink (the
// police link) whatever the silences, inhibition, arming and routing.
func mandatoryReport(c Class) bool { return neverDisarmable(c) }

// overLink reports whether a notification of class c may go over the mandatory sink
// (the police link): a report about the link itself does not go over it.
func overLink(c Class) bool { return c != ClassLink }

// Muted reports whether a stage muted the alarm's notifications (a silence,
// inhibition, or a disarmed zone): journaled and shown, not notified nor sounded
// unless the policy exempts its class.
func Muted(a *Alarm) bool { return a.Silenced || a.Inhibited || a.Disarmed }

// instanceKey is the clause "simultaneous alarms are each kept": every rule instance
// (a rule and its key: the device, or the chosen label values) has its own alarm, so
// two buttons pressed together are two alarms, never one overwriting the other.
func instanceKey(rule, key string) string { return rule + "\x00" + key }
