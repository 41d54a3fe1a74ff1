package telemetry

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/campusguard/campusguard/cfgerr"
)

func TestConfigValidate(t *testing.T) {
	ok := func() Config {
		c := Config{Enabled: true, URL: "http://127.0.0.1:8086", Bucket: "campus/autogen"}
		c.SetDefaults("/var/lib/campusguard")
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
		{"token and file", func(c *Config) { c.Token, c.TokenFile = "a", "/f" }, "token_file"},
		{"tls on http", func(c *Config) { c.InsecureSkipVerify = true }, "ca_file"},
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

func TestResolveSecrets(t *testing.T) {
	file := filepath.Join(t.TempDir(), "token")
	os.WriteFile(file, []byte("  from-file\n"), 0o600)
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == EnvToken {
				return v
			}
			return ""
		}
	}
	tests := []struct {
		name    string
		c       Config
		env     string
		want    string
		wantErr bool
	}{
		{"inline", Config{Token: "u:p"}, "", "u:p", false},
		{"file", Config{TokenFile: file}, "", "from-file", false},
		{"env wins", Config{TokenFile: file}, "from-env", "from-env", false},
		{"missing file", Config{TokenFile: file + ".none"}, "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.c.ResolveSecrets(env(tt.env))
			if (err != nil) != tt.wantErr || tt.c.Token != tt.want {
				t.Fatalf("token %q err %v", tt.c.Token, err)
			}
		})
	}
}
