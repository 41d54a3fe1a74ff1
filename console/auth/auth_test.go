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

func TestLimiter(t *testing.T) {
	clock := clockwork.NewFakeClock()
	l := NewLimiter(clock, 3, time.Minute)
	for i := range 3 {
		if ok, _ := l.Allow("ip:a", "user:z"); !ok {
			t.Fatalf("refused before %d failures", i)
		}
		l.Fail("ip:a", "user:z")
		clock.Advance(10 * time.Second)
	}
	ok, retry := l.Allow("ip:b", "user:z")
	if ok || retry != 30*time.Second {
		t.Fatalf("after 3 failures: %v retry %s", ok, retry)
	}
	if ok, _ := l.Allow("ip:b", "user:y"); !ok {
		t.Fatal("other keys are limited")
	}
	clock.Advance(30 * time.Second) // the first failure ages out
	if ok, _ := l.Allow("user:z"); !ok {
		t.Fatal("still limited after the window")
	}
	l.Fail("user:z")
	if ok, _ := l.Allow("user:z"); ok {
		t.Fatal("sliding window: 3 failures in the last minute")
	}
	l.Reset("user:z")
	if ok, _ := l.Allow("user:z"); !ok {
		t.Fatal("Reset did not clear")
	}
	for i := range maxKeys + 10 { // memory stays bounded
		l.Fail(fmt.Sprint("ip:", i))
	}
	if n := len(l.m); n > maxKeys {
		t.Fatalf("%d keys kept", n)
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
