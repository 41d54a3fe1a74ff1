package console_test

import (
	"testing"

	"github.com/campusguard/campusguard/alerting"
)

// The police-link panel's API and test mode: an operator puts a device in test for a
// bounded time with a reason; a guard may read the panel but not start a test.
func TestPoliceLinkPanelAndTestMode(t *testing.T) {
	e := newEnv(t, envOpts{})
	op := e.login("admin")
	var st struct {
		Enabled bool
		Sink    string
		Tests   []alerting.TestWindow
	}
	op.getJSON("/api/policelink", &st)
	if st.Sink != "police" || len(st.Tests) != 0 {
		t.Fatalf("panel %+v", st)
	}
	for i, body := range []any{
		map[string]any{"device": "panic-gate", "duration": "1h"},                 // no reason
		map[string]any{"device": "panic-gate", "reason": "测试", "duration": "9h"}, // too long
		map[string]any{"reason": "测试", "duration": "1h"},                         // neither device nor zone
		map[string]any{"device": "panic-gate", "reason": "测试", "duration": "x"},
	} {
		if resp, b := op.do("POST", "/api/testmode", body, nil); resp.StatusCode != 400 {
			t.Errorf("bad test window %d: %d %s", i, resp.StatusCode, b)
		}
	}
	if resp, b := op.do("POST", "/api/testmode", map[string]any{"device": "panic-gate", "duration": "1h", "reason": "季度联网测试"}, nil); resp.StatusCode != 200 {
		t.Fatalf("start test: %d %s", resp.StatusCode, b)
	}
	op.getJSON("/api/policelink", &st)
	if len(st.Tests) != 1 || st.Tests[0].Device != "panic-gate" || st.Tests[0].By != "admin" || st.Tests[0].Reason != "季度联网测试" {
		t.Fatalf("tests %+v", st.Tests)
	}
	guard := e.login("zhangwei")
	if resp, _ := guard.do("POST", "/api/testmode", map[string]any{"device": "panic-gate", "duration": "1h", "reason": "x"}, nil); resp.StatusCode != 403 {
		t.Fatalf("a guard started a test: %d", resp.StatusCode)
	}
	if resp, b := op.do("POST", "/api/testmode/end", map[string]any{"device": "panic-gate"}, nil); resp.StatusCode != 200 {
		t.Fatalf("end test: %d %s", resp.StatusCode, b)
	}
	op.getJSON("/api/policelink", &st)
	if len(st.Tests) != 0 {
		t.Fatalf("tests after the end %+v", st.Tests)
	}
}
