package console

import (
	"context"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/console/auth"
)

// Audit actions the console journals (besides what alerting journals itself).
const (
	ActionLogin       = "login"
	ActionLoginFailed = "login_failed"
	ActionLogout      = "logout"
)

func (c *Console) logout(w http.ResponseWriter, r *http.Request) {
	ck, err := r.Cookie(sessionCookie)
	if err == nil {
		if s, ok := c.sessions.Get(ck.Value); ok {
			c.log.Info("console: logout", "user", s.User, "session", s.ID)
			c.audit(r.Context(), ActionLogout, s.User, "remote "+remote(r))
		}
		c.sessions.Delete(ck.Value)
	}
	c.clearCookie(w, r, sessionCookie)
}

// audit journals an operator record when an Audit store is set (slog always has it).
func (c *Console) audit(ctx context.Context, action, by, note string) {
	if c.deps.Audit == nil {
		return
	}
	rec := alerting.HistoryRecord{At: c.clock.Now(), Action: action, By: by, Note: note}
	if err := c.deps.Audit.Commit(alerting.Commit{History: []alerting.HistoryRecord{rec}}); err != nil {
		c.log.Error("console: audit record not journaled", "action", action, "by", by, "err", err)
	}
}

// clip bounds a name from outside for logs and the journal.
func clip(s string) string {
	if len(s) > 64 {
		s = s[:64]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
	}
	return strings.ToValidUTF8(s, "?")
}

// loginPage shows the login form with a fresh login-CSRF token (double submit: the same
// value in an HttpOnly cookie and in the form).
func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	if _, ok := c.session(r); ok {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	c.renderLogin(w, r, http.StatusOK, "")
}

func (c *Console) renderLogin(w http.ResponseWriter, r *http.Request, status int, msgKey string) {
	lang := c.language(w, r)
	token := auth.Token()
	http.SetCookie(w, &http.Cookie{Name: loginCSRFCookie, Value: token, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: c.secure(r), MaxAge: 3600})
	data := map[string]any{
		"Lang":    lang,
		"CSRF":    token,
		"Next":    safeNext(r.FormValue("next")),
		"Error":   msgKey,
		"Site":    c.site,
		"Version": assetVersion,
	}
	c.render(w, status, "login.html", lang, data)
}

// loginForm is the login form's POST: login CSRF checked, then the password.
func (c *Console) loginForm(w http.ResponseWriter, r *http.Request) {
	if _, ok := c.throttled(w, r); ok {
		c.renderLogin(w, r, http.StatusTooManyRequests, "login.limited")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := r.ParseForm(); err != nil {
		c.renderLogin(w, r, http.StatusBadRequest, "login.bad_request")
		return
	}
	ck, err := r.Cookie(loginCSRFCookie)
	if err != nil || !auth.Equal(r.PostFormValue(csrfFormField), ck.Value) || !sameOrigin(r) {
		c.renderLogin(w, r, http.StatusForbidden, "login.expired")
		return
	}
	res, _, retry := c.login(w, r, r.PostFormValue("name"), r.PostFormValue("password"))
	switch res {
	case loginLimited:
		retryAfter(w, retry)
		c.renderLogin(w, r, http.StatusTooManyRequests, "login.limited")
	case loginBusy:
		retryAfter(w, retry)
		c.renderLogin(w, r, http.StatusServiceUnavailable, "login.busy")
	case loginFailed:
		c.renderLogin(w, r, http.StatusUnauthorized, "login.failed")
	default:
		http.Redirect(w, r, safeNext(r.PostFormValue("next")), http.StatusSeeOther)
	}
}

// logoutForm is the page's logout button (a form POST carrying the session's CSRF token).
func (c *Console) logoutForm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	_ = r.ParseForm()
	s, ok := c.session(r)
	if ok && (!sameOrigin(r) || !auth.Equal(r.PostFormValue(csrfFormField), s.CSRF)) {
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	c.logout(w, r)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// loginRequest is the body of POST /api/login.
type loginRequest struct {
	Name     string `json:"name"`
	Password string `json:"password"`
}

// sessionInfo is what /api/login and /api/session return.
type sessionInfo struct {
	User        string    `json:"user"`
	DisplayName string    `json:"display_name"`
	Role        auth.Role `json:"role"`
	CSRFToken   string    `json:"csrf_token"`
	Expires     time.Time `json:"expires"`
	Language    string    `json:"language"`
}

func (c *Console) info(r *http.Request, s *auth.Session) sessionInfo {
	return sessionInfo{User: s.User, DisplayName: s.DisplayName, Role: s.Role, CSRFToken: s.CSRF,
		Expires: s.Expires, Language: c.langOf(r)}
}

// apiLogin is POST /api/login for other systems and scripts. Login CSRF: the body must
// be JSON (a cross-site form cannot send that without a CORS preflight, which the
// console never grants) from the same origin when a browser says where it comes from.
func (c *Console) apiLogin(w http.ResponseWriter, r *http.Request) {
	if _, ok := c.throttled(w, r); ok {
		apiError(w, http.StatusTooManyRequests, "rate_limited", "too many failed logins; try again later")
		return
	}
	ct := r.Header.Get("Content-Type")
	if !strings.HasPrefix(strings.ToLower(strings.TrimSpace(ct)), "application/json") {
		apiError(w, http.StatusUnsupportedMediaType, "content_type", "send the credentials as application/json")
		return
	}
	if !sameOrigin(r) {
		apiError(w, http.StatusForbidden, "csrf", "cross-origin request refused")
		return
	}
	var req loginRequest
	if err := readJSON(w, r, &req); err != nil {
		apiError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	res, s, retry := c.login(w, r, req.Name, req.Password)
	switch res {
	case loginLimited:
		retryAfter(w, retry)
		apiError(w, http.StatusTooManyRequests, "rate_limited", "too many failed logins; try again later")
	case loginBusy:
		retryAfter(w, retry)
		apiError(w, http.StatusServiceUnavailable, "busy", "too many logins at once; try again in a second")
	case loginFailed:
		apiError(w, http.StatusUnauthorized, "bad_credentials", "wrong name or password")
	default:
		writeJSON(w, http.StatusOK, c.info(r, s))
	}
}

func (c *Console) apiLogout(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	c.logout(w, r)
	w.WriteHeader(http.StatusNoContent)
}

func (c *Console) apiSession(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	writeJSON(w, http.StatusOK, c.info(r, s))
}
