package auth

import (
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
)

// Session is one logged-in browser or API client.
type Session struct {
	// ID is a short, non-secret id of the session for logs (a prefix of the token's hash).
	ID          string
	User        string
	DisplayName string
	Role        Role
	// CSRF is the session's anti-forgery token: state-changing requests must send it in
	// the X-CSRF-Token header.
	CSRF    string
	Created time.Time
	Expires time.Time
	Remote  string // client address at login
	// Kiosk names the duty-room device whose token started the session ("" for a
	// person's login). A kiosk session is renewed while it is used.
	Kiosk string
	// TTL is the session's lifetime (and a kiosk session's renewal).
	TTL time.Duration
}

// Sessions is the session store. It lives in memory; Export and Import let its owner
// keep it across a restart, and the function given to OnChange hears of every change
// worth keeping. Safe for concurrent use.
type Sessions struct {
	clock    clockwork.Clock
	ttl      time.Duration
	max      int
	onChange func()

	mu sync.Mutex
	m  map[[sha256.Size]byte]*Session
}

// NewSessions returns a store whose sessions last ttl; it holds at most max sessions
// (the oldest is dropped beyond that; max <= 0 means 1000).
func NewSessions(clock clockwork.Clock, ttl time.Duration, max int) *Sessions {
	if max <= 0 {
		max = 1000
	}
	return &Sessions{clock: clock, ttl: ttl, max: max, m: map[[sha256.Size]byte]*Session{}}
}

// SetTTL changes the lifetime of sessions created from now on.
func (s *Sessions) SetTTL(ttl time.Duration) {
	s.mu.Lock()
	s.ttl = ttl
	s.mu.Unlock()
}

// OnChange sets a function called (without the store's lock) after every change that
// should be kept: a session created, ended or renewed.
func (s *Sessions) OnChange(f func()) {
	s.mu.Lock()
	s.onChange = f
	s.mu.Unlock()
}

func (s *Sessions) changed() {
	s.mu.Lock()
	f := s.onChange
	s.mu.Unlock()
	if f != nil {
		f()
	}
}

// Create starts a session for a and returns its secret token (the cookie value).
func (s *Sessions) Create(a Account, remote string) (string, Session) {
	return s.CreateKiosk(a, remote, "", 0)
}

// CreateKiosk starts a session for a duty-room device (kiosk names it; ttl 0 means
// the store's TTL). A kiosk session is renewed by its use (see Get).
func (s *Sessions) CreateKiosk(a Account, remote, kiosk string, ttl time.Duration) (string, Session) {
	token := Token()
	d := digest(token)
	now := s.clock.Now()
	s.mu.Lock()
	if ttl <= 0 {
		ttl = s.ttl
	}
	sess := &Session{ID: hex.EncodeToString(d[:4]), User: a.Name, DisplayName: a.DisplayName, Role: a.Role,
		CSRF: Token(), Created: now, Expires: now.Add(ttl), Remote: remote, Kiosk: kiosk, TTL: ttl}
	s.pruneLocked(now)
	if len(s.m) >= s.max {
		s.dropOldestLocked(len(s.m) - s.max + 1)
	}
	s.m[d] = sess
	out := *sess
	s.mu.Unlock()
	s.changed()
	return token, out
}

// Get returns the live session of token. A kiosk session past half its lifetime is
// renewed.
func (s *Sessions) Get(token string) (Session, bool) {
	if token == "" {
		return Session{}, false
	}
	d := digest(token)
	now := s.clock.Now()
	s.mu.Lock()
	sess, ok := s.m[d]
	if ok && !now.Before(sess.Expires) {
		delete(s.m, d)
		ok = false
	}
	if !ok {
		s.mu.Unlock()
		return Session{}, false
	}
	renewed := false
	if sess.Kiosk != "" && sess.TTL > 0 && sess.Expires.Sub(now) < sess.TTL/2 {
		sess.Expires = now.Add(sess.TTL)
		renewed = true
	}
	out := *sess
	s.mu.Unlock()
	if renewed {
		s.changed()
	}
	return out, true
}

// Delete ends the session of token (logout).
func (s *Sessions) Delete(token string) {
	d := digest(token)
	s.mu.Lock()
	_, ok := s.m[d]
	delete(s.m, d)
	s.mu.Unlock()
	if ok {
		s.changed()
	}
}

// End ends the session whose ID is id (an operator revoking it); it reports whether
// there was one.
func (s *Sessions) End(id string) bool {
	s.mu.Lock()
	found := false
	for k, v := range s.m {
		if v.ID == id {
			delete(s.m, k)
			found = true
		}
	}
	s.mu.Unlock()
	if found {
		s.changed()
	}
	return found
}

// List returns the live sessions, oldest first (without their CSRF tokens).
func (s *Sessions) List() []Session {
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pruneLocked(now)
	out := make([]Session, 0, len(s.m))
	for _, v := range s.m {
		x := *v
		x.CSRF = ""
		out = append(out, x)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out
}

// Stored is a session as it is kept across a restart: the SHA-256 of its token, never
// the token.
type Stored struct {
	Digest  string  `json:"digest"` // hex SHA-256 of the token
	Session Session `json:"session"`
}

// Export returns the live sessions for keeping.
func (s *Sessions) Export() []Stored {
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pruneLocked(now)
	out := make([]Stored, 0, len(s.m))
	for k, v := range s.m {
		out = append(out, Stored{Digest: hex.EncodeToString(k[:]), Session: *v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Session.Created.Before(out[j].Session.Created) })
	return out
}

// Import restores kept sessions (expired and malformed ones are skipped); it returns
// how many it restored.
func (s *Sessions) Import(in []Stored) int {
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, st := range in {
		b, err := hex.DecodeString(st.Digest)
		if err != nil || len(b) != sha256.Size || !now.Before(st.Session.Expires) || !st.Session.Role.Valid() ||
			st.Session.CSRF == "" || len(s.m) >= s.max {
			continue
		}
		var d [sha256.Size]byte
		copy(d[:], b)
		v := st.Session
		s.m[d] = &v
		n++
	}
	return n
}

// Keep ends every session whose account keep rejects (a reload removed the user or
// changed their role); it returns how many ended.
func (s *Sessions) Keep(keep func(Session) bool) int {
	s.mu.Lock()
	n := 0
	for k, v := range s.m {
		if !keep(*v) {
			delete(s.m, k)
			n++
		}
	}
	s.mu.Unlock()
	if n > 0 {
		s.changed()
	}
	return n
}

// Len is the number of live sessions.
func (s *Sessions) Len() int {
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pruneLocked(now)
	return len(s.m)
}

func (s *Sessions) pruneLocked(now time.Time) {
	for k, v := range s.m {
		if !now.Before(v.Expires) {
			delete(s.m, k)
		}
	}
}

func (s *Sessions) dropOldestLocked(n int) {
	type kv struct {
		k [sha256.Size]byte
		t time.Time
	}
	all := make([]kv, 0, len(s.m))
	for k, v := range s.m {
		all = append(all, kv{k, v.Created})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].t.Before(all[j].t) })
	for i := 0; i < n && i < len(all); i++ {
		delete(s.m, all[i].k)
	}
}
