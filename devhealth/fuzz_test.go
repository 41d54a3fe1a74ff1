package devhealth

import (
	"testing"
	"time"

	"github.com/campusguard/campusguard/event"
)

// FuzzTracker drives the tracker with arbitrary event streams (as a driver decoding
// outside bytes would produce them) and checks its invariants: no panic, offline and
// online strictly alternate per device, unsupervised devices never go offline by silence.
func FuzzTracker(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 200, 255})
	f.Add([]byte{255, 255, 16, 255, 33})
	types := []string{event.TypeHeartbeat, event.TypeOffline, event.TypeOnline, event.TypeFault, event.TypeFaultRestore,
		event.TypeTamper, event.TypePressed, "state"}
	devs := []string{"btn", "cam", "tag", "ghost"}
	f.Fuzz(func(t *testing.T, ops []byte) {
		tr := NewTracker(testDir(), t0)
		now := t0
		last := map[string]string{}
		emit := func(evs []event.Event) {
			for _, e := range evs {
				if e.DeviceID == "tag" && e.Type == event.TypeOffline {
					t.Fatalf("unsupervised device went offline: %s", e)
				}
				if last[e.DeviceID] == e.Type {
					t.Fatalf("%s twice in a row for %s", e.Type, e.DeviceID)
				}
				last[e.DeviceID] = e.Type
			}
		}
		for _, b := range ops {
			now = now.Add(time.Duration(b&0x0f) * 20 * time.Second)
			if b >= 0xf0 {
				emit(tr.Check(now))
				continue
			}
			e := event.Event{DeviceID: devs[int(b>>4)%len(devs)], Type: types[int(b)%len(types)], ReceivedAt: now, Source: "mqtt",
				Fields: event.Fields{"battery": float64(b)}}
			if e.Type == event.TypeOffline || e.Type == event.TypeOnline {
				// A driver's own link events count as the other side of the alternation.
				last[e.DeviceID] = e.Type
			}
			emit(tr.Observe(e))
		}
		_ = tr.Snapshot()
		_ = tr.Health()
	})
}
