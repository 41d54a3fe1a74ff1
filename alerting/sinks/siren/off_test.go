package siren

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/event"
)

// TestOffOrPersonSilence: an output goes off by the Output's Silence only when a
// person silenced (acknowledged with silence_on_ack, reset) the alarm holding it; every
// other way off (resolved, released by the core, max on-time, close) is Off.
func TestOffOrPersonSilence(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		stop func(r *rig, a alerting.Alarm)
		want string
	}{
		{"person silences the alarm", func(r *rig, a alerting.Alarm) { _ = r.s.Silence(a) }, "silence"},
		{"core: a person acknowledged (silence_on_ack)", func(r *rig, a alerting.Alarm) {
			a.State = alerting.Acknowledged
			Local{S: r.s}.Silence(a)
		}, "silence"},
		{"core: a person reset it", func(r *rig, a alerting.Alarm) {
			a.State = alerting.Resolved
			Local{S: r.s}.Silence(a)
		}, "silence"},
		{"journal: acknowledged (silence_on_ack)", func(r *rig, a alerting.Alarm) {
			a.State = alerting.Acknowledged
			_ = r.s.Deliver(ctx, alerting.Notification{ID: "n2", Transition: alerting.Acked, Alarm: a, Count: 1})
		}, "silence"},
		{"core: off without a person", func(r *rig, a alerting.Alarm) { Local{S: r.s}.Off(a) }, "off"},
		{"released (muted, inhibited)", func(r *rig, a alerting.Alarm) { _ = r.s.Release(a) }, "off"},
		{"journal: resolved", func(r *rig, a alerting.Alarm) {
			a.State = alerting.Resolved
			_ = r.s.Deliver(ctx, alerting.Notification{ID: "n2", Transition: alerting.ResolvedT, Alarm: a, Count: 1})
		}, "off"},
		{"max on-time", func(r *rig, a alerting.Alarm) {
			r.clock.Advance(3 * time.Minute)
			r.outs["gate-siren"].await(t, "off")
		}, "off"},
		{"sink closes", func(r *rig, a alerting.Alarm) { _ = r.s.Close() }, "off"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, gateOnly)
			a := alarm("a1", "guardroom", event.KindPanic, alerting.Critical)
			if err := r.s.Sound(a); err != nil {
				t.Fatal(err)
			}
			r.calls()
			tc.stop(r, a)
			if got := r.calls(); !reflect.DeepEqual(got, []string{"gate-siren: " + tc.want}) {
				t.Fatalf("calls %q, want gate-siren: %s", got, tc.want)
			}
		})
	}
}
