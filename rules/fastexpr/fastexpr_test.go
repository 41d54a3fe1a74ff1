package fastexpr

import (
	"testing"

	"github.com/campusguard/campusguard/event"
	"github.com/campusguard/campusguard/site"
)

// TestCompile: the common shapes compile and evaluate on the unboxed event; other
// shapes are left to the VM (nil). The rules package compares every shape with the VM.
func TestCompile(t *testing.T) {
	in := &In{
		Event:  event.Event{Type: "state", Site: "s01", Source: "mqtt", Fields: event.Fields{"occupied": true, "confidence": 0.9, "n": int64(3), "s": "x"}},
		Device: &site.Device{ID: "d1", Kind: event.KindAntiFall, Zone: "z1", Labels: map[string]string{"floor": "3"}},
		Kind:   string(event.KindAntiFall),
	}
	tests := []struct {
		code string
		ok   bool // Compile takes it
		want bool
	}{
		{`type == "state"`, true, true},
		{`type != "state"`, true, false},
		{`type in ["a", "state"]`, true, true},
		{`fields.occupied == true && device.zone == "z1"`, true, true},
		{`not (kind == "panic") or false`, true, true},
		{`num(fields.confidence) > 0.8`, true, true},
		{`num(fields.missing, 5) <= -1`, true, false},
		{`fields.n == 3.0`, true, true},
		{`has(fields.missing)`, true, false},
		{`str(fields.s) == "x" and device.labels.floor == "3"`, true, true},
		{`site == "s01" && source == "mqtt" && device.id == "d1"`, true, true},
		{`len(type) > 3`, false, false},
		{`fields.n > 2`, false, false},
		{`fields?.s == "x"`, false, false},
		{`type ==`, false, false},
	}
	for _, tt := range tests {
		f := Compile(tt.code)
		if (f != nil) != tt.ok {
			t.Errorf("%s: compiled %v, want %v", tt.code, f != nil, tt.ok)
			continue
		}
		if f != nil && f(in) != tt.want {
			t.Errorf("%s = %v, want %v", tt.code, f(in), tt.want)
		}
	}
}
