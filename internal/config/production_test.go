package config

import (
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/campusguard/campusguard/cfgerr"
	"github.com/campusguard/campusguard/configs"
	"github.com/campusguard/campusguard/configs/production"
)

// skeletonFS copies the production skeleton, with edit applied to every file.
func skeletonFS(t *testing.T, edit func(name, text string) string) fstest.MapFS {
	t.Helper()
	m := fstest.MapFS{}
	err := fs.WalkDir(production.Skeleton(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(production.Skeleton(), p)
		if err != nil {
			return err
		}
		m[p] = &fstest.MapFile{Data: []byte(edit(p, string(b)))}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func loadFS(m fs.FS, demo bool, opts Options) (*Config, *cfgerr.List) {
	cfg, err := Load(Source{FS: m, Main: "campusguard.yaml", Prefix: "/etc/campusguard/", Demo: demo}, opts)
	if err != nil {
		return nil, cfgerr.As(err)
	}
	return cfg, nil
}

// TestSkeletonRefusedUntilFilled: config init's skeleton names each placeholder at its
// own line, and nothing else; filled in, it loads.
func TestSkeletonRefusedUntilFilled(t *testing.T) {
	_, errs := loadFS(skeletonFS(t, func(_, s string) string { return s }), false, Options{Gateway: true, GPIOChips: func() []string { return nil }})
	if errs == nil {
		t.Fatal("the unfilled skeleton loaded")
	}
	want := []string{
		"/etc/campusguard/campusguard.yaml:14: site.id: not filled in yet: replace the placeholder with a short campus id",
		"/etc/campusguard/campusguard.yaml:15: site.name: not filled in yet",
		"/etc/campusguard/campusguard.yaml:25: site.zones[0].name: not filled in yet",
	}
	if len(errs.Errs) != len(want) {
		t.Errorf("got %d problems, want %d:\n%v", len(errs.Errs), len(want), errs)
	}
	for _, w := range want {
		if !strings.Contains(errs.Error(), w) {
			t.Errorf("missing %q in:\n%v", w, errs)
		}
	}

	filled := skeletonFS(t, func(_, s string) string {
		s = strings.Replace(s, `"CHANGE-ME: a short campus id: letters, digits and dashes, e.g. sz-ns-01"`, "sz-ns-01", 1)
		s = strings.Replace(s, `"CHANGE-ME: the school's name, e.g. 南山实验小学"`, "南山实验小学", 1)
		return strings.Replace(s, `"CHANGE-ME: the zone's name, e.g. 校门门卫室"`, "校门门卫室", 1)
	})
	cfg, errs := loadFS(filled, false, Options{Gateway: true, GPIOChips: func() []string { return nil }})
	if errs != nil {
		t.Fatalf("filled skeleton refused:\n%v", errs)
	}
	if cfg.Simulator.Enabled || cfg.Console.Enabled || cfg.PoliceLink.Enabled || len(cfg.Console.Users) > 0 {
		t.Errorf("skeleton enables a demo part: %+v", cfg.Simulator)
	}
}

// TestDemoCopiedToAGateway: the demo config outside --demo is refused for each published
// secret and for the simulator standing in for the GPIO lines; as the demo it loads.
func TestDemoCopiedToAGateway(t *testing.T) {
	if _, errs := loadFS(configs.Demo(), true, Options{Gateway: true, GPIOChips: func() []string { return nil }}); errs != nil {
		t.Fatalf("the demo is refused as the demo:\n%v", errs)
	}
	_, errs := loadFS(configs.Demo(), false, Options{Gateway: true, GPIOChips: func() []string { return []string{"/dev/gpiochip0"} }})
	if errs == nil {
		t.Fatal("the demo loaded as a real gateway's config")
	}
	// The demo's files change; the problems must be located, whatever the lines.
	want := []struct{ file, key, msg string }{
		{"conf.d/alerting.yaml", "policelink.key", "is the demo's published key"},
		{"conf.d/alerting.yaml", "sinks.mqtt.ack.secret", "is the demo's published secret"},
		{"campusguard.yaml", "console.users[0].password_hash", "is a demo password published in the README"},
		{"campusguard.yaml", "console.users[1].password_hash", "is a demo password published in the README"},
		{"campusguard.yaml", "console.users[2].password_hash", "is a demo password published in the README"},
		{"campusguard.yaml", "simulator.enabled", "the simulator replaces the GPIO lines of gpio.inputs and gpio.outputs (GPIO17, GPIO22, GPIO27, GPIO5, GPIO6)"},
	}
	for _, w := range want {
		found := false
		for _, e := range errs.Errs {
			if e.Key == w.key && strings.HasPrefix(e.Msg, w.msg) && e.File == "/etc/campusguard/"+w.file && e.Line > 0 {
				found = true
			}
		}
		if !found {
			t.Errorf("no %s:LINE: %s: %s in:\n%v", w.file, w.key, w.msg, errs)
		}
	}
}

func TestSimulatorWithRealPoliceReceiver(t *testing.T) {
	police := `policelink:
  enabled: true
  account: "1234"
  key: A1A2A3A4A5A6A7A8A9AAABACADAEAFB0
  main: {primary: "%s"}
  mappings: [{match: {kind: panic}, code: 120}]
simulator: {enabled: true, police_receiver: "127.0.0.1:17001"}
`
	tests := []struct {
		name, addr string
		want       string // "" = loads
	}{
		{"the simulator's own receiver", "127.0.0.1:17001", ""},
		{"localhost is the same receiver", "localhost:17001", ""},
		{"a real centre", "110.1.2.3:7001", `policelink.main.primary: "110.1.2.3:7001" is a real police receiver while the simulator is enabled`},
		{"another loopback port", "127.0.0.1:7001", "is a real police receiver"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := goodMain + strings.Replace(police, "%s", tt.addr, 1)
			for _, demo := range []bool{false, true} {
				_, errs := loadFS(fstest.MapFS{"campusguard.yaml": {Data: []byte(text)}, "rules/.keep": {}}, demo, Options{})
				switch {
				case tt.want == "" && errs != nil:
					t.Errorf("demo=%v: refused:\n%v", demo, errs)
				case tt.want != "" && (errs == nil || !strings.Contains(errs.Error(), tt.want)):
					t.Errorf("demo=%v: want %q, got:\n%v", demo, tt.want, errs)
				}
			}
		})
	}
}

func TestGPIOWithoutChip(t *testing.T) {
	text := strings.Replace(goodMain, "driver: sim", "driver: gpio", 1) + `gpio:
  inputs:
    - {device: panic-gate, pin: GPIO17, contact: "no", active_level: low, pull: up}
  outputs:
    - {id: siren-gate, chip: gpiochip0, line: 5, active_level: high, pattern: steady, max_on: 3m}
`
	m := fstest.MapFS{"campusguard.yaml": {Data: []byte(text)}, "rules/.keep": {}}
	_, errs := loadFS(m, false, Options{Gateway: true, GPIOChips: func() []string { return nil }})
	if errs == nil || !strings.Contains(errs.Error(), "gpio: this machine has no GPIO chip (/dev/gpiochip*), so GPIO17, gpiochip0/5 cannot be opened") {
		t.Fatalf("no chip not refused:\n%v", errs)
	}
	if _, errs := loadFS(m, false, Options{Gateway: true, GPIOChips: func() []string { return []string{"/dev/gpiochip0"} }}); errs != nil {
		t.Fatalf("with a chip:\n%v", errs)
	}
	if _, errs := loadFS(m, false, Options{}); errs != nil {
		t.Fatalf("without the host check:\n%v", errs)
	}
}

func TestNegativeDebounceOnAGateway(t *testing.T) {
	text := strings.Replace(goodMain, "driver: sim", "driver: gpio", 1) + `gpio:
  inputs:
    - {device: panic-gate, pin: GPIO17, contact: "no", active_level: low, pull: up, debounce: -1s}
`
	m := fstest.MapFS{"campusguard.yaml": {Data: []byte(text)}, "rules/.keep": {}}
	_, errs := loadFS(m, false, Options{Gateway: true, GPIOChips: func() []string { return []string{"/dev/gpiochip0"} }})
	if errs == nil || !strings.Contains(errs.Error(), "campusguard.yaml:17: gpio.inputs[0].debounce: -1s turns debouncing off") {
		t.Fatalf("negative debounce not refused:\n%v", errs)
	}
	// Tests that bring their own pins (no host check) may turn it off.
	if _, errs := loadFS(m, false, Options{}); errs != nil {
		t.Fatalf("without the host check:\n%v", errs)
	}
}

// TestGatewayNeedsItsRules: on a gateway the default rules directory must exist too.
func TestGatewayNeedsItsRules(t *testing.T) {
	m := fstest.MapFS{"campusguard.yaml": {Data: []byte(goodMain)}}
	_, errs := loadFS(m, false, Options{Gateway: true, GPIOChips: func() []string { return nil }})
	if errs == nil || !strings.Contains(errs.Error(), "/etc/campusguard/campusguard.yaml: rules_dir: the rules directory /etc/campusguard/rules does not exist") {
		t.Fatalf("missing rules directory not refused:\n%v", errs)
	}
	if _, errs := loadFS(m, false, Options{}); errs != nil {
		t.Fatalf("without gateway checks:\n%v", errs)
	}
	m["campusguard.yaml"] = &fstest.MapFile{Data: []byte(goodMain + "rules_dir: rulez\n")}
	m["rules/.keep"] = &fstest.MapFile{}
	_, errs = loadFS(m, false, Options{Gateway: true, GPIOChips: func() []string { return nil }})
	if errs == nil || !strings.Contains(errs.Error(), "campusguard.yaml:15: rules_dir: the rules directory /etc/campusguard/rulez does not exist") {
		t.Fatalf("mistyped rules_dir not refused:\n%v", errs)
	}
}
