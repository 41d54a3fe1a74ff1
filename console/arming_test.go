package console_test

import (
	"strings"
	"testing"

	"github.com/campusguard/campusguard/alerting/journal"
)

// TestArmingOverride: a guard arms a zone for a while with a reason but may not
// disarm it; an operator disarms for a bounded time; both are journaled with the
// reason and the end; the zone list shows the override.
func TestArmingOverride(t *testing.T) {
	e := newEnv(t, envOpts{})
	g, op := e.login("zhangwei"), e.login("admin")
	steps := []struct {
		who  *client
		zone string
		body map[string]any
		code int
	}{
		{g, "kitchen", map[string]any{"armed": true, "duration": "30m", "reason": "晚自习结束"}, 204},
		{g, "kitchen", map[string]any{"armed": false, "duration": "30m", "reason": "x"}, 403},
		{g, "kitchen", map[string]any{"armed": true, "duration": "30m"}, 400},
		{g, "kitchen", map[string]any{"delay": true, "duration": "30m", "reason": "x"}, 400}, // no schedule to delay
		{g, "kitchen", map[string]any{"armed": true, "duration": "-1h", "reason": "x"}, 400},
		{g, "nowhere", map[string]any{"armed": true, "duration": "1h", "reason": "x"}, 404},
		{op, "kitchen", map[string]any{"armed": false, "duration": "2h", "reason": "设备维修"}, 204},
		{op, "kitchen", map[string]any{"armed": false, "duration": "24h", "reason": "太久"}, 400},
	}
	for i, s := range steps {
		if resp, b := s.who.do("POST", "/api/zones/"+s.zone+"/arming", s.body, nil); resp.StatusCode != s.code {
			t.Errorf("step %d: %d %s, want %d", i, resp.StatusCode, b, s.code)
		}
	}
	var zones struct {
		Zones []struct {
			Zone     string
			Armed    bool
			Override *struct{ By, Reason string }
		}
	}
	op.getJSON("/api/zones", &zones)
	for _, z := range zones.Zones {
		if z.Zone == "kitchen" && (z.Armed || z.Override == nil || z.Override.Reason != "设备维修") {
			t.Errorf("kitchen %+v", z)
		}
	}
	var recs journal.RecordPage
	op.getJSON("/api/records?action=disarmed", &recs)
	if len(recs.Records) != 1 || !strings.Contains(recs.Records[0].Note, "设备维修") || recs.Records[0].By != "admin" {
		t.Errorf("disarm record %+v", recs.Records)
	}
}
