package daemon

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/campusguard/campusguard/internal/health"
)

// serveHealth answers /healthz: 200 while the gateway is up or degraded, 503 when a
// component is down; the body lists every component's state and reason.
func (d *Daemon) serveHealth(w http.ResponseWriter, r *http.Request) {
	rep := d.health.Check()
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if rep.State == health.Down {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(struct {
		health.Report
		Uptime string `json:"uptime"`
	}{rep, d.clock.Since(d.started).Round(time.Second).String()})
}

// serveReload triggers a reload from loopback tools (same as SIGHUP) and answers with
// its outcome.
func (d *Daemon) serveReload(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	if err := d.Reload(ctx, "HTTP request"); err != nil {
		http.Error(w, err.Error(), http.StatusUnprocessableEntity)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
