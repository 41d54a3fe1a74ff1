package telemetry

import (
	"flag"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	lp "github.com/influxdata/line-protocol"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/event"
	"github.com/campusguard/campusguard/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite golden files")

var (
	tRecv = time.Date(2026, 11, 20, 13, 3, 12, 345_678_901, time.UTC)
	tDev  = time.Date(2026, 11, 20, 13, 3, 11, 120_000_000, time.UTC)
)

func zoneOf(id string) string {
	return map[string]string{"btn-gate": "gate", "radar-b3-2": "b3-2f-east"}[id]
}

func fixedNow() time.Time { return tRecv }

func ptr(v float64) *float64 { return &v }

// goldenPoints renders one point of every measurement.
func goldenPoints() []byte {
	enc := newEncoder("cg_", "s01", zoneOf)
	var b []byte
	b = enc.appendEvent(b, &event.Event{Seq: 17, Site: "s01", DeviceID: "btn-gate", Kind: event.KindPanic,
		Type: event.TypePressed, Source: "gpio", ReceivedAt: tRecv}, fixedNow)
	b = enc.appendEvent(b, &event.Event{Seq: 1_000_018, DeviceID: "cam-2", Kind: event.KindKitchenCamera,
		Type: event.TypeDetection, Source: "mqtt", DeviceTime: tDev, ReceivedAt: tRecv,
		Fields: event.Fields{"detection": "no_chef_hat", "confidence": 0.91, "channel": int64(1),
			"snapshot": `http://10.0.0.21/snap/8812.jpg`, "region": "灶台区 \"east\"\nline2", "time": int64(1763643792),
			"ok": true, "nan": math.NaN(), "at": tDev}}, fixedNow)
	// A device clock 10 minutes off: the receive time is used.
	b = enc.appendEvent(b, &event.Event{Seq: 19, DeviceID: "reader-3", Kind: event.KindPatrol, Type: event.TypeScan,
		DeviceTime: tRecv.Add(-10 * time.Minute), ReceivedAt: tRecv,
		Fields: event.Fields{"card": "A1B2C3D4", "checkpoint": "CP-07", "battery": 87.0}}, fixedNow)
	b = enc.appendDeviceHealth(b, &DeviceHealth{At: tRecv, DeviceID: "radar-b3-2", Kind: event.KindAntiFall,
		Online: true, LastSeen: tRecv.Add(-30 * time.Second), BatteryPct: ptr(64), SupplyV: ptr(12.1)}, tRecv, 3)
	b = enc.appendDeviceHealth(b, &DeviceHealth{At: tRecv, DeviceID: "cam-2", Kind: event.KindKitchenCamera,
		Zone: "kitchen", Online: false, Status: "video loss"}, tRecv, 4)
	b = enc.appendPatrol(b, &PatrolResult{At: tRecv, Route: "night-1", Checkpoint: "CP-07", Result: "late",
		Run: "run-20261120-2100", Guard: "A1B2C3D4", Expected: tRecv.Add(-3 * time.Minute), Deviation: 3 * time.Minute}, tRecv)
	b = enc.appendPatrol(b, &PatrolResult{At: tRecv, Route: "night-1", Result: "incomplete",
		Run: "run-20261120-2100", Guard: "A1B2C3D4", Done: 11, Planned: 12}, tRecv)
	n := alerting.Notification{ID: "n-42", Transition: alerting.Fired, At: tRecv, Count: 1,
		Alarm: alerting.Alarm{ID: "a-7", Rule: "panic", Key: "btn-gate", Site: "s01", DeviceID: "btn-gate",
			DeviceKind: event.KindPanic, Severity: alerting.Critical, State: alerting.Firing, Latched: true,
			Message: "门卫室紧急按钮报警", Location: "门卫室", Count: 1, FiredAt: tRecv}}
	b = enc.appendAlarm(b, &n, &n.Alarm, tRecv)
	b = enc.appendGateway(b, &GatewayStats{At: tRecv, Uptime: 90 * time.Minute,
		Queues: map[string]int{"telemetry": 12, "rules": 0}, Values: map[string]float64{"goroutines": 41}},
		map[string]float64{"telemetry_spool_bytes": 0}, tRecv, 5)
	return b
}

func TestSchemaGolden(t *testing.T) {
	got := goldenPoints()
	golden := filepath.Join("testdata", "points.golden")
	testenv.Golden(t, golden, got, *update)
	// Every line parses as line protocol.
	ms, err := lp.NewParser(lp.NewMetricHandler()).Parse(got)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	if len(ms) != strings.Count(string(got), "\n") {
		t.Fatalf("parsed %d points from %d lines", len(ms), strings.Count(string(got), "\n"))
	}
}

func TestStampTimeChoiceAndUniqueness(t *testing.T) {
	tests := []struct {
		name string
		ev   event.Event
		want int64
	}{
		{"receive time, seq in sub-ms digits", event.Event{Seq: 5, ReceivedAt: tRecv},
			tRecv.UnixMilli()*1e6 + 5},
		{"trusted device time", event.Event{Seq: 5, DeviceTime: tDev, ReceivedAt: tRecv},
			tDev.UnixMilli()*1e6 + 5},
		{"device clock off: receive time", event.Event{Seq: 5, DeviceTime: tRecv.Add(time.Hour), ReceivedAt: tRecv},
			tRecv.UnixMilli()*1e6 + 5},
		{"seq folded mod 1e6", event.Event{Seq: 3_000_123, ReceivedAt: tRecv},
			tRecv.UnixMilli()*1e6 + 123},
		{"no times at all: now", event.Event{Seq: 1},
			tRecv.UnixMilli()*1e6 + 1},
	}
	enc := newEncoder("cg_", "s01", nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms, err := lp.NewParser(lp.NewMetricHandler()).Parse(enc.appendEvent(nil, &tt.ev, fixedNow))
			if err != nil || len(ms) != 1 {
				t.Fatalf("parse: %v", err)
			}
			if got := ms[0].Time().UnixNano(); got != tt.want {
				t.Fatalf("timestamp %d, want %d", got, tt.want)
			}
		})
	}
	// 1000 events of one device in one millisecond: 1000 distinct timestamps.
	seen := map[int64]bool{}
	for seq := uint64(1); seq <= 1000; seq++ {
		seen[stamp(tRecv, seq)] = true
	}
	if len(seen) != 1000 {
		t.Fatalf("%d distinct stamps", len(seen))
	}
}

func TestEscaping(t *testing.T) {
	tests := []struct {
		name      string
		device    string
		field     string
		value     any
		wantTag   string
		wantField any
	}{
		{"plain", "btn-1", "note", "hello", "btn-1", "hello"},
		{"spaces commas equals", "a b,c=d", "k y", "v", "a b,c=d", "v"},
		{"trailing backslash", `dev\`, "f", `x\`, "dev/", `x\`},
		{"quotes", `d"1`, "msg", `say "hi"`, `d"1`, `say "hi"`},
		{"newline in string", "d", "msg", "a\nb", "d", "a b"},
		{"invalid utf8", "d\xff", "s", "x\xffy", "d\uFFFD", "x\uFFFDy"},
		{"reserved field names", "d", "time", int64(3), "d", 3.0},
		{"int becomes float", "d", "n", int64(7), "d", 7.0},
		{"unnormalised int", "d", "n", 7, "d", 7.0},
	}
	enc := newEncoder("cg_", "s01", nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := event.Event{Seq: 1, DeviceID: tt.device, Kind: event.KindSystem, Type: "state", ReceivedAt: tRecv,
				Fields: event.Fields{tt.field: tt.value}}
			line := enc.appendEvent(nil, &ev, fixedNow)
			ms, err := lp.NewParser(lp.NewMetricHandler()).Parse(line)
			if err != nil || len(ms) != 1 {
				t.Fatalf("parse %q: %v", line, err)
			}
			if got, _ := getTag(ms[0], "device"); got != tt.wantTag {
				t.Errorf("device tag %q, want %q", got, tt.wantTag)
			}
			key := eventFieldKey(tt.field)
			if got, _ := getField(ms[0], key); got != tt.wantField {
				t.Errorf("field %s = %#v, want %#v (line %q)", key, got, tt.wantField, line)
			}
		})
	}
}

// FuzzAppendEvent: whatever strings devices send as ids and fields, each event renders
// as exactly one parseable line protocol point with its tags intact.
func FuzzAppendEvent(f *testing.F) {
	f.Add("btn-1", "pressed", "note", "hello", 1.5)
	f.Add(`a\`, "t y,pe", "k=ey", "v\"\\\n", math.Inf(1))
	f.Add("设备", "检测", "区域", "灶台区", -0.0)
	enc := newEncoder("cg_", "s01", nil)
	f.Fuzz(func(t *testing.T, device, typ, key, sval string, fval float64) {
		ev := event.Event{Seq: 9, DeviceID: device, Type: typ, Kind: event.KindSystem, ReceivedAt: tRecv,
			Fields: event.Fields{key: sval, key + "_n": fval}}
		line := enc.appendEvent(nil, &ev, fixedNow)
		if strings.Count(string(line), "\n") != 1 {
			t.Fatalf("not one line: %q", line)
		}
		ms, err := lp.NewParser(lp.NewMetricHandler()).Parse(line)
		if err != nil || len(ms) != 1 {
			t.Fatalf("parse %q: %v", line, err)
		}
		want := strings.Map(func(r rune) rune {
			switch r {
			case '\\':
				return '/'
			case '\n', '\r', '\t', '\f', '\v':
				return ' '
			}
			return r
		}, strings.ToValidUTF8(device, "\uFFFD"))
		if got, ok := getTag(ms[0], "device"); device != "" && (!ok || got != want) {
			t.Fatalf("device tag %q, want %q (line %q)", got, want, line)
		}
	})
}

func BenchmarkAppendEvent(b *testing.B) {
	enc := newEncoder("cg_", "s01", zoneOf)
	ev := event.Event{Seq: 1, Site: "s01", DeviceID: "radar-b3-2", Kind: event.KindAntiFall, Type: event.TypeState,
		Source: "mqtt", DeviceTime: tDev, ReceivedAt: tRecv,
		Fields: event.Fields{"occupied": true, "distance_m": 0.8, "zone": "B3-2F-east-balcony"}}
	buf := make([]byte, 0, 1<<20)
	b.ReportAllocs()
	for i := range b.N {
		ev.Seq = uint64(i)
		buf = enc.appendEvent(buf[:0], &ev, fixedNow)
	}
	b.SetBytes(int64(len(buf)))
}

func getTag(m lp.Metric, k string) (string, bool) {
	for _, t := range m.TagList() {
		if t.Key == k {
			return t.Value, true
		}
	}
	return "", false
}

func getField(m lp.Metric, k string) (any, bool) {
	for _, f := range m.FieldList() {
		if f.Key == k {
			return f.Value, true
		}
	}
	return nil, false
}

// TestFieldNamesNeverTagNames: a device field named like any tag of the schema is
// written under the x_ prefix, never as a second "kind" InfluxDB shows as kind_1.
func TestFieldNamesNeverTagNames(t *testing.T) {
	enc := newEncoder("cg_", "s01", nil)
	tests := []struct{ field, want string }{
		{"kind", "x_kind"}, {"zone", "x_zone"}, {"type", "x_type"}, {"device", "x_device"},
		{"site", "x_site"}, {"source", "x_source"}, {"seq", "x_seq"}, {"time", "x_time"},
		{"_hidden", "x__hidden"}, {"battery_pct", "battery_pct"}, {"温度", "温度"},
	}
	for _, tt := range tests {
		ev := event.Event{Seq: 1, DeviceID: "d1", Kind: event.KindSystem, Type: "state", ReceivedAt: tRecv,
			Fields: event.Fields{tt.field: "v"}}
		line := enc.appendEvent(nil, &ev, fixedNow)
		ms, err := lp.NewParser(lp.NewMetricHandler()).Parse(line)
		if err != nil || len(ms) != 1 {
			t.Fatalf("parse %q: %v", line, err)
		}
		if got, ok := getField(ms[0], tt.want); !ok || got != "v" {
			t.Errorf("field %q: no field %q in %q", tt.field, tt.want, line)
		}
		for _, tag := range ms[0].TagList() {
			if _, clash := getField(ms[0], tag.Key); clash {
				t.Errorf("field %q: a field shares the tag name %q in %q", tt.field, tag.Key, line)
			}
		}
	}
}
