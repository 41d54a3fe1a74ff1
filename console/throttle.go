package console

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/campusguard/campusguard/console/auth"
)

// Login throttling. Nothing a visitor does at the login may slow an alarm:
//
//   - an attempt is reserved in the limiter before its password is checked, so
//     parallel attempts cannot all pass the limit while the slow hash runs;
//   - the bcrypt checks run behind a small semaphore (hashSlots at once, hashQueue
//     waiting); beyond that a login is answered 503 at once instead of queueing CPU
//     work on the gateway. Browsers with a known-device cookie (below) have a gate of
//     their own, so a guard logging in during a flood is not queued behind it;
//   - failures back off per client address (up to the window) and per account (up to
//     accountCap), instead of locking the account: a browser that has logged in to an
//     account before carries a signed "known device" cookie and is limited only by its
//     own failures, so nobody can keep a guard out during an incident.

const (
	hashSlots   = 1                // bcrypt checks at once (one core of the gateway at most)
	hashQueue   = 4                // logins waiting for a slot; more are refused (503)
	accountCap  = 30 * time.Second // longest per-account pause
	knownCookie = "cg_known"
)

type loginResult int

const (
	loginOK loginResult = iota
	loginFailed
	loginLimited
	loginBusy
)

// hashGate bounds the password checks that run at once.
type hashGate struct {
	slots   chan struct{}
	waiting atomic.Int32
}

func newHashGate() *hashGate { return &hashGate{slots: make(chan struct{}, hashSlots)} }

// run runs f when a slot is free; false when too many wait or ctx ends first.
func (g *hashGate) run(ctx context.Context, f func()) bool {
	if g.waiting.Add(1) > hashQueue+hashSlots {
		g.waiting.Add(-1)
		return false
	}
	defer g.waiting.Add(-1)
	select {
	case g.slots <- struct{}{}:
	case <-ctx.Done():
		return false
	}
	defer func() { <-g.slots }()
	f()
	return true
}

// throttled answers a login from a client that must still wait, before its body is
// read: a flood is refused at the least cost. It reports whether it answered.
func (c *Console) throttled(w http.ResponseWriter, r *http.Request) (time.Duration, bool) {
	retry := c.limiter.Retry("ip:" + remote(r))
	if retry <= 0 {
		return 0, false
	}
	c.met.logins.WithLabelValues("rate_limited").Inc()
	retryAfter(w, retry)
	return retry, true
}

// sampler lets one log line through per second: a flood must not flood the log.
type sampler struct{ last atomic.Int64 }

func (s *sampler) allow(now time.Time) bool {
	n, l := now.UnixNano(), s.last.Load()
	return n-l >= int64(time.Second) && s.last.CompareAndSwap(l, n)
}

// knownMAC is the signature of a known-device cookie for an account.
func (c *Console) knownMAC(name string) string {
	m := hmac.New(sha256.New, c.deviceKey)
	m.Write([]byte("known-device\x00" + name))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:18])
}

// knownDevice reports whether the request carries a known-device cookie for name.
func (c *Console) knownDevice(r *http.Request, name string) bool {
	ck, err := r.Cookie(knownCookie)
	if err != nil {
		return false
	}
	n, mac, ok := strings.Cut(ck.Value, ".")
	if !ok {
		return false
	}
	b, err := base64.RawURLEncoding.DecodeString(n)
	return err == nil && string(b) == name && auth.Equal(mac, c.knownMAC(name))
}

func (c *Console) setKnownDevice(w http.ResponseWriter, r *http.Request, name string) {
	v := base64.RawURLEncoding.EncodeToString([]byte(name)) + "." + c.knownMAC(name)
	http.SetCookie(w, &http.Cookie{Name: knownCookie, Value: v, Path: "/login", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: c.secure(r), MaxAge: 180 * 24 * 3600})
	http.SetCookie(w, &http.Cookie{Name: knownCookie, Value: v, Path: "/api/login", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: c.secure(r), MaxAge: 180 * 24 * 3600})
}

// login checks a name and password under the throttle and starts a session.
func (c *Console) login(w http.ResponseWriter, r *http.Request, name, password string) (loginResult, *auth.Session, time.Duration) {
	ip := remote(r)
	name = strings.TrimSpace(name)
	keys := []auth.Key{{Name: "ip:" + ip}}
	gate := c.hashes
	if c.knownDevice(r, name) {
		gate = c.knownHashes // a guard's own browser never queues behind a flood
		keys = append(keys, auth.Key{Name: "known:" + name + "@" + ip})
	} else {
		keys = append(keys, auth.Key{Name: "user:" + name, Cap: accountCap})
	}
	res, retry := c.limiter.Reserve(keys...)
	if res == nil {
		c.met.logins.WithLabelValues("rate_limited").Inc()
		if c.floodLog.allow(c.clock.Now()) {
			c.log.Warn("console: login throttled (logged once a second)", "user", clip(name), "remote", ip, "retry_after", retry)
		}
		return loginLimited, nil, retry
	}
	var (
		acct auth.Account
		ok   bool
	)
	users := c.users.Load()
	if !gate.run(r.Context(), func() { acct, ok = users.Check(name, password) }) {
		// Not tried: the account gets its attempt back, the client (flooding) does not.
		res.Release(keys[1].Name)
		c.met.logins.WithLabelValues("busy").Inc()
		if c.floodLog.allow(c.clock.Now()) {
			c.log.Warn("console: logins refused, password checks busy (logged once a second)", "user", clip(name), "remote", ip)
		}
		return loginBusy, nil, time.Second
	}
	if !ok {
		res.Done(false)
		c.met.logins.WithLabelValues("failed").Inc()
		c.log.Warn("console: login failed", "user", clip(name), "remote", ip)
		c.audit(r.Context(), ActionLoginFailed, clip(name), "remote "+ip)
		return loginFailed, nil, 0
	}
	res.Done(true, "user:"+name, "known:"+name+"@"+ip)
	token, s := c.sessions.Create(acct, ip)
	c.setSessionCookie(w, r, token, c.config().SessionTTL)
	c.setKnownDevice(w, r, acct.Name)
	c.clearCookie(w, r, loginCSRFCookie)
	c.met.logins.WithLabelValues("ok").Inc()
	c.log.Info("console: login", "user", s.User, "role", s.Role, "remote", ip, "session", s.ID)
	c.audit(r.Context(), ActionLogin, s.User, "remote "+ip+", role "+string(s.Role))
	return loginOK, &s, 0
}
