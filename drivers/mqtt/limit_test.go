package mqtt

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/campusguard/campusguard/event"
)

// step is one message offered to the limiter and what it must answer.
type step struct {
	at     time.Duration // since the start
	device string        // "d" when empty
	typ    string
	fields event.Fields
	n      int // how many times (1 when 0)

	allow   bool
	started bool // on the last of the n: a flood began
	ended   int  // on the first of the n: a flood ended, having dropped this many (0: none)
}

func released() event.Fields { return event.Fields{"pressed": false, "tamper": false} }

func TestLimiter(t *testing.T) {
	rel, prs := event.TypeReleased, event.TypePressed
	tests := []struct {
		name  string
		cfg   RateLimitConfig
		steps []step
	}{
		{"burst, then repeats are dropped", RateLimitConfig{Rate: 2, Burst: 3}, []step{
			{typ: rel, fields: released(), n: 3, allow: true},
			{typ: rel, fields: released(), allow: false, started: true},
			{typ: rel, fields: released(), n: 5, allow: false},
		}},
		{"refill lets repeats through again", RateLimitConfig{Rate: 2, Burst: 3}, []step{
			{typ: rel, fields: released(), n: 3, allow: true},
			{typ: rel, fields: released(), allow: false, started: true},
			{at: 500 * time.Millisecond, typ: rel, fields: released(), allow: true},
			{at: 500 * time.Millisecond, typ: rel, fields: released(), allow: false},
		}},
		{"a change of type passes with an empty bucket", RateLimitConfig{Rate: 1, Burst: 1}, []step{
			{typ: rel, fields: released(), allow: true},
			{typ: rel, fields: released(), allow: false, started: true},
			{typ: prs, fields: event.Fields{"pressed": true, "tamper": false}, allow: true},
			{typ: rel, fields: released(), allow: true},
			{typ: rel, fields: released(), n: 3, allow: false},
		}},
		{"a change of a state field passes", RateLimitConfig{Rate: 1, Burst: 1}, []step{
			{typ: event.TypeState, fields: event.Fields{"occupied": true, "distance_m": 0.8}, allow: true},
			{typ: event.TypeState, fields: event.Fields{"occupied": true, "distance_m": 0.7}, allow: false, started: true},
			{typ: event.TypeState, fields: event.Fields{"occupied": false, "distance_m": 0.7}, allow: true},
			{typ: rel, fields: event.Fields{"pressed": false, "tamper": true}, allow: true},
			{typ: rel, fields: released(), allow: true},
			{typ: rel, fields: event.Fields{"pressed": false}, allow: true}, // tamper no longer reported
			{typ: rel, fields: event.Fields{"pressed": false}, allow: false},
		}},
		{"a field of another type is a change", RateLimitConfig{Rate: 1, Burst: 1}, []step{
			{typ: event.TypeState, fields: event.Fields{"online": true}, allow: true},
			{typ: event.TypeState, fields: event.Fields{"online": "true"}, allow: true},
			{typ: event.TypeState, fields: event.Fields{"online": "true"}, allow: false, started: true},
		}},
		{"NaN is never a repeat", RateLimitConfig{Rate: 1, Burst: 1}, []step{
			{typ: event.TypeState, fields: event.Fields{"active": math.NaN()}, n: 3, allow: true},
		}},
		{"presses, tampers and faults are never dropped", RateLimitConfig{Rate: 1, Burst: 1}, []step{
			{typ: prs, fields: event.Fields{"pressed": true}, n: 50, allow: true},
			{typ: event.TypeTamper, n: 50, allow: true},
			{typ: event.TypeFault, n: 50, allow: true},
			{typ: event.TypeDetection, fields: event.Fields{"detection": "no_chef_hat"}, allow: true},
			{typ: event.TypeDetection, fields: event.Fields{"detection": "no_mask"}, allow: false, started: true},
		}},
		{"one device's flood does not starve another", RateLimitConfig{Rate: 1, Burst: 2}, []step{
			{typ: rel, n: 2, allow: true},
			{typ: rel, allow: false, started: true},
			{device: "other", typ: rel, n: 2, allow: true},
			{device: "other", typ: rel, allow: false, started: true},
		}},
		{"a negative rate never limits", RateLimitConfig{Rate: -1}, []step{
			{typ: rel, n: 100, allow: true},
		}},
		{"a flood ends after FloodRestoreAfter without a drop", RateLimitConfig{Rate: 10, Burst: 1}, []step{
			{typ: rel, allow: true},
			{typ: rel, n: 7, allow: false, started: false}, // started is checked on the last of n
			{at: FloodRestoreAfter - time.Millisecond, typ: rel, allow: true},
			{at: FloodRestoreAfter - time.Millisecond, typ: rel, allow: false},
			{at: 2*FloodRestoreAfter - time.Millisecond, typ: rel, allow: true, ended: 8},
			{at: 2*FloodRestoreAfter - time.Millisecond, typ: rel, allow: false, started: true},
		}},
		{"a slow bucket keeps the flood until it could refill", RateLimitConfig{Rate: 1, Burst: 30}, []step{
			{typ: rel, n: 30, allow: true},
			{typ: rel, allow: false, started: true},
			{at: FloodRestoreAfter, typ: rel, allow: true},
			{at: 30*time.Second + FloodRestoreAfter, typ: rel, allow: true, ended: 1},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Unix(1_800_000_000, 0)
			l := newLimiter()
			first := true
			for i, st := range tt.steps {
				n := max(st.n, 1)
				dev := st.device
				if dev == "" {
					dev = "d"
				}
				for j := range n {
					v := l.allow("m", dev, tt.cfg, event.Event{Type: st.typ, Fields: st.fields}, start.Add(st.at))
					where := fmt.Sprintf("step %d (%s), message %d", i, st.typ, j)
					if v.allow != st.allow {
						t.Fatalf("%s: allow %v, want %v", where, v.allow, st.allow)
					}
					if j == n-1 && st.started && !v.started {
						t.Fatalf("%s: no flood started", where)
					}
					if v.started && !st.started && !(first && !v.allow) {
						t.Fatalf("%s: a second flood started", where)
					}
					if v.started {
						first = false
					}
					wantEnd := j == 0 && st.ended > 0
					if v.ended != wantEnd || (wantEnd && v.endedDropped != st.ended) {
						t.Fatalf("%s: ended %v after %d drops, want %v after %d", where, v.ended, v.endedDropped, wantEnd, st.ended)
					}
				}
			}
		})
	}
}

// TestLimiterSweep: a flood of a device that then stays silent ends at the sweep after
// its quiet time, once.
func TestLimiterSweep(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	l := newLimiter()
	cfg := RateLimitConfig{Rate: 5, Burst: 1}
	for range 4 {
		l.allow("m", "a", cfg, event.Event{Type: event.TypeReleased}, now)
		l.allow("m", "b", cfg, event.Event{Type: event.TypeReleased}, now.Add(time.Second))
	}
	if got := l.sweep(now.Add(FloodRestoreAfter - time.Nanosecond)); len(got) != 0 {
		t.Fatalf("early sweep ended %v", got)
	}
	got := l.sweep(now.Add(FloodRestoreAfter))
	if len(got) != 1 || got[0] != (floodEnd{device: "a", dropped: 3}) {
		t.Fatalf("sweep ended %v, want a after 3 drops", got)
	}
	if got := l.sweep(now.Add(time.Hour)); len(got) != 1 || got[0].device != "b" {
		t.Fatalf("second sweep ended %v, want b only", got)
	}
	if got := l.sweep(now.Add(2 * time.Hour)); len(got) != 0 {
		t.Fatalf("ended twice: %v", got)
	}
}
