package mqtt

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/campusguard/campusguard/cfgerr"
	"github.com/campusguard/campusguard/event"
	"github.com/campusguard/campusguard/secret"
	"github.com/campusguard/campusguard/site"
)

func TestValidFilter(t *testing.T) {
	for _, bad := range []string{"", "a/#/b", "a+/b", "a/b#"} {
		if validFilter(bad) == nil {
			t.Errorf("filter %q accepted", bad)
		}
	}
}

func TestLogGate(t *testing.T) {
	g := newLogGate(time.Minute)
	now := time.Unix(0, 0)
	if ok, _ := g.allow("a", now); !ok {
		t.Fatal("first line held")
	}
	for i := range 3 {
		if ok, _ := g.allow("a", now.Add(time.Duration(i)*time.Second)); ok {
			t.Fatal("second line within a minute let through")
		}
	}
	if ok, _ := g.allow("b", now); !ok {
		t.Error("another device held back")
	}
	if ok, n := g.allow("a", now.Add(time.Minute)); !ok || n != 3 {
		t.Errorf("after a minute: %v, suppressed %d", ok, n)
	}
}

func TestValidate(t *testing.T) {
	good := func() Config {
		c := Config{
			Brokers: []BrokerConfig{{Name: "campus", URL: "tcp://127.0.0.1:1883"}},
			Mappings: []MappingConfig{{Name: "m", Broker: "campus", Topic: "a/+/b", Kind: event.KindPanic,
				DeviceID: DeviceIDConfig{TopicLevel: intp(1)}, Type: TypeConfig{Const: "pressed"}}},
		}
		return c
	}
	tests := []struct {
		name string
		mod  func(*Config)
		keys []string
	}{
		{"ok", func(*Config) {}, nil},
		{"bad url", func(c *Config) { c.Brokers[0].URL = "http://x" }, []string{"brokers[0].url"}},
		{"cert without key", func(c *Config) { c.Brokers[0].TLS.CertFile = "/nonexistent" },
			[]string{"brokers[0].cert_file"}},
		{"password and password_file", func(c *Config) {
			c.Brokers[0].Username, c.Brokers[0].Password, c.Brokers[0].PasswordFile = "gw", secret.Inline("x"), "/f"
		}, []string{"brokers[0].password"}},
		{"qos 2", func(c *Config) { c.Brokers[0].QoS = intp(2) }, []string{"brokers[0].qos"}},
		{"duplicate broker", func(c *Config) { c.Brokers = append(c.Brokers, c.Brokers[0]) },
			[]string{"brokers[1].name", "brokers[1].client_id"}},
		{"unknown broker", func(c *Config) { c.Mappings[0].Broker = "x" }, []string{"mappings[0].broker"}},
		{"bad topic", func(c *Config) { c.Mappings[0].Topic = "a/#/b" }, []string{"mappings[0].topic"}},
		{"bad kind", func(c *Config) { c.Mappings[0].Kind = "toaster" }, []string{"mappings[0].kind"}},
		{"level out of topic", func(c *Config) { c.Mappings[0].DeviceID.TopicLevel = intp(5) },
			[]string{"mappings[0].device_id.topic_level"}},
		{"no device id", func(c *Config) { c.Mappings[0].DeviceID = DeviceIDConfig{} }, []string{"mappings[0].device_id"}},
		{"no type", func(c *Config) { c.Mappings[0].Type = TypeConfig{} }, []string{"mappings[0].type"}},
		{"time without field", func(c *Config) { c.Mappings[0].Time.Format = TimeUnix }, []string{"mappings[0].time.field"}},
		{"bad time format", func(c *Config) { c.Mappings[0].Time = TimeConfig{Field: "t", Format: "iso"} },
			[]string{"mappings[0].time.format"}},
		{"bad field", func(c *Config) {
			c.Mappings[0].Fields = []FieldMap{{Name: "x", Type: "double"}, {Name: "x", Path: "a..b"}}
		}, []string{"mappings[0].fields[0].type", "mappings[0].fields[1].name", "mappings[0].fields[1].path"}},
		{"bad const", func(c *Config) { c.Mappings[0].Const = map[string]any{"k": []int{1}} }, []string{"mappings[0].const.k"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good()
			tt.mod(&c)
			c.SetDefaults(cfgerr.Env{SiteID: "s01", StateDir: "/var/lib/campusguard"})
			var errs cfgerr.List
			c.Validate(&errs)
			var keys []string
			for _, e := range errs.Errs {
				keys = append(keys, e.Key)
			}
			if strings.Join(keys, ",") != strings.Join(tt.keys, ",") {
				t.Errorf("keys %v, want %v (%v)", keys, tt.keys, errs.Err())
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	c := Config{Brokers: []BrokerConfig{{Name: "campus"}}, Mappings: []MappingConfig{{Fields: []FieldMap{{Name: "x"}}}}}
	c.SetDefaults(cfgerr.Env{SiteID: "s01", StateDir: "/var/lib/campusguard"})
	b, m := c.Brokers[0], c.Mappings[0]
	if b.ClientID != "campusguard-s01-campus" || b.StoreDir != "/var/lib/campusguard/mqtt/mqtt/campus" || *b.QoS != 1 ||
		b.KeepAlive != DefaultKeepAlive {
		t.Errorf("broker defaults %+v", b)
	}
	if m.MaxPayload != DefaultMaxPayload || m.RateLimit.Rate != DefaultRate || m.RateLimit.Burst != DefaultBurst ||
		m.Time.Format != TimeNone || m.Fields[0].Path != "x" {
		t.Errorf("mapping defaults %+v", m)
	}
}

func TestValidateDevices(t *testing.T) {
	c := Config{Mappings: []MappingConfig{{Kind: event.KindKitchenCamera}}}
	var errs cfgerr.List
	c.ValidateDevices([]site.Device{
		{ID: "cam", Kind: event.KindKitchenCamera, Driver: "mqtt"},
		{ID: "btn", Kind: event.KindPanic, Driver: "gpio"},
		{ID: "radar", Kind: event.KindAntiFall, Driver: "mqtt"},
	}, &errs)
	if errs.Len() != 1 || errs.Errs[0].Key != "devices[2].kind" {
		t.Errorf("%v", errs.Err())
	}
}

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := Config{Brokers: []BrokerConfig{
		{Name: "campus", Username: "gw", PasswordFile: pw},
		{Name: "cloud-1", Username: "gw", PasswordFile: pw},
		{Name: "gone", Username: "gw", PasswordFile: filepath.Join(dir, "missing")},
		{Name: "anon", PasswordFile: pw},
		{Name: "ca", TLS: secret.TLSClient{CAFile: filepath.Join(dir, "missing-ca.pem")}},
	}}
	if EnvPasswordVar("cloud-1") != "CAMPUSGUARD_MQTT_CLOUD_1_PASSWORD" {
		t.Errorf("env var %s", EnvPasswordVar("cloud-1"))
	}
	env := map[string]string{"CAMPUSGUARD_MQTT_CLOUD_1_PASSWORD": "from-env"}
	var errs cfgerr.List
	c.Resolve(&errs, secret.Lookup{Getenv: func(k string) string { return env[k] }})
	if c.Brokers[0].Password.Reveal() != "s3cret" || c.Brokers[1].Password.Reveal() != "from-env" {
		t.Errorf("passwords %q %q", c.Brokers[0].Password.Reveal(), c.Brokers[1].Password.Reveal())
	}
	var keys []string
	for _, e := range errs.Errs {
		keys = append(keys, e.Key)
	}
	if want := "brokers[2].password_file,brokers[3].username,brokers[4].ca_file"; strings.Join(keys, ",") != want {
		t.Errorf("keys %v, want %s (%v)", keys, want, errs.Err())
	}
}
