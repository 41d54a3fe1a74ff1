package rules

import (
	"fmt"
	"math/rand"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/campusguard/campusguard/event"
	"github.com/campusguard/campusguard/site"
)

// benchSite has 500 devices in 20 zones: one school.
func benchSite() *site.Directory { return benchSiteN(1) }

// benchSiteN is scale schools' worth: 500×scale devices in 20×scale zones.
func benchSiteN(scale int) *site.Directory {
	s := &site.Site{ID: "bench", Timezone: "Asia/Shanghai"}
	for z := 0; z < 20*scale; z++ {
		s.Zones = append(s.Zones, site.Zone{ID: fmt.Sprintf("z%02d", z), Number: z + 1})
	}
	kinds := []event.Kind{event.KindPanic, event.KindAntiFall, event.KindPatrol, event.KindKitchenCamera, event.KindKitchenCamera}
	var devs []site.Device
	for i := 0; i < 500*scale; i++ {
		devs = append(devs, site.Device{
			ID: fmt.Sprintf("d%03d", i), Kind: kinds[i%len(kinds)], Zone: fmt.Sprintf("z%02d", i%(20*scale)),
			Location: fmt.Sprintf("楼%d", i%7), Driver: "mqtt", Labels: map[string]string{"floor": fmt.Sprint(i % 6)},
		})
	}
	return site.NewDirectory(s, devs)
}

// benchRules writes 200 rules of every form over the bench site.
func benchRules() string { return benchRulesN(1) }

// benchRulesN writes 200×scale rules over benchSiteN(scale): every school its own.
func benchRulesN(scale int) string {
	var b strings.Builder
	b.WriteString("schedules:\n  school: {windows: [\"mon-fri 07:00-18:00\"]}\nrules:\n")
	dets := []string{"no_chef_hat", "no_mask", "no_uniform", "no_gloves", "smoking", "phone", "rodent", "trash_bin_open", "stranger"}
	zones := 20 * scale
	for i := 0; i < 200*scale; i++ {
		z := fmt.Sprintf("z%02d", i%zones)
		switch i % 5 {
		case 0:
			fmt.Fprintf(&b, "  - {name: panic-%d, severity: critical, select: {kinds: [panic], zones: [%s]}, when: 'type == \"pressed\"', resolve: 'type == \"released\"'}\n", i, z)
		case 1:
			fmt.Fprintf(&b, "  - {name: fall-%d, severity: critical, select: {kinds: [antifall], zones: [%s]}, when: 'type == \"state\" && fields.occupied == true', resolve: 'type == \"state\" && fields.occupied == false', for: 3s}\n", i, z)
		case 2:
			fmt.Fprintf(&b, "  - {name: det-%d, severity: minor, schedule: school, select: {kinds: [kitchen_camera], zones: [%s]}, when: 'type == \"detection\" && fields.detection == \"%s\" && num(fields.confidence) > 0.8', count: {threshold: 3, window: 10m}}\n", i, fmt.Sprintf("z%02d", (i+1)%zones), dets[i%len(dets)])
		case 3:
			fmt.Fprintf(&b, "  - {name: silent-%d, severity: major, select: {zones: [%s]}, when: 'type in [\"heartbeat\", \"state\", \"detection\"]', absence: {period: 5m}}\n", i, z)
		case 4:
			fmt.Fprintf(&b, "  - {name: tamper-%d, severity: major, select: {zones: [%s], labels: {floor: \"%d\"}}, when: 'type == \"tamper\"', resolve: 'type == \"tamper_restore\"'}\n", i, z, i%6)
		}
	}
	return b.String()
}

func benchEvents(dir *site.Directory, n int) []event.Event {
	rng := rand.New(rand.NewSource(1))
	devs := dir.Devices()
	dets := []string{"no_chef_hat", "no_mask", "smoking", "phone", "rodent"}
	out := make([]event.Event, n)
	for i := range out {
		d := &devs[rng.Intn(len(devs))]
		ev := event.Event{Site: "bench", DeviceID: d.ID, Kind: d.Kind, Type: "heartbeat"}
		// Mostly heartbeats, state reports and detections; alarms are rare (~1 in 1000).
		switch r := rng.Intn(100000); {
		case r < 40000:
		case d.Kind == event.KindKitchenCamera:
			ev.Type, ev.Fields = "detection", event.Fields{"detection": dets[rng.Intn(len(dets))], "confidence": 0.5 + rng.Float64()/2.5}
		case d.Kind == event.KindAntiFall:
			ev.Type, ev.Fields = "state", event.Fields{"occupied": rng.Intn(50) == 0}
		case d.Kind == event.KindPanic && r < 40200:
			ev.Type = "pressed"
		case d.Kind == event.KindPanic && r < 40400:
			ev.Type = "released"
		case r < 40100:
			ev.Type = "tamper"
		case r < 40200:
			ev.Type = "tamper_restore"
		}
		out[i] = ev
	}
	return out
}

// BenchmarkEngine measures events/s through 200 rules and 500 devices, allocations per
// event, and the p99 latency of one Process call (events 10 ms apart: timers run too).
func BenchmarkEngine(b *testing.B) {
	dir := benchSite()
	rs, err := Parse([]Source{{Name: "bench.yaml", Data: []byte(benchRules())}}, Options{Directory: dir, NoBuiltins: true})
	if err != nil {
		b.Fatal(err)
	}
	evs := benchEvents(dir, 1<<16)
	e := New(rs, dir, shanghai)
	t0 := time.Date(2026, 11, 20, 9, 0, 0, 0, shanghai)
	e.Tick(t0)
	lat := make([]time.Duration, 0, b.N)
	changes := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		now := t0.Add(time.Duration(i) * 10 * time.Millisecond)
		s := time.Now()
		changes += len(e.Process(now, evs[i&(len(evs)-1)]))
		lat = append(lat, time.Since(s))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
	b.ReportMetric(float64(changes)/float64(b.N), "changes/event")
	st := e.Stats()
	b.ReportMetric(float64(st.Evaluated)/float64(st.Events), "evals/event")
}

// BenchmarkEngineNoChange measures events that change nothing (the common case) by
// kind of expression they meet: allocations per event show what the evaluation costs
// beyond the VM. Every sub-benchmark asserts that nothing changes.
func BenchmarkEngineNoChange(b *testing.B) {
	dir := benchSite()
	rs, err := Parse([]Source{{Name: "bench.yaml", Data: []byte(benchRules())}}, Options{Directory: dir, NoBuiltins: true})
	if err != nil {
		b.Fatal(err)
	}
	byKind := map[event.Kind]string{}
	for _, d := range dir.Devices() {
		if _, ok := byKind[d.Kind]; !ok {
			byKind[d.Kind] = d.ID
		}
	}
	for _, c := range []struct {
		name string
		ev   event.Event
	}{
		{"heartbeat", event.Event{Kind: event.KindPatrol, DeviceID: byKind[event.KindPatrol], Type: "heartbeat"}},
		{"panic-released", event.Event{Kind: event.KindPanic, DeviceID: byKind[event.KindPanic], Type: "released"}},
		{"antifall-state-field", event.Event{Kind: event.KindAntiFall, DeviceID: byKind[event.KindAntiFall], Type: "state",
			Fields: event.Fields{"occupied": false}}},
		{"detection-fields-num", event.Event{Kind: event.KindKitchenCamera, DeviceID: byKind[event.KindKitchenCamera], Type: "detection",
			Fields: event.Fields{"detection": "no_mask", "confidence": 0.2}}},
	} {
		b.Run(c.name, func(b *testing.B) {
			e := New(rs, dir, shanghai)
			t0 := time.Date(2026, 11, 20, 9, 0, 0, 0, shanghai)
			e.Tick(t0)
			ev := c.ev
			ev.Site = "bench"
			now := t0.Add(time.Second) // fixed: absence rules of silent devices never come due
			b.ReportAllocs()
			for b.Loop() {
				if ch := e.Process(now, ev); len(ch) > 0 {
					b.Fatalf("%d changes, first %s %s", len(ch), ch[0].Rule, ch[0].Key)
				}
			}
			b.ReportMetric(float64(e.Stats().Evaluated)/float64(e.Stats().Events), "evals/event")
		})
	}
}

// BenchmarkEngineScale measures the engine at 1, 10, 100 and 1000 schools' worth of
// devices and rules on one gateway (500 devices and 200 rules a school): events/s,
// evaluations per event, the p99 of one Process call, and the engine's heap per
// device (its index, rule bindings and instances). Each size builds its engine once.
func BenchmarkEngineScale(b *testing.B) {
	for _, scale := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("schools=%d", scale), func(b *testing.B) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			dir := benchSiteN(scale)
			rs, err := Parse([]Source{{Name: "bench.yaml", Data: []byte(benchRulesN(scale))}}, Options{Directory: dir, NoBuiltins: true})
			if err != nil {
				b.Fatal(err)
			}
			e := New(rs, dir, shanghai)
			t0 := time.Date(2026, 11, 20, 9, 0, 0, 0, shanghai)
			e.Tick(t0)
			runtime.GC()
			runtime.ReadMemStats(&after)
			evs := benchEvents(dir, 1<<16)
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				// The gateway's event rate grows with its devices: each device reports
				// as often at every scale.
				now := t0.Add(time.Duration(i) * 10 * time.Millisecond / time.Duration(scale))
				s := time.Now()
				e.Process(now, evs[i&(len(evs)-1)])
				lat = append(lat, time.Since(s))
			}
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
			st := e.Stats()
			b.ReportMetric(float64(st.Evaluated)/float64(st.Events), "evals/event")
			b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(500*scale), "heap-B/device")
			runtime.KeepAlive(e)
		})
	}
}
