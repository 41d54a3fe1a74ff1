package daemon

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/campusguard/campusguard/drivers/sim"

	"github.com/campusguard/campusguard/health"
)

// serveHealth answers /healthz: 200 while the gateway is up or degraded, 503 when a
// component is down. The gateway itself (loopback) and callers with the HTTP token
// (see remoteAuthorized) get every component's state, reason and detail; anyone else
// gets the states only: no addresses, accounts or paths.
func (d *Daemon) serveHealth(w http.ResponseWriter, r *http.Request) {
	rep := d.health.Check()
	if !fromLoopback(r) && !d.remoteAuthorized(r) {
		rep = redactHealth(rep)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
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

// redactHealth keeps each component's state and drops reasons and details.
func redactHealth(rep health.Report) health.Report {
	out := health.Report{State: rep.State, Components: make(map[string]health.Status, len(rep.Components))}
	for name, st := range rep.Components {
		out.Components[name] = health.Status{State: st.State}
	}
	return out
}

// guardRemote serves h (the metrics) to the gateway itself and to callers with the
// HTTP token; others get 403, so labels naming receivers, brokers or files stay on
// the gateway.
func (d *Daemon) guardRemote(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !fromLoopback(r) && !d.remoteAuthorized(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="campusguard"`)
			http.Error(w, "metrics from another host need the HTTP token", http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// HTTPTokenEnv names the environment variable holding the token that lets another
// host read the full /healthz and /metrics; the systemd credential httpTokenCred
// (LoadCredential=, readable only by the service) is read first.
const (
	HTTPTokenEnv  = "CAMPUSGUARD_HTTP_TOKEN"
	httpTokenCred = "http-token"
)

// remoteAuthorized reports whether r carries "Authorization: Bearer <token>" with the
// configured HTTP token. Without a configured token nobody remote is authorized.
func (d *Daemon) remoteAuthorized(r *http.Request) bool {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || got == "" {
		return false
	}
	want := d.httpToken()
	return want != "" && subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(want)) == 1
}

func (d *Daemon) httpToken() string {
	getenv := d.opts.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	if dir := getenv("CREDENTIALS_DIRECTORY"); dir != "" {
		if b, err := os.ReadFile(filepath.Join(dir, httpTokenCred)); err == nil {
			return strings.TrimSpace(string(b))
		}
	}
	return strings.TrimSpace(getenv(HTTPTokenEnv))
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

// loopbackOnly serves the /-/ tool endpoints only to tools on the gateway itself,
// whatever address http.listen binds: the client must be on loopback, the Host must
// name loopback (no DNS rebinding), and the request must not come from a web page — a
// page in a browser on the gateway is on loopback too, but browsers mark what pages
// send (Origin, Sec-Fetch-Site), and the campusguard CLI and curl send neither.
func loopbackOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case !fromLoopback(r):
			http.Error(w, "only from the gateway itself", http.StatusForbidden)
		case !loopbackHost(r.Host):
			http.Error(w, "only to a loopback address", http.StatusForbidden)
		case fromBrowserPage(r):
			http.Error(w, "not from a web page", http.StatusForbidden)
		default:
			h.ServeHTTP(w, r)
		}
	})
}

// fromLoopback reports whether the client is on the gateway itself.
func fromLoopback(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	ip := net.ParseIP(host)
	return err == nil && ip != nil && ip.IsLoopback()
}

// loopbackHost reports whether a Host header names the gateway's loopback.
func loopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// fromBrowserPage reports whether a browser says a page sent the request: it has an
// Origin, or a Sec-Fetch-Site other than "none" (an address typed by the user).
func fromBrowserPage(r *http.Request) bool {
	if r.Header.Get("Origin") != "" {
		return true
	}
	site := r.Header.Get("Sec-Fetch-Site")
	return site != "" && site != "none"
}
