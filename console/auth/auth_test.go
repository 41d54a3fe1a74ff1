package auth

import (
	"fmt"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"golang.org/x/crypto/bcrypt"
)

func TestRoleAllows(t *testing.T) {
	tests := []struct {
		r, min Role
		want   bool
	}{
		{Viewer, Viewer, true}, {Viewer, Guard, false}, {Viewer, Operator, false},
		{Guard, Viewer, true}, {Guard, Guard, true}, {Guard, Operator, false},
		{Operator, Viewer, true}, {Operator, Guard, true}, {Operator, Operator, true},
		{"root", Viewer, false}, {"", Viewer, false}, {Operator, "root", false},
	}
	for _, tc := range tests {
		if got := tc.r.Allows(tc.min); got != tc.want {
			t.Errorf("%q.Allows(%q) = %v", tc.r, tc.min, got)
		}
	}
}

func testUsers(t *testing.T) *Users {
	t.Helper()
	h, _ := bcrypt.GenerateFromPassword([]byte("secret"), bcrypt.MinCost)
	u, err := NewUsers([]Account{{Name: "zhang", Role: Guard}}, []string{string(h)})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestUsersCheck(t *testing.T) {
	u := testUsers(t)
	tests := []struct {
		name, pw string
		ok       bool
	}{
		{"zhang", "secret", true}, {"zhang", "Secret", false}, {"zhang", "", false},
		{"li", "secret", false}, {"", "", false}, {"zhang", string(make([]byte, 100)), false},
	}
	for _, tc := range tests {
		a, ok := u.Check(tc.name, tc.pw)
		if ok != tc.ok || (ok && (a.Role != Guard || a.DisplayName != "zhang")) {
			t.Errorf("Check(%q, %q) = %+v %v", tc.name, tc.pw, a, ok)
		}
	}
	if _, err := NewUsers([]Account{{Name: "a", Role: Guard}}, []string{"plain"}); err == nil {
		t.Error("a plain password was accepted as a hash")
	}
	h, _ := bcrypt.GenerateFromPassword([]byte("x"), bcrypt.MinCost)
	if _, err := NewUsers([]Account{{Name: "a", Role: Guard}, {Name: "a", Role: Viewer}}, []string{string(h), string(h)}); err == nil {
		t.Error("a duplicate user was accepted")
	}
}

func TestSessions(t *testing.T) {
	clock := clockwork.NewFakeClock()
	s := NewSessions(clock, time.Hour, 3)
	tok, sess := s.Create(Account{Name: "zhang", Role: Guard}, "10.0.0.5")
	if len(tok) < 40 || sess.CSRF == "" || sess.CSRF == tok {
		t.Fatalf("token %q csrf %q", tok, sess.CSRF)
	}
	if got, ok := s.Get(tok); !ok || got.User != "zhang" || got.CSRF != sess.CSRF {
		t.Fatalf("Get: %+v %v", got, ok)
	}
	if _, ok := s.Get(tok + "x"); ok {
		t.Fatal("a changed token is accepted")
	}
	clock.Advance(time.Hour)
	if _, ok := s.Get(tok); ok {
		t.Fatal("an expired session is accepted")
	}
	// Bounded: the oldest go first.
	var toks []string
	for i := range 5 {
		tk, _ := s.Create(Account{Name: fmt.Sprint("u", i), Role: Viewer}, "")
		toks = append(toks, tk)
		clock.Advance(time.Second)
	}
	if s.Len() != 3 {
		t.Fatalf("%d sessions, want 3", s.Len())
	}
	if _, ok := s.Get(toks[0]); ok {
		t.Fatal("the oldest session was kept")
	}
	if _, ok := s.Get(toks[4]); !ok {
		t.Fatal("the newest session was dropped")
	}
	if n := s.Keep(func(x Session) bool { return x.User != "u4" }); n != 1 {
		t.Fatalf("Keep ended %d", n)
	}
	s.Delete(toks[3])
	if s.Len() != 1 {
		t.Fatalf("%d sessions after Keep and Delete", s.Len())
	}
}

func TestLimiterBackoff(t *testing.T) {
	clock := clockwork.NewFakeClock()
	l := NewLimiter(clock, 3, time.Minute)
	ip, user := Key{Name: "ip:a"}, Key{Name: "user:z", Cap: 4 * time.Second}
	// Three free attempts, reserved before the check: the fourth parallel one is refused.
	var rs []*Reservation
	for i := range 3 {
		r, _ := l.Reserve(ip, user)
		if r == nil {
			t.Fatalf("attempt %d refused", i)
		}
		rs = append(rs, r)
	}
	if r, retry := l.Reserve(Key{Name: "ip:b"}, user); r != nil || retry != time.Second {
		t.Fatalf("fourth parallel attempt: %v retry %s", r, retry)
	}
	for _, r := range rs {
		r.Done(false)
	}
	if r, _ := l.Reserve(Key{Name: "ip:b"}, Key{Name: "user:y"}); r == nil {
		t.Fatal("other keys are limited")
	}
	// The pause doubles and stops at the key's cap.
	tests := []struct {
		wait, want time.Duration
	}{{time.Second, 2 * time.Second}, {2 * time.Second, 4 * time.Second}, {4 * time.Second, 4 * time.Second}}
	for _, tc := range tests {
		clock.Advance(tc.wait)
		r, _ := l.Reserve(Key{Name: "ip:c"}, user)
		if r == nil {
			t.Fatalf("refused after waiting %s", tc.wait)
		}
		r.Done(false)
		if got := l.Retry("user:z"); got != tc.want {
			t.Fatalf("after waiting %s: pause %s, want %s", tc.wait, got, tc.want)
		}
	}
	// A success clears the account and gives the client its attempt back.
	clock.Advance(4 * time.Second)
	r, _ := l.Reserve(Key{Name: "ip:d"}, user)
	r.Done(true, "user:z")
	if l.Retry("user:z") != 0 || l.m["ip:d"] != nil {
		t.Fatal("a success left a pause")
	}
	// Quiet for a window: forgotten.
	clock.Advance(time.Minute)
	if l.Retry("ip:a") != 0 || len(l.m) > 3 {
		t.Fatalf("kept %d keys after the window", len(l.m))
	}
	for i := range maxKeys + 10 { // memory stays bounded
		if r, _ := l.Reserve(Key{Name: fmt.Sprint("ip:", i)}); r != nil {
			r.Done(false)
		}
	}
	if n := len(l.m); n > maxKeys {
		t.Fatalf("%d keys kept", n)
	}
}

// TestLimiterRelease: an attempt refused for load gives the account its try back and
// keeps the client counted.
func TestLimiterRelease(t *testing.T) {
	clock := clockwork.NewFakeClock()
	l := NewLimiter(clock, 2, time.Minute)
	for range 2 {
		r, _ := l.Reserve(Key{Name: "ip:a"}, Key{Name: "user:z"})
		r.Release("user:z")
	}
	if l.Retry("ip:a") == 0 {
		t.Fatal("the flooding client is not backing off")
	}
	if l.Retry("user:z") != 0 || l.m["user:z"] != nil {
		t.Fatal("the account pays for the load")
	}
}

func TestSessionsExportImport(t *testing.T) {
	clock := clockwork.NewFakeClock()
	s := NewSessions(clock, time.Hour, 0)
	changes := 0
	s.OnChange(func() { changes++ })
	tok, _ := s.Create(Account{Name: "zhang", Role: Guard}, "10.0.0.5")
	ktok, _ := s.CreateKiosk(Account{Name: "duty-pc", Role: Guard}, "127.0.0.1", "duty-pc", 10*time.Hour)
	old, _ := s.Create(Account{Name: "li", Role: Viewer}, "")
	s.Delete(old)
	if changes != 4 {
		t.Fatalf("%d changes, want 4", changes)
	}
	kept := s.Export()
	for _, st := range kept {
		if st.Digest == tok || st.Digest == ktok {
			t.Fatal("a token was exported")
		}
	}
	// A restart: a new store imports what was kept.
	s2 := NewSessions(clock, time.Hour, 0)
	if n := s2.Import(append(kept, Stored{Digest: "zz"})); n != 2 {
		t.Fatalf("imported %d", n)
	}
	if got, ok := s2.Get(tok); !ok || got.User != "zhang" {
		t.Fatal("a person's session did not survive")
	}
	// A kiosk session is renewed by use; a person's expires.
	clock.Advance(6 * time.Hour)
	if _, ok := s2.Get(ktok); !ok {
		t.Fatal("kiosk session lost")
	}
	clock.Advance(6 * time.Hour)
	if _, ok := s2.Get(ktok); !ok {
		t.Fatal("kiosk session not renewed")
	}
	if _, ok := s2.Get(tok); ok {
		t.Fatal("an expired session is accepted")
	}
	ks := s2.List()
	if len(ks) != 1 || ks[0].CSRF != "" || !s2.End(ks[0].ID) {
		t.Fatalf("List/End: %+v", ks)
	}
	if _, ok := s2.Get(ktok); ok {
		t.Fatal("an ended session is accepted")
	}
}

func BenchmarkSessionGet(b *testing.B) {
	s := NewSessions(clockwork.NewRealClock(), time.Hour, 0)
	tok, _ := s.Create(Account{Name: "zhang", Role: Guard}, "")
	for range 500 {
		s.Create(Account{Name: "x", Role: Viewer}, "")
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := s.Get(tok); !ok {
			b.Fatal("lost")
		}
	}
}
