package policelink

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/campusguard/campusguard/cfgerr"
	"github.com/campusguard/campusguard/secret"
)

func validConfig() Config {
	return Config{Enabled: true, Account: "1234", Main: Path{Primary: "10.0.0.1:5000"},
		Mappings: []Mapping{{Match: Match{Kind: "panic"}, Code: 120, Restore: true}}}
}

func TestConfigValidate(t *testing.T) {
	env := map[string]string{}
	shortKeyFile := filepath.Join(t.TempDir(), "short.key")
	if err := os.WriteFile(shortKeyFile, []byte("ABCD\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		mod  func(*Config)
		want []string // error keys
	}{
		{"valid", func(*Config) {}, nil},
		{"disabled is not checked", func(c *Config) { c.Enabled = false; c.Account = "" }, nil},
		{"account", func(c *Config) { c.Account = "12" }, []string{"account"}},
		{"account not hex", func(c *Config) { c.Account = "12G4" }, []string{"account"}},
		{"protocol", func(c *Config) { c.Protocol = "XML" }, []string{"protocol"}},
		{"receiver and line", func(c *Config) { c.Receiver, c.Line = "1234567", "Z" }, []string{"line", "receiver"}},
		{"key and key file", func(c *Config) { c.Key, c.KeyFile = secret.Inline(testKeyHex), "/k" }, []string{"key", "key_file"}},
		{"short hex key", func(c *Config) { c.Key = secret.Inline("ABCD") }, []string{"key"}},
		{"ascii key", func(c *Config) { c.Key, c.KeyEncoding = secret.Inline("AAAAAAAAAAAAAAAA"), "ascii" }, nil},
		{"key encoding", func(c *Config) { c.Key, c.KeyEncoding = secret.Inline(testKeyHex), "b64" }, []string{"key_encoding"}},
		{"missing key file", func(c *Config) { c.KeyFile = "/nonexistent/key" }, []string{"key_file"}},
		{"short key in a file", func(c *Config) { c.KeyFile = shortKeyFile }, []string{"key_file"}},
		{"key in the environment", func(c *Config) { c.KeyFile = "/nonexistent/key"; env[KeyEnv] = testKeyHex }, nil},
		{"transport", func(c *Config) { c.Transport = "sctp" }, []string{"transport"}},
		{"timeout", func(c *Config) { c.Timeout = -time.Second }, []string{"timeout"}},
		{"nak retries", func(c *Config) { c.NAKRetries = 11 }, []string{"nak_retries"}},
		{"no primary", func(c *Config) { c.Main.Primary = "" }, []string{"main.primary"}},
		{"bad addresses", func(c *Config) {
			c.Main.Secondary = "host"
			c.Backup = &Path{Primary: "h:0", Secondary: ":80"}
		}, []string{"backup.primary", "backup.secondary", "main.secondary"}},
		{"supervision", func(c *Config) { c.Supervision.Main, c.Supervision.Backup = 5*time.Second, 30*time.Hour },
			[]string{"supervision.backup", "supervision.main"}},
		{"periodic test", func(c *Config) { c.PeriodicTest.Interval, c.PeriodicTest.At = time.Second, "25:00" },
			[]string{"periodic_test.at", "periodic_test.interval"}},
		{"periodic test disabled", func(c *Config) { c.PeriodicTest.Disabled, c.PeriodicTest.At = true, "x" }, nil},
		{"mapping ranges", func(c *Config) {
			c.Mappings = append(c.Mappings, Mapping{Code: 1000, Area: 100, Zone: 1000, SIA: "pa",
				Match: Match{Kind: "robot", Severity: "urgent"}})
		}, []string{"mappings[1].area", "mappings[1].code", "mappings[1].match.kind", "mappings[1].match.severity", "mappings[1].sia", "mappings[1].zone"}},
		{"SIA needs codes", func(c *Config) {
			c.Protocol = ProtocolSIA
			c.Mappings = append(c.Mappings, Mapping{Code: 999, Restore: true})
		}, []string{"mappings[1].sia", "mappings[1].sia_restore"}},
		{"SIA explicit codes", func(c *Config) {
			c.Protocol = ProtocolSIA
			c.Mappings = append(c.Mappings, Mapping{SIA: "BA", SIARestore: "BH", Restore: true})
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.mod(&c)
			c.SetDefaults(cfgerr.Env{})
			var errs cfgerr.List
			c.Validate(&errs)
			c.Resolve(&errs, secret.Lookup{Getenv: func(k string) string { return env[k] }})
			clear(env)
			var got []string
			for _, e := range errs.Errs {
				got = append(got, e.Key)
				if strings.Contains(e.Msg, testKeyHex) || len(c.Key.Reveal()) > 8 && strings.Contains(e.Msg, c.Key.Reveal()) {
					t.Errorf("error %q shows the key", e.Msg)
				}
			}
			sort.Strings(got)
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("error keys %v, want %v (%v)", got, tt.want, errs.Err())
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	c := validConfig()
	c.SetDefaults(cfgerr.Env{})
	if c.Name != "police" || c.Protocol != ProtocolCID || c.Receiver != "0" || c.Line != "0" || c.Transport != "tcp" ||
		c.Timeout != 5*time.Second || c.NAKRetries != 3 || c.Supervision.Main != 90*time.Second ||
		c.Supervision.Backup != 10*time.Minute || c.PeriodicTest.Interval != 24*time.Hour ||
		c.PeriodicTest.Code != 602 || c.Test.Code != 601 || c.PathFail.Code != 350 ||
		c.PathFail.SIA != "YC" || c.PathFail.SIARestore != "YK" ||
		c.Mappings[0].SIA != "PA" || c.Mappings[0].SIARestore != "PH" {
		t.Errorf("defaults: %+v", c)
	}
}

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "key")
	if err := os.WriteFile(file, []byte(testKeyHex+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	l := secret.Lookup{Getenv: func(k string) string { return env[k] }}

	c := validConfig()
	c.KeyFile = file
	var errs cfgerr.List
	if c.Resolve(&errs, l); errs.Len() != 0 || c.Key.Reveal() != testKeyHex {
		t.Fatalf("from file: key %q err %v", c.Key.Reveal(), errs.Err())
	}
	// Validating the resolved config again (a component's prepare) finds nothing.
	c.SetDefaults(cfgerr.Env{})
	if c.Validate(&errs); errs.Len() != 0 {
		t.Fatalf("validate after resolve: %v", errs.Err())
	}
	env[KeyEnv] = "AAAAAAAAAAAAAAAA"
	c = validConfig()
	c.Key, c.KeyEncoding = secret.Inline(testKeyHex), "ascii"
	if c.Resolve(&errs, l); errs.Len() != 0 || c.Key.Reveal() != "AAAAAAAAAAAAAAAA" {
		t.Fatalf("env override: key %q err %v", c.Key.Reveal(), errs.Err())
	}
	c.SetDefaults(cfgerr.Env{})
	k, err := c.ParseKey()
	if err != nil || k.Bits() != 128 {
		t.Fatalf("ParseKey = %v, %v", k, err)
	}
	var b strings.Builder
	slog.New(slog.NewTextHandler(&b, nil)).Info("cfg", "policelink", c, "key", c.Key)
	fmt.Fprintf(&b, "%v %+v %s %#v", c, c, c, c.Key)
	if strings.Contains(b.String(), "AAAAAAAAAAAAAAAA") {
		t.Errorf("the key is printed: %s", b.String())
	}
	c = validConfig()
	c.KeyFile = filepath.Join(dir, "missing")
	if c.Resolve(&errs, l); errs.Len() != 0 { // env wins over a missing file
		t.Fatal(errs.Err())
	}
	delete(env, KeyEnv)
	c = validConfig()
	c.KeyFile = filepath.Join(dir, "missing")
	if c.Resolve(&errs, l); errs.Len() != 1 || errs.Errs[0].Key != "key_file" {
		t.Fatalf("missing key file: %v", errs.Err())
	}
	c = validConfig()
	c.KeyFile = file
	if _, err := c.ParseKey(); err == nil {
		t.Fatal("ParseKey of an unread key_file: no error")
	}
}

func TestNextTest(t *testing.T) {
	sh := time.FixedZone("CST", 8*3600)
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, sh)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	day := 24 * time.Hour
	tests := []struct {
		name      string
		pt        PeriodicTest
		last, now string
		want      string
	}{
		{"no anchor, first", PeriodicTest{Interval: day}, "", "2025-09-24 10:17", "2025-09-25 10:17"},
		{"no anchor, after a test", PeriodicTest{Interval: day}, "2025-09-24 09:00", "2025-09-24 10:17", "2025-09-25 09:00"},
		{"anchor later today", PeriodicTest{Interval: day, At: "14:30"}, "", "2025-09-24 10:17", "2025-09-24 14:30"},
		{"anchor passed today", PeriodicTest{Interval: day, At: "08:00"}, "", "2025-09-24 10:17", "2025-09-25 08:00"},
		{"anchor, tested today", PeriodicTest{Interval: day, At: "08:00"}, "2025-09-24 08:00", "2025-09-24 10:17", "2025-09-25 08:00"},
		{"anchor, missed while off", PeriodicTest{Interval: day, At: "08:00"}, "2025-09-20 08:00", "2025-09-24 10:17", "2025-09-21 08:00"},
		{"every 6h from 02:00", PeriodicTest{Interval: 6 * time.Hour, At: "02:00"}, "", "2025-09-24 10:17", "2025-09-24 14:00"},
		{"every 6h, at the anchor", PeriodicTest{Interval: 6 * time.Hour, At: "02:00"}, "", "2025-09-24 14:00", "2025-09-24 14:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var last time.Time
			if tt.last != "" {
				last = at(tt.last)
			}
			if got := NextTest(tt.pt, last, at(tt.now), sh); !got.Equal(at(tt.want)) {
				t.Errorf("NextTest = %v, want %v", got.In(sh), tt.want)
			}
		})
	}
}
