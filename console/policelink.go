package console

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/console/auth"
	"github.com/campusguard/campusguard/health"
)

// The police-link panel and test mode: what the duty room needs to see of the link
// to the police receiving centre (each path's state, last ACK, backlog, last
// rejection) and the quarterly test of the alarm path (a device or zone in test for a
// bounded time, its alarms reported as tests).

// sinkHealther is the alarm core's per-sink health (alerting.Manager.SinkHealth).
type sinkHealther interface {
	SinkHealth() map[string]health.Reporter
}

// testModer is the alarm core's test mode (alerting.Manager).
type testModer interface {
	StartTest(ctx context.Context, w alerting.TestWindow, d time.Duration) error
	EndTest(ctx context.Context, device, zone, by string) error
	Tests() []alerting.TestWindow
}

// policeLinkStatus is GET /api/policelink.
type policeLinkStatus struct {
	Enabled bool                  `json:"enabled"`
	Sink    string                `json:"sink"`
	Health  health.Status         `json:"health"`
	Tests   []alerting.TestWindow `json:"tests"`
}

func (c *Console) apiPoliceLink(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	name := c.policeSink
	if name == "" {
		name = "police"
	}
	st := policeLinkStatus{Sink: name, Tests: []alerting.TestWindow{}}
	if sh, ok := c.deps.Alarms.(sinkHealther); ok {
		if rep, ok := sh.SinkHealth()[name]; ok {
			st.Enabled, st.Health = true, rep.Health()
		}
	}
	if tm, ok := c.deps.Alarms.(testModer); ok {
		st.Tests = tm.Tests()
	}
	writeJSON(w, http.StatusOK, st)
}

// testModeRequest is POST /api/testmode: {"device"|"zone", "duration": "1h", "reason"}.
type testModeRequest struct {
	Device   string `json:"device"`
	Zone     string `json:"zone"`
	Duration string `json:"duration"`
	Reason   string `json:"reason"`
}

// testModeCall reads a test-mode request; ok is false when it has answered already.
func (c *Console) testModeCall(w http.ResponseWriter, r *http.Request) (tm testModer, req testModeRequest, ok bool) {
	tm, ok = c.deps.Alarms.(testModer)
	if !ok {
		apiError(w, http.StatusNotImplemented, "unavailable", "test mode is not available")
		return nil, req, false
	}
	if err := readJSON(w, r, &req); err != nil {
		apiError(w, http.StatusBadRequest, "bad_request", err.Error())
		return nil, req, false
	}
	return tm, req, true
}

func (c *Console) apiStartTest(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	tm, req, ok := c.testModeCall(w, r)
	if !ok {
		return
	}
	d, err := time.ParseDuration(req.Duration)
	if err != nil || d <= 0 {
		apiError(w, http.StatusBadRequest, "bad_request", "duration: want a positive duration such as 30m or 1h")
		return
	}
	if err := tm.StartTest(r.Context(), alerting.TestWindow{Device: req.Device, Zone: req.Zone, By: s.User, Reason: req.Reason}, d); err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, alerting.ErrUnknownZone) {
			status = http.StatusNotFound
		}
		apiError(w, status, "bad_request", err.Error())
		return
	}
	c.log.Info("console: test mode started", "device", req.Device, "zone", req.Zone, "for", d, "by", s.User, "reason", req.Reason)
	writeJSON(w, http.StatusOK, tm.Tests())
}

func (c *Console) apiEndTest(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	tm, req, ok := c.testModeCall(w, r)
	if !ok {
		return
	}
	if err := tm.EndTest(r.Context(), req.Device, req.Zone, s.User); err != nil {
		apiError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	c.log.Info("console: test mode ended", "device", req.Device, "zone", req.Zone, "by", s.User)
	writeJSON(w, http.StatusOK, tm.Tests())
}
