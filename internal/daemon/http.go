package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/campusguard/campusguard/drivers/sim"

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

// serveSimulate runs a simulator scenario (campusguard simulate SCENARIO); only
// registered when the simulator runs.
func (d *Daemon) serveSimulate(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("scenario")
	if _, ok := sim.Scenarios[name]; !ok {
		http.Error(w, fmt.Sprintf("unknown scenario %q; known: %s", name, strings.Join(sim.ScenarioNames(), ", ")), http.StatusNotFound)
		return
	}
	// The scenario outlives the request: it runs until done or the daemon stops.
	ctx := d.runCtx
	d.goRun("scenario-"+name, func() {
		if err := d.p.sim.RunScenario(ctx, name); err != nil && ctx.Err() == nil {
			d.log.Warn("scenario failed", "scenario", name, "err", err)
		}
	})
	w.WriteHeader(http.StatusAccepted)
	fmt.Fprintf(w, "scenario %s started: %s\n", name, sim.Scenarios[name])
}

// loopbackOnly serves the /-/ tool endpoints only to clients on the gateway itself,
// whatever address http.listen binds.
func loopbackOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
			http.Error(w, "only from the gateway itself", http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r)
	})
}
