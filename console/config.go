package console

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"net"
	"strconv"
	"time"

	"github.com/campusguard/campusguard/cfgerr"
	"github.com/campusguard/campusguard/console/auth"
	"github.com/campusguard/campusguard/secret"
)

// Defaults.
const (
	DefaultLanguage      = "zh"
	DefaultSessionTTL    = 12 * time.Hour
	DefaultLoginAttempts = 5
	DefaultLoginWindow   = 5 * time.Minute
	// DefaultHost is the host of a listen address given as ":port": the console is not
	// reachable from the network unless the operator names an address.
	DefaultHost = "127.0.0.1"
)

// Languages the console speaks.
var Languages = []string{"zh", "en"}

// Config is the `console` section of the config.
type Config struct {
	Enabled bool `mapstructure:"enabled"`
	// Listen is the console's own host:port ("" = share the daemon's http listener).
	// ":8443" means 127.0.0.1:8443; write 0.0.0.0:8443 to listen on every interface.
	Listen string    `mapstructure:"listen"`
	TLS    TLSConfig `mapstructure:"tls"`
	// Language is the default UI language: zh (default) or en. Each user can switch.
	Language string `mapstructure:"language"`
	Users    []User `mapstructure:"users"`
	// SessionTTL is how long a login lasts (default 12h, a duty shift).
	SessionTTL     time.Duration `mapstructure:"session_ttl"`
	LoginRateLimit RateLimit     `mapstructure:"login_rate_limit"`
	// Kiosks are duty-room devices that open the console with a device token (kiosk.go).
	Kiosks []Kiosk `mapstructure:"kiosks"`
}

// TLSConfig is the certificate of the console's own listener.
type TLSConfig struct {
	CertFile string `mapstructure:"cert_file"`
	KeyFile  string `mapstructure:"key_file"`
}

// Enabled reports whether TLS is configured.
func (t TLSConfig) Enabled() bool { return t.CertFile != "" || t.KeyFile != "" }

// User is one console account.
type User struct {
	Name        string `mapstructure:"name"`
	DisplayName string `mapstructure:"display_name"`
	// PasswordHash is a bcrypt hash (from `campusguard passwd`); never a password.
	PasswordHash string    `mapstructure:"password_hash"`
	Role         auth.Role `mapstructure:"role"` // viewer, guard or operator
}

// RateLimit limits failed logins per client address and per account name.
type RateLimit struct {
	Attempts int           `mapstructure:"attempts"` // failures allowed per window (default 5)
	Window   time.Duration `mapstructure:"window"`   // default 5m
}

// SetDefaults fills the unset fields; it needs nothing from env.
func (c *Config) SetDefaults(cfgerr.Env) {
	if c.Language == "" {
		c.Language = DefaultLanguage
	}
	if c.SessionTTL == 0 {
		c.SessionTTL = DefaultSessionTTL
	}
	if c.LoginRateLimit.Attempts == 0 {
		c.LoginRateLimit.Attempts = DefaultLoginAttempts
	}
	if c.LoginRateLimit.Window == 0 {
		c.LoginRateLimit.Window = DefaultLoginWindow
	}
}

// ListenAddr is Listen with DefaultHost filled in for ":port" ("" when shared).
func (c *Config) ListenAddr() string {
	if c.Listen == "" {
		return ""
	}
	host, port, err := net.SplitHostPort(c.Listen)
	if err != nil || host != "" {
		return c.Listen
	}
	return net.JoinHostPort(DefaultHost, port)
}

// Resolve loads the own listener's certificate and key, after Validate; problems are
// keyed like Validate's. A disabled console, or one on the shared listener, reads
// nothing.
func (c *Config) Resolve(errs *cfgerr.List, l secret.Lookup) {
	if !c.Enabled || c.Listen == "" || c.TLS.CertFile == "" || c.TLS.KeyFile == "" {
		return
	}
	cert, err := l.Read(c.TLS.CertFile)
	if err != nil {
		errs.Add("tls.cert_file", "%v", err) // os errors name the file
		return
	}
	key, err := l.Read(c.TLS.KeyFile)
	if err != nil {
		errs.Add("tls.key_file", "%v", err)
		return
	}
	if _, err := tls.X509KeyPair(cert, key); err != nil {
		errs.Add("tls", "cannot load the certificate %s with key %s: %v", c.TLS.CertFile, c.TLS.KeyFile, err)
	}
}

// Validate records every problem with its key relative to the console section. A
// disabled console is not checked. Call SetDefaults first. It reads no file: Resolve
// loads the certificate.
func (c *Config) Validate(errs *cfgerr.List) {
	if !c.Enabled {
		return
	}
	if c.Listen != "" {
		_, port, err := net.SplitHostPort(c.Listen)
		if err != nil {
			errs.Add("listen", "%q is not host:port", c.Listen)
		} else if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
			errs.Add("listen", "%q: bad port", c.Listen)
		}
	}
	switch {
	case !c.TLS.Enabled():
	case c.Listen == "":
		errs.Add("tls", "needs console.listen: the shared daemon listener is plain HTTP")
	case c.TLS.CertFile == "":
		errs.Add("tls.cert_file", "is required with tls.key_file")
	case c.TLS.KeyFile == "":
		errs.Add("tls.key_file", "is required with tls.cert_file")
	}
	if !validLang(c.Language) {
		errs.Add("language", "%q: want zh or en", c.Language)
	}
	if len(c.Users) == 0 {
		errs.Add("users", "at least one user is required (hash a password with `campusguard passwd`)")
	}
	seen := map[string]bool{}
	for i, u := range c.Users {
		key := cfgerr.Index("users", i)
		validateLogin(errs, key, u.Name, u.DisplayName, seen, "user %q is defined twice")
		if u.PasswordHash == "" {
			errs.Add(key+".password_hash", "is required (make one with `campusguard passwd`)")
		} else if err := auth.CheckHash(u.PasswordHash); err != nil {
			errs.Add(key+".password_hash", "%v", err)
		}
		if !u.Role.Valid() {
			errs.Add(key+".role", "%q: want viewer, guard or operator", u.Role)
		}
	}
	for i, k := range c.Kiosks {
		key := cfgerr.Index("kiosks", i)
		validateLogin(errs, key, k.Name, k.DisplayName, seen, "%q is already a user or kiosk name")
		if b, err := hex.DecodeString(k.TokenSHA256); err != nil || len(b) != sha256.Size {
			errs.Add(key+".token_sha256", "want the hex SHA-256 of the device token (printf %%s TOKEN | sha256sum)")
		}
		if r := k.role(); r != auth.Guard && r != auth.Viewer {
			errs.Add(key+".role", "%q: a kiosk is a guard or a viewer", k.Role)
		}
		if k.SessionTTL < 0 || k.SessionTTL > 366*24*time.Hour {
			errs.Add(key+".session_ttl", "%s: want up to 8784h", k.SessionTTL)
		}
	}
	if c.SessionTTL < time.Minute || c.SessionTTL > 31*24*time.Hour {
		errs.Add("session_ttl", "%s: want between 1m and 744h", c.SessionTTL)
	}
	if c.LoginRateLimit.Attempts < 1 || c.LoginRateLimit.Attempts > 1000 {
		errs.Add("login_rate_limit.attempts", "%d: want 1..1000", c.LoginRateLimit.Attempts)
	}
	if c.LoginRateLimit.Window < time.Second || c.LoginRateLimit.Window > 24*time.Hour {
		errs.Add("login_rate_limit.window", "%s: want between 1s and 24h", c.LoginRateLimit.Window)
	}
}

// validateLogin checks the name and display name of the user or kiosk at key. seen
// holds the names so far (name is added); twice is the problem, a format of the name,
// when name is one of them.
func validateLogin(errs *cfgerr.List, key, name, display string, seen map[string]bool, twice string) {
	switch {
	case name == "":
		errs.Add(key+".name", "is required")
	case !validName(name):
		errs.Add(key+".name", "%q: use letters, digits, _ . - @ (at most 64)", name)
	case seen[name]:
		errs.Add(key+".name", twice, name)
	}
	seen[name] = true
	if len(display) > 64 {
		errs.Add(key+".display_name", "longer than 64 bytes")
	}
}

func validLang(l string) bool { return l == "zh" || l == "en" }

func validName(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-' || r == '@'
		if !ok {
			return false
		}
	}
	return true
}

// HashPassword returns the bcrypt hash of a password for users[].password_hash (the
// `campusguard passwd` command).
func HashPassword(pw string) (string, error) { return auth.HashPassword(pw) }

func (c *Config) accounts() ([]auth.Account, []string) {
	accts := make([]auth.Account, len(c.Users))
	hashes := make([]string, len(c.Users))
	for i, u := range c.Users {
		accts[i] = auth.Account{Name: u.Name, DisplayName: u.DisplayName, Role: u.Role}
		hashes[i] = u.PasswordHash
	}
	return accts, hashes
}
