package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/campusguard/campusguard/cfgerr"
)

const goodMain = `site:
  id: s01
  name: 第一实验小学
  zones:
    - id: gate
      name: 校门
      number: 1
devices:
  - id: panic-gate
    kind: panic
    name: 校门一键报警
    location: 校门门卫室
    zone: gate
    driver: sim
`

func load(t *testing.T, files map[string]string, env map[string]string) (*Config, *cfgerr.List) {
	t.Helper()
	m := fstest.MapFS{}
	m["rules/.keep"] = &fstest.MapFile{} // the rules directory exists
	for k, v := range files {
		m[k] = &fstest.MapFile{Data: []byte(v)}
	}
	cfg, err := Load(Source{FS: m, Main: "campusguard.yaml"}, Options{Getenv: func(k string) string { return env[k] }})
	if err != nil {
		return nil, cfgerr.As(err)
	}
	return cfg, nil
}

func TestLoadGood(t *testing.T) {
	cfg, errs := load(t, map[string]string{
		"campusguard.yaml": goodMain,
		"conf.d/kitchen.yaml": `devices:
  - id: cam-1
    kind: kitchen_camera
    location: 厨房灶台区
    driver: sim
    heartbeat: 90s
`,
	}, nil)
	if errs != nil {
		t.Fatalf("unexpected errors:\n%v", errs)
	}
	if len(cfg.Devices) != 2 || cfg.Devices[1].ID != "cam-1" {
		t.Fatalf("conf.d devices not appended: %+v", cfg.Devices)
	}
	if cfg.Site.Location().String() != "Asia/Shanghai" {
		t.Errorf("default timezone = %v", cfg.Site.Location())
	}
	if cfg.Devices[1].Heartbeat.Seconds() != 90 {
		t.Errorf("heartbeat = %v", cfg.Devices[1].Heartbeat)
	}
	if cfg.Site.Name != "第一实验小学" {
		t.Errorf("name = %q", cfg.Site.Name)
	}
}

// TestLoadMistakes: each kind of mistake an installer makes gets an error naming the
// file, the line and the key.
func TestLoadMistakes(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  []string // substrings of the error list, each must appear
	}{
		{"yaml syntax", map[string]string{"campusguard.yaml": "site:\n  id: s01\n  name: [unclosed\n"},
			[]string{"campusguard.yaml:", "not valid YAML"}},
		{"unknown top-level key", map[string]string{"campusguard.yaml": goodMain + "sirens: []\n"},
			[]string{"campusguard.yaml:15: sirens: unknown key"}},
		{"unknown device key", map[string]string{"campusguard.yaml": strings.Replace(goodMain, "    driver: sim\n", "    driver: sim\n    colour: red\n", 1)},
			[]string{"campusguard.yaml:15: devices[0].colour: unknown key"}},
		{"wrong type", map[string]string{"campusguard.yaml": strings.Replace(goodMain, "number: 1", "number: one", 1)},
			[]string{"campusguard.yaml:7: site.zones[0].number:"}},
		{"duration without unit", map[string]string{"campusguard.yaml": goodMain + "    heartbeat: 60\n"},
			[]string{"devices[0].heartbeat:", "needs a unit"}},
		{"bad duration", map[string]string{"campusguard.yaml": goodMain + "    heartbeat: 5 minutes\n"},
			[]string{"campusguard.yaml:15: devices[0].heartbeat: unknown unit"}},
		{"unknown kind", map[string]string{"campusguard.yaml": strings.Replace(goodMain, "kind: panic", "kind: panik", 1)},
			[]string{"campusguard.yaml:10: devices[0].kind: unknown device kind \"panik\""}},
		{"unknown zone", map[string]string{"campusguard.yaml": strings.Replace(goodMain, "zone: gate", "zone: gaet", 1)},
			[]string{"devices[0].zone: unknown zone \"gaet\""}},
		{"duplicate device in conf.d", map[string]string{"campusguard.yaml": goodMain,
			"conf.d/more.yaml": "devices:\n  - id: panic-gate\n    kind: panic\n    driver: sim\n"},
			[]string{"conf.d/more.yaml:2: devices[1].id: device \"panic-gate\" is defined twice"}},
		{"bad timezone", map[string]string{"campusguard.yaml": strings.Replace(goodMain, "  name: 第一实验小学\n", "  name: x\n  timezone: Asia/Beijing\n", 1)},
			[]string{"campusguard.yaml:4: site.timezone: unknown time zone"}},
		{"scalar set twice", map[string]string{"campusguard.yaml": goodMain, "conf.d/x.yaml": "site:\n  name: other\n"},
			[]string{"conf.d/x.yaml:2: site.name: already set in campusguard.yaml:3"}},
		{"bad listen address", map[string]string{"campusguard.yaml": goodMain + "http:\n  listen: 9810\n"},
			[]string{"http.listen: \"9810\" is not host:port"}},
		{"missing site id", map[string]string{"campusguard.yaml": strings.Replace(goodMain, "  id: s01\n", "", 1)},
			[]string{"site.id: is required"}},
		{"unknown driver", map[string]string{"campusguard.yaml": strings.Replace(goodMain, "driver: sim", "driver: zigbee", 1)},
			[]string{"devices[0].driver: unknown driver \"zigbee\""}},
		{"not a mapping", map[string]string{"campusguard.yaml": "- a\n- b\n"},
			[]string{"campusguard.yaml:1: the file must be a mapping"}},
		{"type errors do not hide the rest", map[string]string{"campusguard.yaml": strings.NewReplacer(
			"    zone: gate\n", "    zone: gaet\n",
			"  name: 第一实验小学\n", "  name: x\n  timezone: Asia/Beijing\n").Replace(goodMain) +
			"    heartbeat: 3min\nhttp:\n  listen: 9810\n"},
			[]string{
				`campusguard.yaml:16: devices[0].heartbeat: unknown unit in "3min"; a duration is a number with a unit: ns, us, ms, s, m, h, e.g. 90s, 5m, 1h30m`,
				`devices[0].zone: unknown zone "gaet"`,
				`campusguard.yaml:4: site.timezone: unknown time zone "Asia/Beijing"; a time zone is an IANA name such as Asia/Shanghai`,
				`campusguard.yaml:18: http.listen: "9810" is not host:port (host:port, e.g. 127.0.0.1:9810)`,
			}},
		{"type error in a list item keeps the other items checked", map[string]string{"campusguard.yaml": goodMain +
			"  - {id: b, kind: panic, location: 门, zone: nowhere, driver: sim, heartbeat: 1 hour}\n"},
			[]string{`campusguard.yaml:15: devices[1].heartbeat: unknown unit in "1 hour"`, `devices[1].zone: unknown zone "nowhere"`}},
		{"port out of range", map[string]string{"campusguard.yaml": goodMain + "http:\n  listen: 127.0.0.1:98100\n"},
			[]string{`campusguard.yaml:16: http.listen: "127.0.0.1:98100": port 98100 is out of range (0 to 65535)`}},
		{"duplicate key at its own line", map[string]string{"campusguard.yaml": strings.Replace(goodMain, "    driver: sim\n", "    driver: sim\n    zone: gaet\n", 1)},
			[]string{"campusguard.yaml:15: devices[0].zone: set twice in this mapping (first at line 13); keep one"}},
		{"duplicate key does not hide the rest", map[string]string{"campusguard.yaml": strings.Replace(goodMain, "  id: s01\n", "  id: s01\n  id: s02\n", 1) +
			"    kind: x\n"},
			[]string{"campusguard.yaml:3: site.id: set twice", "devices[0].kind: set twice"}},
		{"several at once", map[string]string{"campusguard.yaml": strings.Replace(strings.Replace(goodMain, "kind: panic", "kind: x", 1), "zone: gate", "zone: y", 1)},
			[]string{"devices[0].kind", "devices[0].zone"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errs := load(t, tt.files, nil)
			if errs == nil {
				t.Fatal("config loaded without error")
			}
			got := errs.Error()
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("errors do not mention %q:\n%s", w, got)
				}
			}
			for _, e := range errs.Errs {
				if e.File == "" {
					t.Errorf("error without a file: %v", e)
				}
			}
		})
	}
}

// TestEnvOverridesSecret: a CAMPUSGUARD_ variable sets a secret the files leave out.
func TestEnvOverridesSecret(t *testing.T) {
	t.Setenv("CAMPUSGUARD_POLICELINK_KEY", "A1A2A3A4A5A6A7A8A9AAABACADAEAFB0")
	m := fstest.MapFS{"rules/.keep": &fstest.MapFile{}, "campusguard.yaml": &fstest.MapFile{Data: []byte(goodMain + `policelink:
  enabled: true
  account: "1234"
  main: {primary: "127.0.0.1:7001"}
  mappings: [{match: {kind: panic}, code: 120}]
`)}}
	cfg, err := Load(Source{FS: m, Main: "campusguard.yaml"}, Options{}) // the process's environment
	if err != nil {
		t.Fatalf("errors:\n%v", err)
	}
	if cfg.PoliceLink.Key.Reveal() != "A1A2A3A4A5A6A7A8A9AAABACADAEAFB0" {
		t.Fatalf("policelink.key = %q", cfg.PoliceLink.Key.Reveal())
	}
}

// TestEnvOnlyForSecrets: the environment gives secrets, each from its documented
// variables, and sets no other key.
func TestEnvOnlyForSecrets(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "police.key")
	if err := os.WriteFile(keyFile, []byte("B1B2B3B4B5B6B7B8B9BABBBCBDBEBFC0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	main := goodMain + `http:
  listen: 127.0.0.1:9810
log:
  level: info
telemetry:
  enabled: true
  url: http://127.0.0.1:8086
  bucket: campus
  token: from-file
mqtt:
  brokers:
    - {name: campus, url: "tcp://127.0.0.1:1883", username: gw}
policelink:
  enabled: true
  account: "1234"
  main: {primary: "127.0.0.1:7001"}
  mappings: [{match: {kind: panic}, code: 120}]
  key_file: ` + keyFile + `
`
	// Variables of keys that are not secrets are ignored, from Options.Getenv and from
	// the process's environment alike.
	t.Setenv("CAMPUSGUARD_HTTP_LISTEN", "0.0.0.0:1")
	t.Setenv("CAMPUSGUARD_LOG_LEVEL", "debug")
	t.Setenv("CAMPUSGUARD_STATE_DIR", "/tmp/elsewhere")
	tests := []struct {
		name  string
		env   map[string]string
		check func(*Config) string // "" when right
	}{
		{"non-secret keys", map[string]string{"CAMPUSGUARD_HTTP_LISTEN": "0.0.0.0:1", "CAMPUSGUARD_LOG_LEVEL": "debug",
			"CAMPUSGUARD_TELEMETRY_URL": "http://evil:8086", "CAMPUSGUARD_POLICELINK_MAIN_PRIMARY": "10.0.0.1:7001"},
			func(c *Config) string {
				if c.HTTP.Listen != "127.0.0.1:9810" || c.Log.Level != "info" || c.StateDir != "/var/lib/campusguard" ||
					c.Telemetry.URL != "http://127.0.0.1:8086" || c.PoliceLink.Main.Primary != "127.0.0.1:7001" {
					return fmt.Sprintf("listen %s level %s state %s url %s primary %s", c.HTTP.Listen, c.Log.Level, c.StateDir, c.Telemetry.URL, c.PoliceLink.Main.Primary)
				}
				if c.Telemetry.Token.Reveal() != "from-file" || c.PoliceLink.Key.Reveal() != "B1B2B3B4B5B6B7B8B9BABBBCBDBEBFC0" ||
					!c.MQTT.Brokers[0].Password.IsZero() {
					return "a secret changed"
				}
				return ""
			}},
		{"telemetry token by key path", map[string]string{"CAMPUSGUARD_TELEMETRY_TOKEN": "t1"}, func(c *Config) string {
			return want(c.Telemetry.Token.Reveal(), "t1")
		}},
		{"influx token wins", map[string]string{"CAMPUSGUARD_TELEMETRY_TOKEN": "t1", "CAMPUSGUARD_INFLUX_TOKEN": "t2"}, func(c *Config) string {
			return want(c.Telemetry.Token.Reveal(), "t2")
		}},
		{"police key over key_file", map[string]string{"CAMPUSGUARD_POLICELINK_KEY": "A1A2A3A4A5A6A7A8A9AAABACADAEAFB0"}, func(c *Config) string {
			return want(c.PoliceLink.Key.Reveal(), "A1A2A3A4A5A6A7A8A9AAABACADAEAFB0")
		}},
		{"broker password", map[string]string{"CAMPUSGUARD_MQTT_CAMPUS_PASSWORD": "pw"}, func(c *Config) string {
			return want(c.MQTT.Brokers[0].Password.Reveal(), "pw")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, errs := load(t, map[string]string{"campusguard.yaml": main}, tt.env)
			if errs != nil {
				t.Fatalf("errors:\n%v", errs)
			}
			if msg := tt.check(cfg); msg != "" {
				t.Error(msg)
			}
		})
	}
}

// TestNumericSecret: a secret written as a number decodes as its digits, as when the
// field was a string.
func TestNumericSecret(t *testing.T) {
	cfg, errs := load(t, map[string]string{"campusguard.yaml": goodMain + `mqtt:
  brokers:
    - {name: campus, url: "tcp://127.0.0.1:1883", username: gw, password: 123456}
policelink:
  enabled: true
  account: "1234"
  main: {primary: "127.0.0.1:7001"}
  mappings: [{match: {kind: panic}, code: 120}]
  key: 1234567890123456
  key_encoding: ascii
`}, nil)
	if errs != nil {
		t.Fatal(errs)
	}
	if got := cfg.MQTT.Brokers[0].Password.Reveal() + " " + cfg.PoliceLink.Key.Reveal(); got != "123456 1234567890123456" {
		t.Errorf("secrets %q", got)
	}
}

func want(got, want string) string {
	if got != want {
		return fmt.Sprintf("got %q, want %q", got, want)
	}
	return ""
}

// TestSecretFilesLocated: a secret's missing file or unset variable is an error at the
// key that names it, with its file and line; validation reads neither.
func TestSecretFilesLocated(t *testing.T) {
	_, errs := load(t, map[string]string{"campusguard.yaml": goodMain + `telemetry:
  enabled: true
  url: https://127.0.0.1:8086
  bucket: campus
  token_file: /nonexistent/influx.token
  ca_file: /nonexistent/ca.pem
`, "conf.d/hooks.yaml": `sinks:
  webhooks:
    - name: dt
      url: https://oapi.dingtalk.com/robot/send?access_token=x
      format: dingtalk
      secret_env: CG_TEST_UNSET_SECRET
      ca_file: /nonexistent/hook-ca.pem
mqtt:
  brokers:
    - name: campus
      url: ssl://127.0.0.1:8883
      username: gw
      password_file: /nonexistent/mqtt.pass
      ca_file: /nonexistent/mqtt-ca.pem
`}, nil)
	if errs == nil {
		t.Fatal("loaded")
	}
	for _, w := range []string{
		"campusguard.yaml:19: telemetry.token_file: open /nonexistent/influx.token",
		"campusguard.yaml:20: telemetry.ca_file: open /nonexistent/ca.pem",
		"conf.d/hooks.yaml:6: sinks.webhooks[0].secret_env: environment variable CG_TEST_UNSET_SECRET is not set",
		"conf.d/hooks.yaml:7: sinks.webhooks[0].ca_file: open /nonexistent/hook-ca.pem",
		"conf.d/hooks.yaml:13: mqtt.brokers[0].password_file: open /nonexistent/mqtt.pass",
		"conf.d/hooks.yaml:14: mqtt.brokers[0].ca_file: open /nonexistent/mqtt-ca.pem",
	} {
		if !strings.Contains(errs.Error(), w) {
			t.Errorf("errors do not say %q:\n%v", w, errs)
		}
	}
}
