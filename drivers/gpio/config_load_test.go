package gpio_test

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/campusguard/campusguard/cfgerr"
	"github.com/campusguard/campusguard/internal/config"
)

// TestConfigLoadLocatesRemovedAndFixedKeys: a config that still sets latch on a GPIO
// input or resound_after on a GPIO output, or a siren re-sound time other than the
// alarm's 30 s, is refused with the file, line and key of the setting (as
// `campusguard check` prints them).
func TestConfigLoadLocatesRemovedAndFixedKeys(t *testing.T) {
	const head = `site:
  id: s01
  zones:
    - {id: gate, name: 校门, number: 1}
devices:
  - {id: panic-gate, kind: panic, location: 校门门卫室, zone: gate, driver: gpio}
gpio:
  inputs:
    - device: panic-gate
      pin: GPIO17
`
	const outputs = `  outputs:
    - id: siren-gate
      pin: GPIO5
`
	tests := []struct {
		name, yaml string
		key        string
		line       int
		msg        string
	}{
		{"latch true", head + "      latch: true\n", "gpio.inputs[0].latch", 11, "latch is no longer a GPIO option: alarms latch in alerting until a person resets them (GB 50394); remove this key"},
		{"latch false", head + "      latch: false\n", "gpio.inputs[0].latch", 11, "latch is no longer a GPIO option"},
		{"gpio resound_after", head + outputs + "      resound_after: 30s\n", "gpio.outputs[0].resound_after", 14, "resound_after is not a GPIO output setting: the 30 s re-sound rule belongs to the alarm; remove it"},
		{"gpio resound_after disabled", head + outputs + "      resound_after: -1s\n", "gpio.outputs[0].resound_after", 14, "resound_after is not a GPIO output setting"},
		{"siren resound_after above 30s", head + outputs + `sinks:
  siren:
    resound_after: 45s
    outputs:
      - {id: siren-gate, pattern: steady, max_on: 3m}
`, "sinks.siren.resound_after", 16, "45s: the re-sound time is fixed at 30s by GB 50394"},
		{"siren resound_after below 30s", head + outputs + `sinks:
  siren:
    resound_after: 10s
    outputs:
      - {id: siren-gate, pattern: steady, max_on: 3m}
`, "sinks.siren.resound_after", 16, "10s: the re-sound time is fixed at 30s by GB 50394"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{"campusguard.yaml": &fstest.MapFile{Data: []byte(tc.yaml)}}
			_, err := config.Load(config.Source{FS: fsys, Main: "campusguard.yaml"}, config.Options{Getenv: func(string) string { return "" }})
			list := cfgerr.As(err)
			if list == nil {
				t.Fatalf("config accepted (err %v), want an error at %s", err, tc.key)
			}
			for _, e := range list.Errs {
				if e.Key != tc.key {
					continue
				}
				if e.File != "campusguard.yaml" || e.Line != tc.line || !strings.HasPrefix(e.Msg, tc.msg) {
					t.Fatalf("error %q, want campusguard.yaml:%d: %s: %s...", e, tc.line, tc.key, tc.msg)
				}
				return
			}
			t.Fatalf("no error at %s in:\n%v", tc.key, list)
		})
	}
}
