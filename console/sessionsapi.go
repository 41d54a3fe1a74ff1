package console

import (
	"net/http"
	"time"

	"github.com/campusguard/campusguard/console/auth"
)

// sessionView is one session in GET /api/sessions (no token, no CSRF token).
type sessionView struct {
	ID          string    `json:"id"`
	User        string    `json:"user"`
	DisplayName string    `json:"display_name"`
	Role        auth.Role `json:"role"`
	Kiosk       bool      `json:"kiosk"`
	Remote      string    `json:"remote,omitempty"`
	Created     time.Time `json:"created"`
	Expires     time.Time `json:"expires"`
	Current     bool      `json:"current"`
}

type sessionList struct {
	Sessions []sessionView `json:"sessions"`
}

// apiSessions lists the live sessions (operators): kept across restarts, so they
// must be visible and revocable.
func (c *Console) apiSessions(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	out := sessionList{Sessions: []sessionView{}}
	for _, x := range c.sessions.List() {
		out.Sessions = append(out.Sessions, sessionView{ID: x.ID, User: x.User, DisplayName: x.DisplayName, Role: x.Role,
			Kiosk: x.Kiosk != "", Remote: x.Remote, Created: x.Created, Expires: x.Expires, Current: x.ID == s.ID})
	}
	writeJSON(w, http.StatusOK, out)
}

// apiEndSession ends a session by its id (operators).
func (c *Console) apiEndSession(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	id := r.PathValue("id")
	if !c.sessions.End(id) {
		apiError(w, http.StatusNotFound, "not_found", "no such session")
		return
	}
	c.log.Info("console: session ended", "session", id, "by", s.User)
	c.audit(r.Context(), ActionLogout, s.User, "session "+id+" ended by an operator")
	w.WriteHeader(http.StatusNoContent)
}
