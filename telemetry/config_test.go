package telemetry

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/campusguard/campusguard/cfgerr"
	"github.com/campusguard/campusguard/secret"
)

func TestConfigValidate(t *testing.T) {
	ok := func() Config {
		c := Config{Enabled: true, URL: "http://127.0.0.1:8086", Bucket: "campus/autogen"}
		c.SetDefaults(cfgerr.Env{StateDir: "/var/lib/campusguard"})
		return c
	}
	tests := []struct {
		name string
		mod  func(*Config)
		want string // joined keys with problems
	}{
		{"defaults ok", func(*Config) {}, ""},
		{"disabled needs no url", func(c *Config) { c.Enabled, c.URL, c.Bucket = false, "", "" }, ""},
		{"missing url and bucket", func(c *Config) { c.URL, c.Bucket = "", "" }, "url bucket"},
		{"bad scheme", func(c *Config) { c.URL = "udp://x:1" }, "url"},
		{"token and file", func(c *Config) { c.Token, c.TokenFile = secret.Inline("a"), "/f" }, "token"},
		{"tls on http", func(c *Config) { c.TLS.InsecureSkipVerify = true }, "ca_file"},
		{"files are not read", func(c *Config) { c.TokenFile, c.TLS.CAFile = "/nonexistent/token", "/nonexistent/ca.pem" }, "ca_file"},
		{"cert without key", func(c *Config) { c.URL, c.TLS.CertFile = "https://influx:8086", "/c" }, "cert_file"},
		{"ranges", func(c *Config) { c.BatchSize, c.DrainRate, c.SpoolMaxBytes = 200000, -1, 10 }, "batch_size drain_rate spool_max_bytes"},
		{"prefix", func(c *Config) { c.MeasurementPrefix = "a b" }, "measurement_prefix"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok()
			tt.mod(&c)
			var errs cfgerr.List
			c.Validate(&errs)
			var keys []string
			for _, e := range errs.Errs {
				keys = append(keys, e.Key)
			}
			if got := strings.Join(keys, " "); got != tt.want {
				t.Fatalf("problems at %q, want %q (%v)", got, tt.want, errs.Err())
			}
		})
	}
	c := ok()
	if c.SpoolDir != "/var/lib/campusguard/spool" || c.BatchSize != 5000 || c.SpoolMaxBytes != 256<<20 {
		t.Fatalf("defaults %+v", c)
	}
}

func TestResolve(t *testing.T) {
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		c       Config
		env     map[string]string
		want    string
		wantErr string
	}{
		{"inline", Config{Token: secret.Inline("u:p")}, nil, "u:p", ""},
		{"file", Config{TokenFile: file}, nil, "from-file", ""},
		{"env wins", Config{TokenFile: file}, map[string]string{EnvToken: "from-env"}, "from-env", ""},
		{"key path variable", Config{Token: secret.Inline("u:p")}, map[string]string{EnvTokenKey: "from-key"}, "from-key", ""},
		{"influx variable first", Config{}, map[string]string{EnvTokenKey: "from-key", EnvToken: "from-env"}, "from-env", ""},
		{"missing file", Config{TokenFile: file + ".none"}, nil, "", "token_file"},
		{"missing ca", Config{URL: "https://x:8086", TLS: secret.TLSClient{CAFile: file + ".none"}}, nil, "", "ca_file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.c.Enabled = true
			var errs cfgerr.List
			tt.c.Resolve(&errs, secret.Lookup{Getenv: func(k string) string { return tt.env[k] }})
			var keys []string
			for _, e := range errs.Errs {
				keys = append(keys, e.Key)
			}
			if got := strings.Join(keys, " "); got != tt.wantErr || tt.c.Token.Reveal() != tt.want {
				t.Fatalf("token %q, problems at %q (%v); want %q at %q", tt.c.Token.Reveal(), got, errs.Err(), tt.want, tt.wantErr)
			}
		})
	}
	off := Config{TokenFile: file + ".none"}
	var errs cfgerr.List
	if off.Resolve(&errs, secret.Lookup{}); errs.Len() != 0 {
		t.Errorf("a disabled section read its token file: %v", errs.Err())
	}
}
