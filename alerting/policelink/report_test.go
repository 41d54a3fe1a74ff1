package policelink

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/alerting/policelink/dc09"
	"github.com/campusguard/campusguard/cfgerr"
	"github.com/campusguard/campusguard/event"
	"github.com/campusguard/campusguard/internal/testenv"
	"github.com/campusguard/campusguard/site"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func testDirectory() *site.Directory {
	s := &site.Site{ID: "school", Zones: []site.Zone{
		{ID: "gate", Number: 1, Area: 1},
		{ID: "dorm", Number: 20, Area: 3},
	}}
	return site.NewDirectory(s, []site.Device{
		{ID: "btn-1", Kind: event.KindPanic, Zone: "gate", Number: 15},
		{ID: "btn-2", Kind: event.KindPanic, Zone: "dorm"},
	})
}

func TestReportFor(t *testing.T) {
	cfg := Config{Account: "1234", Mappings: []Mapping{
		{Match: Match{Device: "btn-2"}, Code: 122, Zone: 7}, // silent panic in the dorm, no restore
		{Match: Match{Kind: event.KindPanic}, Code: 120, Restore: true},
		{Match: Match{Rule: "fall", Labels: map[string]string{"floor": "3"}}, Code: 100, Area: 5, Zone: 301},
	}}
	cfg.SetDefaults(cfgerr.Env{})
	t0 := epoch
	t1 := t0.Add(5 * time.Minute)
	with := func(n alerting.Notification, f func(*alerting.Notification)) alerting.Notification { f(&n); return n }
	tests := []struct {
		name string
		n    alerting.Notification
		send bool
		want Report
		err  error
	}{
		{"panic fired: device number, zone area", fired("a", t0), true,
			Report{Qualifier: 1, Code: 120, SIA: "PA", Area: 1, Zone: 15, At: t0}, nil},
		{"panic resolved: restore", resolved("a", t0, t1), true,
			Report{Qualifier: 3, Code: 120, SIA: "PH", Area: 1, Zone: 15, At: t1}, nil},
		{"acknowledged: not sent", with(fired("a", t0), func(n *alerting.Notification) { n.Transition = alerting.Acked }), false, Report{}, nil},
		{"escalated: not sent", with(fired("a", t0), func(n *alerting.Notification) { n.Transition = alerting.Escalated }), false, Report{}, nil},
		{"cleared: not sent", with(fired("a", t0), func(n *alerting.Notification) { n.Transition = alerting.ConditionEnd }), false, Report{}, nil},
		{"first mapping wins, its zone", with(fired("b", t0), func(n *alerting.Notification) { n.Alarm.DeviceID, n.Alarm.Zone = "btn-2", "dorm" }), true,
			Report{Qualifier: 1, Code: 122, SIA: "HA", Area: 3, Zone: 7, At: t0}, nil},
		{"no restore in mapping", with(resolved("b", t0, t1), func(n *alerting.Notification) { n.Alarm.DeviceID = "btn-2" }), false, Report{}, nil},
		{"labels and mapping area", with(fired("c", t0), func(n *alerting.Notification) {
			n.Alarm.Rule, n.Alarm.DeviceKind, n.Alarm.DeviceID, n.Alarm.Labels = "fall", event.KindAntiFall, "radar-9", map[string]string{"floor": "3"}
		}), true, Report{Qualifier: 1, Code: 100, SIA: "MA", Area: 5, Zone: 301, At: t0}, nil},
		{"unknown device: the alarm's zone", with(fired("d", t0), func(n *alerting.Notification) { n.Alarm.DeviceID, n.Alarm.Zone = "btn-x", "dorm" }), true,
			Report{Qualifier: 1, Code: 120, SIA: "PA", Area: 3, Zone: 20, At: t0}, nil},
		{"unmapped", with(fired("e", t0), func(n *alerting.Notification) { n.Alarm.DeviceKind, n.Alarm.Rule = event.KindKitchenCamera, "no_hat" }), false, Report{}, ErrNoMapping},
		{"test mode: 601 with the device's zone", with(fired("f", t0), func(n *alerting.Notification) { n.Alarm.Test = true }), true,
			Report{Qualifier: 1, Code: 601, SIA: "RX", Area: 1, Zone: 15, At: t0, Test: true}, nil},
		{"test mode, unmapped device still reported", with(fired("g", t0), func(n *alerting.Notification) {
			n.Alarm.Test, n.Alarm.DeviceKind, n.Alarm.DeviceID, n.Alarm.Zone = true, event.KindKitchenCamera, "cam", ""
		}), true, Report{Qualifier: 1, Code: 601, SIA: "RX", At: t0, Test: true}, nil},
		{"test mode restore: not sent", with(resolved("f", t0, t1), func(n *alerting.Notification) { n.Alarm.Test = true }), false, Report{}, nil},
		{"no fired time: notification time", with(fired("h", time.Time{}), func(n *alerting.Notification) { n.At = t1 }), true,
			Report{Qualifier: 1, Code: 120, SIA: "PA", Area: 1, Zone: 15, At: t1}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, send, err := cfg.ReportFor(tt.n, testDirectory())
			if !errors.Is(err, tt.err) || send != tt.send || rep != tt.want {
				t.Errorf("ReportFor = %+v, %v, %v; want %+v, %v, %v", rep, send, err, tt.want, tt.send, tt.err)
			}
		})
	}
}

// TestFramesGolden pins the frames of a set of reports (clear and encrypted with a
// fixed pad, CID and SIA) in testdata/frames.golden.
func TestFramesGolden(t *testing.T) {
	key := testKey(t)
	now := time.Date(2025, 9, 24, 16, 20, 1, 0, time.UTC)
	reports := []struct {
		name string
		rep  Report
	}{
		{"panic", Report{Qualifier: 1, Code: 120, SIA: "PA", Area: 1, Zone: 15, At: now.Add(-3 * time.Hour)}},
		{"panic restore", Report{Qualifier: 3, Code: 120, SIA: "PH", Area: 1, Zone: 15, At: now.Add(-time.Hour)}},
		{"path fail", Report{Qualifier: 1, Code: 350, SIA: "YC", Zone: 1, At: now}},
		{"periodic test", Report{Qualifier: 1, Code: 602, SIA: "RP", At: now, Test: true}},
	}
	var b bytes.Buffer
	for _, proto := range []string{ProtocolCID, ProtocolSIA} {
		for _, enc := range []bool{false, true} {
			cfg := Config{Account: "1234", Protocol: proto, Receiver: "5678", Line: "1"}
			for i, r := range reports {
				m, err := cfg.message(r.rep, 41+i, enc)
				if err != nil {
					t.Fatal(err)
				}
				m.Timestamp = now
				frame, err := dc09.Encode(m, key, dc09.FixedPad('p'))
				if err != nil {
					t.Fatal(err)
				}
				back, err := dc09.Decode(frame, key)
				if err != nil || back.Data != m.Data {
					t.Fatalf("%s: round trip %v %q", r.name, err, back.Data)
				}
				fmt.Fprintf(&b, "# %s %s encrypted=%v\n%q\n", proto, r.name, enc, frame)
			}
			m := cfg.nullMessage(enc)
			m.Timestamp = now
			frame, err := dc09.Encode(m, key, dc09.FixedPad('p'))
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "# %s NULL encrypted=%v\n%q\n", proto, enc, frame)
		}
	}
	golden := filepath.Join("testdata", "frames.golden")
	testenv.Golden(t, golden, b.Bytes(), *update)
	if !strings.Contains(b.String(), `[#1234|1120 01 015][H13:20:01,09-24-2025]_16:20:01,09-24-2025`) {
		t.Error("the panic frame does not carry its own time in [H..] and the sending time in the timestamp")
	}
}

func TestOccurrenceRoundTrip(t *testing.T) {
	at := time.Date(2025, 12, 31, 23, 59, 58, 0, time.FixedZone("CST", 8*3600))
	s := FormatOccurrence(at)
	if s != "15:59:58,12-31-2025" {
		t.Fatalf("FormatOccurrence = %q", s)
	}
	back, err := ParseOccurrence(s)
	if err != nil || !back.Equal(at) {
		t.Fatalf("ParseOccurrence = %v, %v", back, err)
	}
	for _, bad := range []string{"", "15:59:58", "15:59:58,13-31-2025", "15:59:58.12-31-2025", "25:00:00,01-01-2025"} {
		if _, err := ParseOccurrence(bad); err == nil {
			t.Errorf("ParseOccurrence(%q) accepted", bad)
		}
	}
}
