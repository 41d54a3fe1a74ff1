package siren

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/event"
	"github.com/campusguard/campusguard/health"
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
		{"person silences every alarm", func(r *rig, a alerting.Alarm) { _ = r.s.SilenceAll() }, "silence"},
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

// syncBuffer is a log destination safe for the sink's timer goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) take() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.b.String()
	b.b.Reset()
	return s
}

// TestSuppressedSoundIsReported: when the output refuses a Sound because a person
// silenced it less than its re-sound time ago, the sink says so (log, metric, health
// detail), does not log "output sounding" nor count an activation or a success, and
// keeps the output quiet until a new trigger, which sounds it.
func TestSuppressedSoundIsReported(t *testing.T) {
	r := newRig(t, gateOnly)
	var logs syncBuffer
	r.s.log = slog.New(slog.NewTextHandler(&logs, nil))
	rec := r.outs["gate-siren"]
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	a := alarm("a1", "guardroom", event.KindPanic, alerting.Critical)
	must(r.s.Sound(a))
	must(r.s.Silence(a)) // a person: the output arms its re-sound guard
	r.calls()
	okBefore := r.s.Health().Detail["last_success"]
	activations := testutil.ToFloat64(r.s.m.activations.WithLabelValues("gate-siren"))
	logs.take()

	// Another alarm 5 s later: the sink sounds the output, the output refuses.
	r.clock.Advance(5 * time.Second)
	rec.failNext(fmt.Errorf("gpio output gate-siren: %w", ErrSuppressed))
	b := alarm("b1", "guardroom", event.KindPanic, alerting.Critical)
	if err := r.s.Sound(b); err != nil {
		t.Fatalf("a suppressed Sound is not a failure: %v", err)
	}
	if got := r.calls(); !reflect.DeepEqual(got, []string{"gate-siren: sound steady 3m0s FAILED"}) {
		t.Fatalf("calls %q", got)
	}
	out := logs.take()
	if !strings.Contains(out, "output suppressed") || strings.Contains(out, "output sounding") {
		t.Fatalf("log:\n%s", out)
	}
	if n := testutil.ToFloat64(r.s.m.outSuppressed.WithLabelValues("gate-siren")); n != 1 {
		t.Fatalf("campusguard_siren_suppressed_total %v, want 1", n)
	}
	if n := testutil.ToFloat64(r.s.m.activations.WithLabelValues("gate-siren")); n != activations {
		t.Fatalf("activations %v, want %v: a suppressed Sound is not an activation", n, activations)
	}
	if n := testutil.ToFloat64(r.s.m.on.WithLabelValues("gate-siren")); n != 0 {
		t.Fatalf("on gauge %v", n)
	}
	st := r.s.Outputs()[0]
	if st.Sounding || !st.Suppressed || !st.SuppressedAt.Equal(r.clock.Now()) || st.Error != "" || !reflect.DeepEqual(st.Alarms, []string{"b1"}) {
		t.Fatalf("output state %+v", st)
	}
	h := r.s.Health()
	if h.State != health.Up || h.Detail["last_success"] != okBefore {
		t.Fatalf("health %+v (a suppressed Sound is neither a failure nor a success)", h)
	}
	if outs := h.Detail["outputs"].([]OutputState); !outs[0].Suppressed {
		t.Fatalf("health detail %+v", outs)
	}
	if n, err := testutil.GatherAndCount(r.reg, "campusguard_siren_suppressed_total"); err != nil || n != 1 {
		t.Fatalf("campusguard_siren_suppressed_total registered: %d series, %v", n, err)
	}

	// The journaled copy of the same trigger does not try again.
	must(r.s.Deliver(context.Background(), alerting.Notification{ID: "n-b1", Transition: alerting.Fired, Alarm: b, Count: 1}))
	if got := r.calls(); got != nil {
		t.Fatalf("the same trigger again: %q", got)
	}
	// A new trigger after the guard sounds.
	r.clock.Advance(26 * time.Second)
	b.Count = 2
	must(r.s.Sound(b))
	if got := r.calls(); !reflect.DeepEqual(got, []string{"gate-siren: sound steady 3m0s"}) {
		t.Fatalf("new trigger: calls %q", got)
	}
	if st := r.s.Outputs()[0]; !st.Sounding || st.Suppressed {
		t.Fatalf("after the new trigger %+v", st)
	}
	if out := logs.take(); !strings.Contains(out, "output sounding") {
		t.Fatalf("log:\n%s", out)
	}
}
