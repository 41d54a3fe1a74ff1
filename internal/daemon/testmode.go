package daemon

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/campusguard/campusguard/alerting"
)

// testModeRequest starts or ends a test window (POST /-/test-mode, on the gateway
// itself): {"device": "panic-gate", "for": "1h", "by": "王主任", "reason": "季度联网测试"}.
type testModeRequest struct {
	Device string `json:"device"`
	Zone   string `json:"zone"`
	For    string `json:"for"`
	By     string `json:"by"`
	Reason string `json:"reason"`
	End    bool   `json:"end"`
}

// serveTestMode puts a device or zone in test (or ends it), and lists the windows.
func (d *Daemon) serveTestMode(w http.ResponseWriter, r *http.Request) {
	m := d.p.alerts
	if r.Method == http.MethodGet {
		writeTestJSON(w, http.StatusOK, map[string]any{"tests": m.Tests()})
		return
	}
	var req testModeRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&req); err != nil {
		writeTestJSON(w, http.StatusBadRequest, map[string]string{"error": "a JSON body is required: " + err.Error()})
		return
	}
	var err error
	if req.End {
		err = m.EndTest(r.Context(), req.Device, req.Zone, req.By)
	} else {
		dur, perr := time.ParseDuration(req.For)
		if perr != nil {
			writeTestJSON(w, http.StatusBadRequest, map[string]string{"error": "for: a duration such as 30m or 2h: " + perr.Error()})
			return
		}
		err = m.StartTest(r.Context(), alerting.TestWindow{Device: req.Device, Zone: req.Zone, By: req.By, Reason: req.Reason}, dur)
	}
	if err != nil {
		writeTestJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	d.log.Info("test mode changed", "device", req.Device, "zone", req.Zone, "by", req.By, "end", req.End, "for", req.For, "reason", req.Reason)
	writeTestJSON(w, http.StatusOK, map[string]any{"tests": m.Tests()})
}

func writeTestJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
