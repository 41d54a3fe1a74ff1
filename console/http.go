package console

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/campusguard/campusguard/console/auth"
)

// Cookie names.
const (
	sessionCookie    = "cg_session"
	loginCSRFCookie  = "cg_login_csrf"
	langCookie       = "cg_lang"
	csrfHeader       = "X-CSRF-Token"
	csrfFormField    = "csrf_token"
	maxBody          = 64 << 10
	contentSecPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: http: https:; " +
		"connect-src 'self'; media-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

// routes builds the mux. Method patterns give 405 for wrong methods.
func (c *Console) routes() http.Handler {
	mux := http.NewServeMux()
	// Pages.
	for _, p := range []string{"/{$}", "/alarms/{id}", "/history", "/devices", "/patrols", "/silences", "/plan", "/report", "/link"} {
		mux.HandleFunc("GET "+p, c.page)
	}
	mux.HandleFunc("GET /login", c.loginPage)
	mux.HandleFunc("GET /kiosk", c.kioskLogin)
	mux.HandleFunc("POST /login", c.loginForm)
	mux.HandleFunc("POST /logout", c.logoutForm)
	mux.Handle("GET /static/", c.static())

	// JSON API.
	mux.HandleFunc("POST /api/login", c.apiLogin)
	mux.Handle("POST /api/logout", c.api(auth.Viewer, c.apiLogout))
	mux.Handle("GET /api/session", c.api(auth.Viewer, c.apiSession))
	mux.Handle("GET /api/alarms/active", c.api(auth.Viewer, c.apiActive))
	mux.Handle("GET /api/alarms", c.api(auth.Viewer, c.apiAlarms))
	mux.Handle("GET /api/alarms/{id}", c.api(auth.Viewer, c.apiAlarm))
	mux.Handle("POST /api/alarms/{id}/ack", c.api(auth.Guard, c.apiAck))
	mux.Handle("POST /api/alarms/{id}/resolve", c.api(auth.Guard, c.apiResolve))
	mux.Handle("GET /api/records", c.api(auth.Viewer, c.apiRecords))
	mux.Handle("GET /api/records/export", c.api(auth.Operator, c.apiExport))
	mux.Handle("GET /api/devices", c.api(auth.Viewer, c.apiDevices))
	mux.Handle("GET /api/patrol/report", c.api(auth.Viewer, c.apiPatrolReport))
	mux.Handle("GET /api/patrol/live", c.api(auth.Viewer, c.apiPatrolLive))
	mux.Handle("GET /api/silences", c.api(auth.Viewer, c.apiSilences))
	mux.Handle("POST /api/silences", c.api(auth.Operator, c.apiSilence))
	mux.Handle("DELETE /api/silences/{id}", c.api(auth.Operator, c.apiUnsilence))
	mux.Handle("GET /api/zones", c.api(auth.Viewer, c.apiZones))
	mux.Handle("POST /api/zones/{zone}/arm", c.api(auth.Operator, c.apiArm(true)))
	mux.Handle("POST /api/zones/{zone}/disarm", c.api(auth.Operator, c.apiArm(false)))
	mux.Handle("POST /api/zones/{zone}/arming", c.api(auth.Guard, c.apiArming))
	mux.Handle("GET /api/events", c.api(auth.Viewer, c.events))
	mux.Handle("GET /api/site", c.api(auth.Viewer, c.apiSite))
	mux.Handle("GET /api/plans/site", c.api(auth.Viewer, c.apiPlan))
	mux.Handle("GET /api/plans/{building}/{floor}", c.api(auth.Viewer, c.apiPlan))
	mux.Handle("GET /api/policelink", c.api(auth.Viewer, c.apiPoliceLink))
	mux.Handle("POST /api/testmode", c.api(auth.Operator, c.apiStartTest))
	mux.Handle("POST /api/testmode/end", c.api(auth.Operator, c.apiEndTest))
	mux.Handle("GET /api/sessions", c.api(auth.Operator, c.apiSessions))
	mux.Handle("DELETE /api/sessions/{id}", c.api(auth.Operator, c.apiEndSession))
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		apiError(w, http.StatusNotFound, "not_found", "no such API endpoint")
	})
	return securityHeaders(mux)
}

// securityHeaders sets the headers every response carries.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin") // (no-referrer would make browsers send Origin: null)
		if r.TLS != nil {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		if !strings.HasPrefix(r.URL.Path, "/static/") {
			h.Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}

// apiHandler is an API handler that runs with a checked session.
type apiHandler func(w http.ResponseWriter, r *http.Request, s *auth.Session)

// api wraps h: a session is required (401), state changes need the session's CSRF token
// and a same-origin request (403 csrf), and the session's role must allow min (403).
func (c *Console) api(min auth.Role, h apiHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, ok := c.session(r)
		if !ok {
			apiError(w, http.StatusUnauthorized, "unauthenticated", "log in first")
			return
		}
		if unsafeMethod(r.Method) {
			if !sameOrigin(r) {
				apiError(w, http.StatusForbidden, "csrf", "cross-origin request refused")
				return
			}
			if !auth.Equal(r.Header.Get(csrfHeader), s.CSRF) {
				apiError(w, http.StatusForbidden, "csrf", "missing or wrong "+csrfHeader+" header")
				return
			}
		}
		if !s.Role.Allows(min) {
			apiError(w, http.StatusForbidden, "forbidden", "role "+string(s.Role)+" may not do this (needs "+string(min)+")")
			return
		}
		h(w, r, &s)
	})
}

func unsafeMethod(m string) bool {
	return m != http.MethodGet && m != http.MethodHead && m != http.MethodOptions
}

// sameOrigin refuses requests a browser marks as cross-site, and those whose Origin
// names another host. Clients that send neither (curl, other systems) pass: they are
// held by the CSRF token, which a foreign page cannot read.
func sameOrigin(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "same-origin":
		return true
	case "cross-site", "same-site":
		return false
	}
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	if o == "null" {
		return false
	}
	u, err := url.Parse(o)
	return err == nil && strings.EqualFold(u.Host, r.Host)
}

// session returns the request's live session.
func (c *Console) session(r *http.Request) (auth.Session, bool) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil {
		return auth.Session{}, false
	}
	return c.sessions.Get(ck.Value)
}

// secure reports whether cookies get the Secure flag: under TLS.
func (c *Console) secure(r *http.Request) bool {
	return r.TLS != nil || c.config().TLS.Enabled()
}

func (c *Console) setSessionCookie(w http.ResponseWriter, r *http.Request, token string, ttl time.Duration) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: token, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: c.secure(r), MaxAge: int(ttl / time.Second)})
}

func (c *Console) clearCookie(w http.ResponseWriter, r *http.Request, name string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: c.secure(r), MaxAge: -1})
}

// remote is the client's address (no port), the rate limiter's key. The console does
// not trust X-Forwarded-For: behind a proxy every client shares the proxy's limit.
func remote(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// apiErr is the body of every API error.
type apiErr struct {
	Error string `json:"error"`
	Code  string `json:"code"`
}

func apiError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, apiErr{Error: msg, Code: code})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"encoding failed","code":"internal"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// readJSON decodes a small JSON body into v; an empty body leaves v as it is.
func readJSON(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		return errors.New("body too large or unreadable")
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errors.New("bad JSON: " + err.Error())
	}
	return nil
}

// safeNext returns next when it is a local path of the console, else "/".
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") ||
		strings.HasPrefix(next, "/api/") || strings.HasPrefix(next, "/login") {
		return "/"
	}
	if u, err := url.Parse(next); err != nil || u.Host != "" || u.Scheme != "" {
		return "/"
	}
	return next
}

func retryAfter(w http.ResponseWriter, d time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(int((d+time.Second-1)/time.Second)))
}
