package console

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"strings"
	"time"

	"github.com/campusguard/campusguard/console/auth"
)

// Kiosk is a duty-room device (the security room's PC) that opens the console with a
// device token instead of a password, so after a power cut the screen comes back
// without anyone typing: its browser starts at /kiosk?token=<token>.
type Kiosk struct {
	Name        string `mapstructure:"name"`         // an account-like name: duty-pc
	DisplayName string `mapstructure:"display_name"` // shown as who acknowledged: 值班室电脑
	// Role is guard (default: acknowledge and reset) or viewer; never operator.
	Role auth.Role `mapstructure:"role"`
	// TokenSHA256 is the hex SHA-256 of the device's token; the token itself is only on
	// the device (make one: head -c 32 /dev/urandom | base64 | tr -d '=+/';
	// its hash: printf %s TOKEN | sha256sum).
	TokenSHA256 string `mapstructure:"token_sha256"`
	// SessionTTL is how long the kiosk's session lasts unused (default 30 days); it is
	// renewed while the page is open.
	SessionTTL time.Duration `mapstructure:"session_ttl"`
}

// DefaultKioskTTL is a kiosk session's default lifetime.
const DefaultKioskTTL = 30 * 24 * time.Hour

func (k Kiosk) role() auth.Role {
	if k.Role == "" {
		return auth.Guard
	}
	return k.Role
}

func (k Kiosk) ttl() time.Duration {
	if k.SessionTTL <= 0 {
		return DefaultKioskTTL
	}
	return k.SessionTTL
}

// fingerprint ties a kiosk session to the token that started it: a new token in the
// config ends the sessions of the old one.
func (k Kiosk) fingerprint() string {
	h := strings.ToLower(k.TokenSHA256)
	if len(h) > 16 {
		h = h[:16]
	}
	return k.Name + "#" + h
}

// kioskLogin is GET /kiosk?token=…: a valid device token starts a kiosk session and
// sends the browser to the alarms page (so the token leaves the address bar).
func (c *Console) kioskLogin(w http.ResponseWriter, r *http.Request) {
	ip := remote(r)
	res, retry := c.limiter.Reserve(auth.Key{Name: "ip:" + ip})
	if res == nil {
		retryAfter(w, retry)
		c.renderLogin(w, r, http.StatusTooManyRequests, "login.limited")
		return
	}
	token := r.URL.Query().Get("token")
	sum := sha256.Sum256([]byte(token))
	got := hex.EncodeToString(sum[:])
	var kiosk *Kiosk
	cfg := c.config()
	for i := range cfg.Kiosks {
		k := &cfg.Kiosks[i]
		if token != "" && subtle.ConstantTimeCompare([]byte(got), []byte(strings.ToLower(k.TokenSHA256))) == 1 {
			kiosk = k
		}
	}
	if kiosk == nil {
		res.Done(false)
		c.met.logins.WithLabelValues("failed").Inc()
		if c.floodLog.allow(c.clock.Now()) {
			// not journaled: a flood of wrong tokens must not queue journal writes ahead of alarms
			c.log.Warn("console: kiosk token refused (logged once a second)", "remote", ip)
		}
		c.renderLogin(w, r, http.StatusUnauthorized, "login.kiosk_failed")
		return
	}
	res.Done(true)
	if cur, ok := c.session(r); ok && cur.Kiosk == kiosk.fingerprint() {
		http.Redirect(w, r, "/", http.StatusSeeOther) // the browser restarted, its session lives on
		return
	}
	display := kiosk.DisplayName
	if display == "" {
		display = kiosk.Name
	}
	acct := auth.Account{Name: kiosk.Name, DisplayName: display, Role: kiosk.role()}
	tok, s := c.sessions.CreateKiosk(acct, ip, kiosk.fingerprint(), kiosk.ttl())
	c.setSessionCookie(w, r, tok, kiosk.ttl())
	c.met.logins.WithLabelValues("ok").Inc()
	c.log.Info("console: kiosk login", "kiosk", kiosk.Name, "role", s.Role, "remote", ip, "session", s.ID)
	c.audit(r.Context(), ActionLogin, kiosk.Name, "kiosk, remote "+ip)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}
