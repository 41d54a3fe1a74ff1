package alerting

import (
	"testing"
	"time"
)

// One table per clause of the policy (policy.go); the Manager's behaviour under each
// clause is tested end to end in gb50394_test.go.

// GB 50394: emergency alarms are active 24 hours — never disarmed, always reported
// over the mandatory sinks, always sounded.
func TestPolicy_NeverDisarmable(t *testing.T) {
	tests := []struct {
		class                        Class
		never, report, sounds, armed bool // armed: alarms armed or not
	}{
		{ClassPanic, true, true, true, true},
		{ClassIntrusion, false, false, false, false},
		{ClassTamper, false, false, false, true},
		{ClassFault, false, false, false, true},
		{ClassOffline, false, false, false, true},
		{ClassLink, false, false, false, true},
		{ClassPatrol, false, false, false, false},
		{ClassKitchen, false, false, false, false},
		{ClassOther, false, false, false, false},
		{"", false, false, false, false},
	}
	for _, tc := range tests {
		t.Run(string(tc.class), func(t *testing.T) {
			if got := neverDisarmable(tc.class); got != tc.never {
				t.Errorf("neverDisarmable = %v, want %v", got, tc.never)
			}
			if got := mandatoryReport(tc.class); got != tc.report {
				t.Errorf("mandatoryReport = %v, want %v", got, tc.report)
			}
			if got := AlwaysSounds(tc.class); got != tc.sounds {
				t.Errorf("AlwaysSounds = %v, want %v", got, tc.sounds)
			}
			if got := alarmsArmedOrNot(tc.class); got != tc.armed {
				t.Errorf("alarmsArmedOrNot = %v, want %v", got, tc.armed)
			}
		})
	}
}

// GB 50394: tamper, a cut or shorted line and a lost transmission path alarm whether
// the zone is armed or not; the other alarms of a disarmed zone are disarmed.
func TestPolicy_TroubleAlarmsArmedOrNot(t *testing.T) {
	tests := []struct {
		class     Class
		zoneArmed bool
		trouble   bool
		disarmed  bool
	}{
		{ClassTamper, false, true, false},
		{ClassFault, false, true, false},
		{ClassOffline, false, true, false},
		{ClassLink, false, true, false},
		{ClassPanic, false, false, false},
		{ClassIntrusion, false, false, true},
		{ClassIntrusion, true, false, false},
		{ClassOther, false, false, true},
		{ClassTamper, true, true, false},
	}
	for _, tc := range tests {
		if got := tc.class.Trouble(); got != tc.trouble {
			t.Errorf("%s.Trouble() = %v, want %v", tc.class, got, tc.trouble)
		}
		if got := disarmedBy(tc.class, tc.zoneArmed); got != tc.disarmed {
			t.Errorf("disarmedBy(%s, armed=%v) = %v, want %v", tc.class, tc.zoneArmed, got, tc.disarmed)
		}
	}
}

// GB 50394: an alarm latches until a person resets it — panic and intrusion by
// default, a rule may choose otherwise except for a panic.
func TestPolicy_Latching(t *testing.T) {
	yes, no := true, false
	tests := []struct {
		class    Class
		override *bool
		want     bool
	}{
		{ClassPanic, nil, true},
		{ClassPanic, &no, true}, // never: a panic stays until a person resets it
		{ClassIntrusion, nil, true},
		{ClassIntrusion, &no, false},
		{ClassTamper, nil, false},
		{ClassTamper, &yes, true},
		{ClassOther, nil, false},
		{ClassOffline, &yes, true},
	}
	for _, tc := range tests {
		if got := latches(tc.class, tc.override); got != tc.want {
			t.Errorf("latches(%s, %v) = %v, want %v", tc.class, tc.override, got, tc.want)
		}
	}
}

// GB 50394: after the siren was silenced, a new trigger more than 30 s later sounds it
// again; one within 30 s does not.
func TestPolicy_ResoundAfter30s(t *testing.T) {
	at := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		quietAt time.Time
		now     time.Time
		want    bool
	}{
		{"never silenced", time.Time{}, at, true},
		{"at the silence", at, at, false},
		{"10 s after", at, at.Add(10 * time.Second), false},
		{"exactly 30 s after", at, at.Add(30 * time.Second), false},
		{"30.001 s after", at, at.Add(30*time.Second + time.Millisecond), true},
		{"an hour after", at, at.Add(time.Hour), true},
	}
	for _, tc := range tests {
		if got := Resounds(tc.quietAt, tc.now); got != tc.want {
			t.Errorf("%s: Resounds = %v, want %v", tc.name, got, tc.want)
		}
	}
	if ResoundAfter != 30*time.Second {
		t.Errorf("ResoundAfter = %s, GB 50394 says 30s", ResoundAfter)
	}
}

// GB 50394: simultaneous alarms are each kept — every rule instance is an alarm of its
// own, however its parts read.
func TestPolicy_SimultaneousAlarmsEachKept(t *testing.T) {
	tests := []struct {
		a, b [2]string
		same bool
	}{
		{[2]string{"panic", "box-1"}, [2]string{"panic", "box-1"}, true},
		{[2]string{"panic", "box-1"}, [2]string{"panic", "box-2"}, false},
		{[2]string{"panic", "box-1"}, [2]string{"tamper", "box-1"}, false},
		{[2]string{"a", "bc"}, [2]string{"ab", "c"}, false},
	}
	for _, tc := range tests {
		if got := instanceKey(tc.a[0], tc.a[1]) == instanceKey(tc.b[0], tc.b[1]); got != tc.same {
			t.Errorf("%v and %v: same alarm %v, want %v", tc.a, tc.b, got, tc.same)
		}
	}
}

// The muting stages' marks mute an alarm; the police link never carries a report
// about itself.
func TestPolicy_MutedAndOverLink(t *testing.T) {
	tests := []struct {
		a    Alarm
		want bool
	}{
		{Alarm{}, false},
		{Alarm{Silenced: true}, true},
		{Alarm{Inhibited: true}, true},
		{Alarm{Disarmed: true}, true},
	}
	for _, tc := range tests {
		if got := Muted(&tc.a); got != tc.want {
			t.Errorf("Muted(%+v) = %v, want %v", tc.a, got, tc.want)
		}
	}
	for _, c := range Classes {
		if got, want := overLink(c), c != ClassLink; got != want {
			t.Errorf("overLink(%s) = %v, want %v", c, got, want)
		}
	}
}
