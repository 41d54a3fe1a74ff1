package alerting_test

import (
	"context"
	"testing"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/event"
)

// ClassOf says what happened, not what the device is.
func TestClassOf(t *testing.T) {
	ev := func(typ string) *event.Event { return &event.Event{Type: typ, Kind: event.KindPanic} }
	tests := []struct {
		name string
		t    alerting.Trigger
		kind event.Kind
		want alerting.Class
	}{
		{"panic press", alerting.Trigger{Event: ev(event.TypePressed)}, event.KindPanic, alerting.ClassPanic},
		{"panic cable cut", alerting.Trigger{Event: ev(event.TypeTamper)}, event.KindPanic, alerting.ClassTamper},
		{"panic offline", alerting.Trigger{Event: ev(event.TypeOffline)}, event.KindPanic, alerting.ClassOffline},
		{"panic fault", alerting.Trigger{Event: ev(event.TypeFault)}, event.KindPanic, alerting.ClassFault},
		{"panic state report", alerting.Trigger{Event: ev(event.TypeState)}, event.KindPanic, alerting.ClassOther},
		{"timer on a panic", alerting.Trigger{}, event.KindPanic, alerting.ClassPanic},
		{"radar", alerting.Trigger{Event: &event.Event{Type: event.TypeActive}}, event.KindAntiFall, alerting.ClassIntrusion},
		{"camera", alerting.Trigger{Event: &event.Event{Type: event.TypeDetection}}, event.KindKitchenCamera, alerting.ClassKitchen},
		{"path fail", alerting.Trigger{Event: &event.Event{Type: "path_fail", Kind: event.KindSystem}}, "", alerting.ClassLink},
		{"label wins", alerting.Trigger{Labels: map[string]string{"class": "fault"}, Event: ev(event.TypePressed)}, event.KindPanic, alerting.ClassFault},
		{"trigger wins", alerting.Trigger{Class: alerting.ClassTamper, Labels: map[string]string{"class": "fault"}}, event.KindPanic, alerting.ClassTamper},
		{"bad label ignored", alerting.Trigger{Labels: map[string]string{"class": "nope"}, Event: ev(event.TypePressed)}, event.KindPanic, alerting.ClassPanic},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := alerting.ClassOf(&tc.t, tc.kind); got != tc.want {
				t.Fatalf("ClassOf = %s, want %s", got, tc.want)
			}
		})
	}
}

// A tamper alarm of a panic button is not a panic: not sent to the mandatory police
// sink as one, and it alarms in a disarmed zone (GB 50394).
func TestTamperOnPanicDeviceIsNoPanic(t *testing.T) {
	e := newEnv(t, baseConfig())
	if err := e.m.Disarm(context.Background(), "gate", "op"); err != nil {
		t.Fatal(err)
	}
	tr := panicTrigger("box-gate", true)
	tr.Rule = "tamper"
	tr.Event.Type = event.TypeTamper
	e.handle(tr)
	a := e.onlyAlarm()
	if a.Class != alerting.ClassTamper || a.Disarmed || a.Latched {
		t.Fatalf("tamper alarm %+v", a)
	}
	if got := e.sinksOf(a.ID, alerting.Fired); contains(got, "police") {
		t.Fatalf("tamper sent to the mandatory police sink as a panic: %v", got)
	}
}

// Every trigger of an open alarm is a record; once staff had it (acknowledged) the
// next one is notified again, to the police too for a panic, and needs a person.
func TestOccurrenceAfterAck(t *testing.T) {
	e := newEnv(t, baseConfig())
	e.handle(panicTrigger("box-gate", true))
	a := e.onlyAlarm()
	e.sinks["police"].recv(t)
	if err := e.m.Ack(context.Background(), a.ID, "张伟", ""); err != nil {
		t.Fatal(err)
	}
	again := panicTrigger("box-gate", true)
	again.Occurrence = true
	e.handle(again)
	got := e.onlyAlarm()
	if got.Count != 2 || got.State != alerting.Firing || got.PendingSince.IsZero() {
		t.Fatalf("after a second press: %+v", got)
	}
	if n := e.sinks["police"].recv(t); n.Transition != alerting.Acked {
		t.Fatalf("police got %+v, want the acknowledgement", n)
	}
	n := e.sinks["police"].recv(t)
	if n.Transition != alerting.Refired || !n.Occurrence {
		t.Fatalf("police got %+v, want an occurrence", n)
	}
	det, err := e.j.Alarm(a.ID)
	if err != nil {
		t.Fatal(err)
	}
	var occ int
	for _, h := range det.History {
		if h.Action == alerting.ActionOccurrence {
			occ++
		}
	}
	if occ != 1 {
		t.Fatalf("history %+v: want one occurrence record", det.History)
	}
	// A press while nobody acknowledged yet is journaled, not notified again.
	e.handle(again)
	if c := e.onlyAlarm().Count; c != 3 {
		t.Fatalf("count %d", c)
	}
	if got := e.sinksOf(a.ID, alerting.Refired); !sameSet(got, []string{"staff", "mqtt", "police"}) {
		t.Fatalf("refired deliveries %v: the unacknowledged press is not notified again", got)
	}
}

// A renotify never raises an alarm: with nothing open it does nothing.
func TestRenotifyNeverInvents(t *testing.T) {
	e := newEnv(t, baseConfig())
	tr := panicTrigger("box-gate", true)
	tr.Renotify = true
	e.handle(tr)
	if act := e.m.Active(); len(act) != 0 {
		t.Fatalf("renotify raised %+v", act)
	}
}

// A person's reset calls OnReset (the daemon re-arms the rule instance); a rule's
// resolve does not.
func TestResetHook(t *testing.T) {
	e := newEnv(t, baseConfig())
	var reset []string
	e.m.SetOnResetForTest(func(a alerting.Alarm) { reset = append(reset, a.Rule+"/"+a.Key+"/"+a.ResolvedBy) })
	e.handle(panicTrigger("box-gate", true))
	a := e.onlyAlarm()
	if err := e.m.Resolve(context.Background(), a.ID, "张伟", "复位"); err != nil {
		t.Fatal(err)
	}
	if len(reset) != 1 || reset[0] != "panic/box-gate/张伟" {
		t.Fatalf("OnReset calls %v", reset)
	}
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
