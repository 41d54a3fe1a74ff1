package console

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/console/auth"
)

// armingRequest is the body of POST /api/zones/{zone}/arming: an override of the
// zone's arming for a bounded time with a reason. Guards may arm (the end of a late
// event) and delay a scheduled arming (delay: true, at most the zone's delay_max);
// operators may also disarm. duration "" = until the zone's schedule next changes.
type armingRequest struct {
	Armed    bool   `json:"armed"`
	Delay    bool   `json:"delay"`
	Duration string `json:"duration"`
	Reason   string `json:"reason"`
}

func (c *Console) apiArming(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	var req armingRequest
	if err := readJSON(w, r, &req); err != nil {
		apiError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	var d time.Duration
	if req.Duration != "" {
		var err error
		if d, err = time.ParseDuration(req.Duration); err != nil || d <= 0 {
			apiError(w, http.StatusBadRequest, "bad_request", "duration: want a positive duration such as 30m or 2h")
			return
		}
	}
	if len(req.Reason) > 200 {
		apiError(w, http.StatusBadRequest, "bad_request", "reason: at most 200 bytes")
		return
	}
	guard := s.Role == auth.Guard
	if guard && !req.Armed && !req.Delay {
		apiError(w, http.StatusForbidden, "forbidden", "a guard may arm a zone or delay its scheduled arming, not disarm it")
		return
	}
	zone := r.PathValue("zone")
	err := c.deps.Alarms.SetArming(r.Context(), alerting.ArmRequest{Zone: zone, Armed: req.Armed, Delay: req.Delay,
		By: s.User, Guard: guard, For: d, Reason: strings.TrimSpace(req.Reason)})
	switch {
	case errors.Is(err, alerting.ErrUnknownZone):
		apiError(w, http.StatusNotFound, "not_found", "no such zone")
		return
	case errors.Is(err, alerting.ErrNoReason), errors.Is(err, alerting.ErrTooLong), errors.Is(err, alerting.ErrNoScheduled),
		errors.Is(err, alerting.ErrPanicZone), errors.Is(err, alerting.ErrNotAllowed):
		apiError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	case err != nil:
		c.met.actions.WithLabelValues("arming", "error").Inc()
		c.log.Error("console: arming", "zone", zone, "by", s.User, "err", err)
		apiError(w, http.StatusInternalServerError, "journal", err.Error())
		return
	}
	c.met.actions.WithLabelValues("arming", "ok").Inc()
	c.log.Info("console: arming override", "zone", zone, "by", s.User, "armed", req.Armed, "delay", req.Delay,
		"duration", req.Duration, "reason", req.Reason)
	w.WriteHeader(http.StatusNoContent)
}
