package rules

import (
	"fmt"
	"testing"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"

	"github.com/campusguard/campusguard/event"
	"github.com/campusguard/campusguard/rules/fastexpr"
	"github.com/campusguard/campusguard/site"
)

// TestFastMatchesVM: every expression fastexpr.Compile takes gives the VM's answer on
// events whose fields hold every type events carry (and none), on devices with and
// without labels; the shapes rules are written in are taken.
func TestFastMatchesVM(t *testing.T) {
	exprs := []struct {
		code string
		fast bool // fastexpr.Compile must take it
	}{
		{`type == "pressed"`, true},
		{`"pressed" == type`, true},
		{`type != "pressed"`, true},
		{`type in ["heartbeat", "state", "detection"]`, true},
		{`type not in ["heartbeat", "state"]`, true},
		{`not (type == "x")`, true},
		{`type == "state" && fields.occupied == true`, true},
		{`type == "state" and fields.occupied == false`, true},
		{`fields.occupied == true || kind == "panic"`, true},
		{`type == "detection" && fields.detection == "no_mask" && num(fields.confidence) > 0.8`, true},
		{`num(fields.confidence) >= 1`, true},
		{`num(fields.confidence, 5) < 5`, true},
		{`num(fields.confidence) <= -0.5`, true},
		{`fields.n == 3`, true},
		{`fields.n == 3.0`, true},
		{`fields.n != 2.5`, true},
		{`fields.s == nil`, true},
		{`fields["s"] == "x"`, true},
		{`has(fields.s)`, true},
		{`has(type)`, true},
		{`str(fields.s) == "x"`, true},
		{`str(fields.n) == ""`, true},
		{`device.zone == "z1" && device.kind == "panic"`, true},
		{`device.labels.floor == "3"`, true},
		{`device.labels.none == ""`, true},
		{`kind == device.kind`, true},
		{`site == "s" && source == "mqtt"`, true},
		{`device.id in ["d1", "d2"]`, true},
		{`fields.b in [true, 1, "x", nil]`, true},
		{`true`, true},
		{`len(type) > 3`, false},
		{`fields.n > 2`, false},
		{`type startsWith "pre"`, false},
		{`time.Hour() > 7`, false},
		{`fields.x.y == 1`, false},
		{`fields?.s == "x"`, false},
	}
	fieldSets := []event.Fields{
		nil,
		{"occupied": true, "detection": "no_mask", "confidence": 0.9, "n": int64(3), "s": "x", "b": true},
		{"occupied": false, "detection": "smoking", "confidence": int64(1), "n": 3.0, "s": nil, "b": int64(1)},
		{"occupied": "true", "confidence": "0.9", "n": 2.5, "s": "", "b": "x"},
		{"confidence": -0.5, "n": int64(2), "b": false},
	}
	devs := []*site.Device{
		{ID: "d1", Kind: event.KindPanic, Zone: "z1", Labels: map[string]string{"floor": "3"}},
		{ID: "d3", Kind: event.KindAntiFall, Zone: "z2"},
		{ID: "d2"},
	}
	types := []string{"pressed", "state", "detection", "heartbeat", ""}
	var m vm.VM
	for _, x := range exprs {
		prog, err := expr.Compile(x.code, exprOptions...)
		if err != nil {
			t.Fatalf("%s: %v", x.code, err)
		}
		fast := fastexpr.Compile(x.code)
		if (fast != nil) != x.fast {
			t.Errorf("%s: fast %v, want %v", x.code, fast != nil, x.fast)
			continue
		}
		if fast == nil {
			continue
		}
		for _, d := range devs {
			for _, typ := range types {
				for _, f := range fieldSets {
					ev := event.Event{Site: "s", Source: "mqtt", DeviceID: d.ID, Kind: event.KindPanic, Type: typ, Fields: f}
					in := fastexpr.In{Event: ev, Device: d, Kind: string(d.Kind)}
					if d.Kind == "" {
						in.Kind = string(ev.Kind)
					}
					env := runEnv{Site: ev.Site, Type: ev.Type, Kind: in.Kind, Source: ev.Source, Fields: ev.Fields,
						Device: newRunDevice(deviceEnv{ID: d.ID, Kind: string(d.Kind), Zone: d.Zone, Location: d.Location, Name: d.Name, Labels: d.Labels})}
					out, err := m.Run(prog, &env)
					want, _ := out.(bool)
					if err != nil {
						want = false
					}
					if got := fast(&in); got != want {
						t.Errorf("%s on %s %s %v: fast %v, VM %v (%v)", x.code, d.ID, typ, fmt.Sprint(f), got, want, err)
					}
				}
			}
		}
	}
}
