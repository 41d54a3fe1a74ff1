package patrol

import (
	"testing"
	"time"

	"github.com/campusguard/campusguard/event"
)

// FuzzScan feeds reader-supplied values (card, checkpoint, device, clock offsets) to
// the tracker: it must never panic and every event it returns must be well formed.
func FuzzScan(f *testing.F) {
	f.Add("A1B2C3D4", "CP-01", "patrol-reader-1", int64(60), int64(0))
	f.Add("", "", "reader-dorm", int64(0), int64(-400))
	f.Add("b5c6d7e8", "04a1b2", "x", int64(86400*3), int64(120))
	f.Fuzz(func(t *testing.T, card, cp, dev string, offS, skewS int64) {
		tr, err := New(testConfig(), Options{Site: "s01", Location: shanghai})
		if err != nil {
			t.Fatal(err)
		}
		now := at("21:55")
		tr.Tick(now)
		for i := 0; i < 3; i++ {
			now = now.Add(time.Duration(offS%(7*86400)) * time.Second / 3)
			if now.Before(at("21:55")) {
				now = at("21:55")
			}
			ev := event.Event{DeviceID: dev, Kind: event.KindPatrol, Type: event.TypeScan,
				Fields: event.Fields{"card": card, "checkpoint": cp}, ReceivedAt: now,
				DeviceTime: now.Add(time.Duration(skewS%100000) * time.Second)}
			for _, e := range append(tr.Scan(now, ev), tr.Tick(now)...) {
				if e.Kind != event.KindPatrol || e.Type == "" {
					t.Fatalf("bad event %v", e)
				}
			}
			if _, ok := tr.NextDeadline(); !ok {
				t.Fatal("no deadline with a plan")
			}
		}
		if _, err := tr.MarshalState(); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzRestoreState: the state blob comes from disk; a damaged one is an error or a
// usable tracker, never a panic.
func FuzzRestoreState(f *testing.F) {
	tr, _ := New(testConfig(), Options{Location: shanghai})
	tr.Tick(at("21:00"))
	tr.Scan(at("22:01"), scanEvent(step{at: "22:01", card: zhang, cp: "CP-01"}))
	b, _ := tr.MarshalState()
	f.Add(b)
	f.Add([]byte(`{"version":1,"runs":[{"id":"x","plan":"night","stops":[],"next":-5}]}`))
	f.Add([]byte(`{"version":1,"runs":[null]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		tr, _ := New(testConfig(), Options{Location: shanghai})
		if _, err := tr.RestoreState(b); err != nil {
			return
		}
		tr.Scan(at("22:06"), scanEvent(step{at: "22:06", card: zhang, cp: "CP-02"}))
		tr.Tick(at("23:00"))
		tr.NextDeadline()
		tr.Active()
	})
}

// FuzzStopText: the short route stop form from config files.
func FuzzStopText(f *testing.F) {
	f.Add("CP-02 5m")
	f.Add("CP-02")
	f.Fuzz(func(t *testing.T, s string) {
		var st Stop
		_ = st.UnmarshalText([]byte(s))
		_, _ = parseDays(s)
		_, _ = parseClock(s, true)
	})
}
