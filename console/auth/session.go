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
}

// Sessions is the in-memory session store (sessions end with the daemon: staff log in
// again after a restart). Safe for concurrent use.
type Sessions struct {
	clock clockwork.Clock
	ttl   time.Duration
	max   int

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

// Create starts a session for a and returns its secret token (the cookie value).
func (s *Sessions) Create(a Account, remote string) (string, Session) {
	token := Token()
	d := digest(token)
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := &Session{ID: hex.EncodeToString(d[:4]), User: a.Name, DisplayName: a.DisplayName, Role: a.Role,
		CSRF: Token(), Created: now, Expires: now.Add(s.ttl), Remote: remote}
	s.pruneLocked(now)
	if len(s.m) >= s.max {
		s.dropOldestLocked(len(s.m) - s.max + 1)
	}
	s.m[d] = sess
	return token, *sess
}

// Get returns the live session of token.
func (s *Sessions) Get(token string) (Session, bool) {
	if token == "" {
		return Session{}, false
	}
	d := digest(token)
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.m[d]
	if !ok {
		return Session{}, false
	}
	if !now.Before(sess.Expires) {
		delete(s.m, d)
		return Session{}, false
	}
	return *sess, true
}

// Delete ends the session of token (logout).
func (s *Sessions) Delete(token string) {
	d := digest(token)
	s.mu.Lock()
	delete(s.m, d)
	s.mu.Unlock()
}

// Keep ends every session whose account keep rejects (a reload removed the user or
// changed their role); it returns how many ended.
func (s *Sessions) Keep(keep func(Session) bool) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for k, v := range s.m {
		if !keep(*v) {
			delete(s.m, k)
			n++
		}
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
