package devhealth

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/campusguard/campusguard/event"
	"github.com/campusguard/campusguard/health"
	"github.com/campusguard/campusguard/site"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

var t0 = time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)

func sec(n int) time.Time { return t0.Add(time.Duration(n) * time.Second) }

func testDir() *site.Directory {
	return site.NewDirectory(&site.Site{ID: "s01"}, []site.Device{
		{ID: "btn", Kind: event.KindPanic, Driver: "gpio", Heartbeat: 60 * time.Second},
		{ID: "cam", Kind: event.KindKitchenCamera, Driver: "mqtt"}, // default 180 s
		{ID: "tag", Kind: event.KindPatrol, Driver: "mqtt", Heartbeat: -1},
	})
}

func ev(dev, typ string, at time.Time, f event.Fields) event.Event {
	return event.Event{DeviceID: dev, Type: typ, ReceivedAt: at, Fields: f, Source: "mqtt"}
}

// op is one step of a tracker script: an event to observe, or a check at a time.
type op struct {
	ev    *event.Event
	check time.Time
	want  []string // "device type" of the events the tracker returns
}

func observe(e event.Event, want ...string) op { return op{ev: &e, want: want} }
func check(at time.Time, want ...string) op    { return op{check: at, want: want} }

func TestTracker(t *testing.T) {
	tests := []struct {
		name   string
		ops    []op
		status map[string]Status
	}{
		{"never seen goes offline one heartbeat after start", []op{
			check(sec(60)), check(sec(61), "btn offline"), check(sec(180)), check(sec(181), "cam offline"), check(sec(9999)),
		}, map[string]Status{"btn": StatusOffline, "cam": StatusOffline, "tag": StatusUnknown}},
		{"reports keep it online", []op{
			observe(ev("btn", "heartbeat", sec(50), nil)), check(sec(110)),
			observe(ev("btn", "pressed", sec(100), nil)), check(sec(160)), check(sec(161), "btn offline"),
		}, map[string]Status{"btn": StatusOffline, "cam": StatusUnknown}},
		{"back online when it reports again", []op{
			check(sec(61), "btn offline"), observe(ev("btn", "heartbeat", sec(70), nil), "btn online"),
			observe(ev("btn", "heartbeat", sec(80), nil)),
		}, map[string]Status{"btn": StatusOnline}},
		{"driver's offline (LWT) is taken, no second event", []op{
			observe(ev("cam", "heartbeat", sec(1), nil)), observe(ev("cam", "offline", sec(2), nil)),
			check(sec(500), "btn offline"),              // cam is offline already: no event of ours
			observe(ev("cam", "online", sec(600), nil)), // the driver's own online: no echo
		}, map[string]Status{"cam": StatusOnline}},
		{"after LWT offline, any report brings an online event", []op{
			observe(ev("cam", "offline", sec(2), nil)), observe(ev("cam", "detection", sec(3), nil), "cam online"),
		}, map[string]Status{"cam": StatusOnline}},
		{"fault does not count as a report", []op{
			observe(ev("btn", "fault", sec(30), event.Fields{"error": "pin gone"})), check(sec(61), "btn offline"),
		}, map[string]Status{"btn": StatusOffline}},
		{"unsupervised device never goes offline", []op{
			observe(ev("tag", "scan", sec(1), nil)), check(sec(1e6), "btn offline", "cam offline"),
		}, map[string]Status{"tag": StatusOnline}},
		{"own events ignored, unknown devices ignored", []op{
			observe(event.Event{DeviceID: "btn", Type: "online", ReceivedAt: sec(1), Source: Source}),
			observe(ev("ghost", "pressed", sec(1), nil)),
		}, map[string]Status{"btn": StatusUnknown}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := NewTracker(testDir(), t0)
			for i, o := range tc.ops {
				var out []event.Event
				if o.ev != nil {
					out = tr.Observe(*o.ev)
				} else {
					out = tr.Check(o.check)
				}
				var got []string
				for _, e := range out {
					got = append(got, e.DeviceID+" "+e.Type)
					if e.Source != Source || e.Site != "s01" || e.Kind == "" {
						t.Fatalf("op %d: event %+v", i, e)
					}
				}
				if !reflect.DeepEqual(got, o.want) {
					t.Fatalf("op %d: got %v, want %v", i, got, o.want)
				}
			}
			for dev, want := range tc.status {
				if s, _ := tr.Device(dev); s.Status != want {
					t.Errorf("%s: status %s, want %s", dev, s.Status, want)
				}
			}
		})
	}
}

func TestTrackerOfflineEventFields(t *testing.T) {
	tr := NewTracker(testDir(), t0)
	tr.Observe(ev("btn", "heartbeat", sec(10), nil))
	out := tr.Check(sec(75))
	if len(out) != 1 {
		t.Fatalf("got %v", out)
	}
	e := out[0]
	if e.Kind != event.KindPanic || e.Type != event.TypeOffline || !e.ReceivedAt.Equal(sec(75)) ||
		e.Fields["silent_s"] != 65.0 || e.Fields["heartbeat_s"] != 60.0 || e.Fields["last_seen"] != sec(10) ||
		e.Fields.String("reason") != ReasonSilent {
		t.Fatalf("offline event %+v", e)
	}
	s, _ := tr.Device("btn")
	if !s.OfflineSince.Equal(sec(75)) || s.OfflineReason != ReasonSilent || !s.LastSeen.Equal(sec(10)) {
		t.Fatalf("state %+v", s)
	}
}

func TestTrackerDeviceValues(t *testing.T) {
	tr := NewTracker(testDir(), t0)
	tr.Observe(ev("cam", "state", sec(1), event.Fields{"battery": int64(87), "supply_v": 12.1}))
	tr.Observe(ev("btn", "tamper", sec(2), event.Fields{"cause": "cut"}))
	tr.Observe(ev("cam", "fault", sec(3), event.Fields{"error": "video loss"}))
	cam, _ := tr.Device("cam")
	if cam.Battery == nil || *cam.Battery != 87 || cam.SupplyV == nil || *cam.SupplyV != 12.1 || !cam.Fault || cam.FaultReason != "video loss" {
		t.Fatalf("cam %+v", cam)
	}
	if btn, _ := tr.Device("btn"); !btn.Tamper {
		t.Fatalf("btn %+v", btn)
	}
	tr.Observe(ev("btn", "tamper_restore", sec(4), nil))
	tr.Observe(ev("cam", "fault_restore", sec(5), nil))
	if btn, _ := tr.Device("btn"); btn.Tamper {
		t.Fatal("tamper not restored")
	}
	if cam, _ := tr.Device("cam"); cam.Fault || cam.FaultReason != "" || *cam.Battery != 87 {
		t.Fatalf("cam %+v", cam)
	}
	// Snapshot values are copies.
	snap := tr.Snapshot()
	*snap[1].Battery = 1
	if cam, _ := tr.Device("cam"); *cam.Battery != 87 {
		t.Fatal("snapshot shares the battery value")
	}
}

func TestTrackerSetDevicesKeepsState(t *testing.T) {
	tr := NewTracker(testDir(), t0)
	tr.Observe(ev("btn", "tamper", sec(10), nil))
	tr.Observe(ev("cam", "heartbeat", sec(10), nil))
	// Reload at 100 s: cam removed, btn's heartbeat now 2 min, a new device.
	tr.SetDevices(site.NewDirectory(&site.Site{ID: "s01"}, []site.Device{
		{ID: "btn", Kind: event.KindPanic, Driver: "gpio", Heartbeat: 2 * time.Minute},
		{ID: "beam", Kind: event.KindAntiFall, Driver: "gpio", Heartbeat: time.Minute},
	}), sec(100))
	snap := tr.Snapshot()
	if len(snap) != 2 || snap[0].Device != "btn" || snap[1].Device != "beam" {
		t.Fatalf("snapshot %+v", snap)
	}
	if !snap[0].Tamper || !snap[0].LastSeen.Equal(sec(10)) || snap[0].Heartbeat != 2*time.Minute {
		t.Fatalf("btn state lost: %+v", snap[0])
	}
	if got := names(tr.Check(sec(130))); got != "" { // exactly 120 s after 10 s
		t.Fatalf("offline at 130 s: %q", got)
	}
	if got := names(tr.Check(sec(131))); got != "btn" {
		t.Fatalf("offline at 131 s: %q", got)
	}
	if got := names(tr.Check(sec(161))); got != "beam" { // 60 s after it was added
		t.Fatalf("offline at 161 s: %q", got)
	}
}

func names(evs []event.Event) string {
	var s []string
	for _, e := range evs {
		s = append(s, e.DeviceID)
	}
	return strings.Join(s, ",")
}

func TestTrackerHealth(t *testing.T) {
	tr := NewTracker(testDir(), t0)
	if h := tr.Health(); h.State != health.Up {
		t.Fatalf("health %+v", h)
	}
	tr.Check(sec(200))
	h := tr.Health()
	if h.State != health.Degraded || h.Reason != "offline: btn, cam" || h.Detail["offline"] != 2 {
		t.Fatalf("health %+v", h)
	}
	tr.Observe(ev("btn", "heartbeat", sec(201), nil))
	tr.Observe(ev("cam", "heartbeat", sec(201), nil))
	tr.Observe(ev("cam", "fault", sec(202), nil))
	if h := tr.Health(); h.State != health.Degraded || h.Reason != "fault: cam" {
		t.Fatalf("health %+v", h)
	}
}

func TestTrackerMetrics(t *testing.T) {
	tr := NewTracker(testDir(), t0)
	reg := prometheus.NewPedanticRegistry()
	if err := tr.Register(reg); err != nil {
		t.Fatal(err)
	}
	tr.Observe(ev("cam", "state", sec(1), event.Fields{"battery": 87.0, "supply_v": 12.5}))
	tr.Check(sec(61))
	const want = `
# HELP campusguard_device_battery_percent Battery level last reported by the device.
# TYPE campusguard_device_battery_percent gauge
campusguard_device_battery_percent{device="cam",kind="kitchen_camera"} 87
# HELP campusguard_device_last_seen_seconds Unix time the device last reported.
# TYPE campusguard_device_last_seen_seconds gauge
campusguard_device_last_seen_seconds{device="cam",kind="kitchen_camera"} 1.795161601e+09
# HELP campusguard_device_online 1 while the device is online, 0 while offline (absent until its state is known).
# TYPE campusguard_device_online gauge
campusguard_device_online{device="btn",kind="panic"} 0
campusguard_device_online{device="cam",kind="kitchen_camera"} 1
# HELP campusguard_device_supply_volts Supply voltage last reported by the device.
# TYPE campusguard_device_supply_volts gauge
campusguard_device_supply_volts{device="cam",kind="kitchen_camera"} 12.5
# HELP campusguard_devices Devices by link status.
# TYPE campusguard_devices gauge
campusguard_devices{status="offline"} 1
campusguard_devices{status="online"} 1
campusguard_devices{status="unknown"} 1
`
	err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"campusguard_device_battery_percent", "campusguard_device_last_seen_seconds", "campusguard_device_online",
		"campusguard_device_supply_volts", "campusguard_devices")
	if err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(tr.Collector(), "campusguard_device_tamper"); n != 3 {
		t.Fatalf("tamper series %d, want 3", n)
	}
}
