// Package auth is the duty console's accounts, sessions and login rate limiting: bcrypt
// password hashes from config, three roles (viewer, guard, operator), server-side
// sessions with a per-session CSRF token, and a sliding-window limiter of failed logins.
//
// It is pure bookkeeping: no HTTP. Every time comes from a clockwork.Clock so tests use a
// fake one. Session tokens are 256-bit random values; the store keeps only their SHA-256,
// so neither a memory dump nor a timing side channel on the map reveals a usable token.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"

	"golang.org/x/crypto/bcrypt"
)

// Role is what an account may do.
type Role string

// The roles, least privileged first.
const (
	Viewer   Role = "viewer"   // reads everything
	Guard    Role = "guard"    // also acknowledges and resets alarms
	Operator Role = "operator" // also silences, arms and disarms
)

// Roles lists the valid roles, least privileged first.
var Roles = []Role{Viewer, Guard, Operator}

func (r Role) rank() int {
	for i, v := range Roles {
		if r == v {
			return i
		}
	}
	return -1
}

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r.rank() >= 0 }

// Allows reports whether r may do what needs at least min.
func (r Role) Allows(min Role) bool { return r.Valid() && min.Valid() && r.rank() >= min.rank() }

// HashCost is the bcrypt cost HashPassword uses (about 0.25 s on the gateway's class of
// CPU: slow for an attacker, fine for a login).
const HashCost = 12

// MaxPassword is bcrypt's limit: it reads at most 72 bytes of a password.
const MaxPassword = 72

// HashPassword returns the bcrypt hash of pw for the console's users[].password_hash.
func HashPassword(pw string) (string, error) {
	if pw == "" {
		return "", errors.New("password is empty")
	}
	if len(pw) > MaxPassword {
		return "", fmt.Errorf("password is longer than %d bytes", MaxPassword)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), HashCost)
	if err != nil {
		return "", fmt.Errorf("bcrypt: %w", err)
	}
	return string(h), nil
}

// CheckHash reports whether hash is a usable bcrypt hash (for config validation).
func CheckHash(hash string) error {
	if _, err := bcrypt.Cost([]byte(hash)); err != nil {
		return fmt.Errorf("not a bcrypt hash (make one with `campusguard passwd`): %w", err)
	}
	return nil
}

// Account is one user of the console.
type Account struct {
	Name        string
	DisplayName string
	Role        Role
	hash        []byte
}

// Users holds the accounts from config. Immutable after NewUsers: a reload builds a new one.
type Users struct {
	m     map[string]*Account
	dummy []byte
}

// NewUsers builds the account table. Hashes must pass CheckHash (config validation
// does that first); a bad one is an error here too.
func NewUsers(accts []Account, hashes []string) (*Users, error) {
	if len(accts) != len(hashes) {
		return nil, errors.New("auth: one hash per account")
	}
	u := &Users{m: make(map[string]*Account, len(accts))}
	for i := range accts {
		a := accts[i]
		if err := CheckHash(hashes[i]); err != nil {
			return nil, fmt.Errorf("auth: user %q: %w", a.Name, err)
		}
		if !a.Role.Valid() {
			return nil, fmt.Errorf("auth: user %q: unknown role %q", a.Name, a.Role)
		}
		if _, dup := u.m[a.Name]; dup {
			return nil, fmt.Errorf("auth: user %q defined twice", a.Name)
		}
		a.hash = []byte(hashes[i])
		if a.DisplayName == "" {
			a.DisplayName = a.Name
		}
		u.m[a.Name] = &a
		if u.dummy == nil {
			u.dummy = a.hash // same cost as a real account: unknown names take as long
		}
	}
	if u.dummy == nil {
		u.dummy, _ = bcrypt.GenerateFromPassword([]byte("campusguard"), bcrypt.MinCost)
	}
	return u, nil
}

// Lookup returns the account called name.
func (u *Users) Lookup(name string) (Account, bool) {
	a, ok := u.m[name]
	if !ok {
		return Account{}, false
	}
	return *a, true
}

// Len is the number of accounts.
func (u *Users) Len() int { return len(u.m) }

// Check verifies a name and password. An unknown name costs one bcrypt comparison too,
// so the response time does not tell which names exist.
func (u *Users) Check(name, password string) (Account, bool) {
	a, ok := u.m[name]
	if !ok || len(password) > MaxPassword {
		_ = bcrypt.CompareHashAndPassword(u.dummy, []byte(password[:min(len(password), MaxPassword)]))
		return Account{}, false
	}
	if bcrypt.CompareHashAndPassword(a.hash, []byte(password)) != nil {
		return Account{}, false
	}
	return *a, true
}

// Token returns a new random token (256 bits, URL-safe base64).
func Token() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Equal compares two secrets in constant time.
func Equal(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

func digest(token string) [sha256.Size]byte { return sha256.Sum256([]byte(token)) }
