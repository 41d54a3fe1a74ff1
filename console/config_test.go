package console_test

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"gopkg.in/yaml.v3"

	"github.com/campusguard/campusguard/cfgerr"
	"github.com/campusguard/campusguard/console"
	"github.com/campusguard/campusguard/console/auth"
	"github.com/campusguard/campusguard/internal/testenv"
	"github.com/campusguard/campusguard/secret"
)

func TestConfigValidate(t *testing.T) {
	good := testConfig()
	cert, key := testenv.SelfSigned(t, t.TempDir(), "campusguard")
	_, otherKey := testenv.SelfSigned(t, t.TempDir(), "campusguard")
	tests := []struct {
		name string
		edit func(c *console.Config)
		want []string // keys with problems
	}{
		{"good", func(c *console.Config) {}, nil},
		{"disabled is not checked", func(c *console.Config) { c.Enabled = false; c.Users = nil; c.Language = "fr" }, nil},
		{"own listener with TLS", func(c *console.Config) { c.Listen = ":8443"; c.TLS = console.TLSConfig{CertFile: cert, KeyFile: key} }, nil},
		{"no users", func(c *console.Config) { c.Users = nil }, []string{"users"}},
		{"bad listen", func(c *console.Config) { c.Listen = "8443" }, []string{"listen"}},
		{"bad port", func(c *console.Config) { c.Listen = "127.0.0.1:99999" }, []string{"listen"}},
		{"tls on the shared listener", func(c *console.Config) { c.TLS = console.TLSConfig{CertFile: cert, KeyFile: key} }, []string{"tls"}},
		{"tls without key", func(c *console.Config) { c.Listen = ":8443"; c.TLS.CertFile = cert }, []string{"tls.key_file"}},
		{"tls files missing", func(c *console.Config) {
			c.Listen = ":8443"
			c.TLS = console.TLSConfig{CertFile: "/nonexistent.pem", KeyFile: "/nonexistent.key"}
		}, []string{"tls.cert_file"}},
		{"tls key of another certificate", func(c *console.Config) {
			c.Listen = ":8443"
			c.TLS = console.TLSConfig{CertFile: cert, KeyFile: otherKey}
		}, []string{"tls"}},
		{"language", func(c *console.Config) { c.Language = "fr" }, []string{"language"}},
		{"user problems", func(c *console.Config) {
			c.Users[0].Name = "bad name"
			c.Users[1].PasswordHash = "plain-password"
			c.Users[2].Role = "root"
		}, []string{"users[0].name", "users[1].password_hash", "users[2].role"}},
		{"duplicate user", func(c *console.Config) { c.Users[1].Name = c.Users[0].Name }, []string{"users[1].name"}},
		{"missing hash", func(c *console.Config) { c.Users[0].PasswordHash = "" }, []string{"users[0].password_hash"}},
		{"session ttl", func(c *console.Config) { c.SessionTTL = time.Second }, []string{"session_ttl"}},
		{"rate limit", func(c *console.Config) { c.LoginRateLimit = console.RateLimit{Attempts: -1, Window: time.Millisecond} },
			[]string{"login_rate_limit.attempts", "login_rate_limit.window"}},
		{"kiosk", func(c *console.Config) {
			c.Kiosks = []console.Kiosk{{Name: "duty-pc", TokenSHA256: strings.Repeat("ab", 32), SessionTTL: 720 * time.Hour}}
		}, nil},
		{"kiosk problems", func(c *console.Config) {
			c.Kiosks = []console.Kiosk{{Name: "zhangwei", TokenSHA256: "secret", Role: "operator", SessionTTL: -time.Hour}, {Name: ""}}
		}, []string{"kiosks[0].name", "kiosks[0].token_sha256", "kiosks[0].role", "kiosks[0].session_ttl", "kiosks[1].name", "kiosks[1].token_sha256"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			c.Users = slices.Clone(good.Users)
			tc.edit(&c)
			c.SetDefaults(cfgerr.Env{})
			var errs cfgerr.List
			c.Validate(&errs)
			c.Resolve(&errs, secret.Lookup{})
			var got []string
			for _, e := range errs.Errs {
				got = append(got, e.Key)
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Fatalf("keys %v, want %v (%v)", got, tc.want, errs.Error())
			}
		})
	}
}

// TestConfigDecode: the YAML section as the loader decodes it (mapstructure tags,
// "5m" durations), defaults, and the listen address default host.
func TestConfigDecode(t *testing.T) {
	src := `
enabled: true
listen: ":8443"
language: en
session_ttl: 8h
login_rate_limit: {attempts: 3, window: 10m}
users:
  - {name: zhangwei, display_name: 张伟, role: guard, password_hash: "` + testConfig().Users[1].PasswordHash + `"}
`
	var raw map[string]any
	if err := yaml.Unmarshal([]byte(src), &raw); err != nil {
		t.Fatal(err)
	}
	var c console.Config
	dec, _ := mapstructure.NewDecoder(&mapstructure.DecoderConfig{Result: &c, ErrorUnused: true,
		DecodeHook: mapstructure.StringToTimeDurationHookFunc()})
	if err := dec.Decode(raw); err != nil {
		t.Fatal(err)
	}
	c.SetDefaults(cfgerr.Env{})
	var errs cfgerr.List
	c.Validate(&errs)
	if err := errs.Err(); err != nil {
		t.Fatal(err)
	}
	if c.ListenAddr() != "127.0.0.1:8443" || c.SessionTTL != 8*time.Hour || c.LoginRateLimit.Window != 10*time.Minute ||
		c.Users[0].Role != auth.Guard || c.Users[0].DisplayName != "张伟" || c.Language != "en" {
		t.Fatalf("decoded: %+v", c)
	}
	var d console.Config
	d.SetDefaults(cfgerr.Env{})
	if d.Language != "zh" || d.SessionTTL != 12*time.Hour || d.LoginRateLimit.Attempts != 5 || d.ListenAddr() != "" {
		t.Fatalf("defaults: %+v", d)
	}
}

func TestHashPassword(t *testing.T) {
	h, err := console.HashPassword("门卫-2026")
	if err != nil {
		t.Fatal(err)
	}
	if err := auth.CheckHash(h); err != nil || !strings.HasPrefix(h, "$2a$12$") {
		t.Fatalf("hash %q: %v", h, err)
	}
	u, err := auth.NewUsers([]auth.Account{{Name: "a", Role: auth.Guard}}, []string{h})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := u.Check("a", "门卫-2026"); !ok {
		t.Fatal("the password does not match its hash")
	}
	for _, pw := range []string{"", strings.Repeat("x", 73)} {
		if _, err := console.HashPassword(pw); err == nil {
			t.Errorf("HashPassword(%d bytes): no error", len(pw))
		}
	}
}

// TestOwnListenerTLS: with console.listen and tls set the console serves HTTPS itself,
// its cookies are Secure, and Serve returns when the context ends.
func TestOwnListenerTLS(t *testing.T) {
	e := newEnv(t, envOpts{})
	cert, key := testenv.SelfSigned(t, t.TempDir(), "campusguard")
	cfg := testConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.TLS = console.TLSConfig{CertFile: cert, KeyFile: key}
	c, err := console.New(cfg, console.Deps{Alarms: e.m}, console.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", cfg.ListenAddr())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Serve(ctx, ln) }()
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := hc.Get("https://" + ln.Addr().String() + "/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil {
		t.Fatalf("https: %d", resp.StatusCode)
	}
	for _, ck := range resp.Cookies() {
		if !ck.Secure {
			t.Errorf("cookie %s is not Secure under TLS", ck.Name)
		}
	}
	if c.Health().Detail["listen"] != ln.Addr().String() {
		t.Errorf("health: %+v", c.Health())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
