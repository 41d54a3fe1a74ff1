package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigInit: the skeleton is written, check refuses it for its placeholders (exit
// 3, each located), and a second init does not overwrite the operator's files.
func TestConfigInit(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "etc")
	var out, errb bytes.Buffer
	if code := cmdConfig(context.Background(), []string{"init", dir}, &out, &errb); code != 0 {
		t.Fatalf("init: exit %d: %s", code, errb.String())
	}
	for _, f := range []string{"campusguard.yaml", "conf.d/devices.yaml", "conf.d/alerting.yaml", "rules/device.yaml"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s not written: %v", f, err)
		}
	}
	main := filepath.Join(dir, "campusguard.yaml")
	out.Reset()
	errb.Reset()
	if code := cmdCheck(context.Background(), []string{"--config", main}, &out, &errb); code != 3 {
		t.Fatalf("check of the skeleton: exit %d, want 3:\n%s%s", code, out.String(), errb.String())
	}
	for _, w := range []string{main + ":14: site.id: not filled in yet", main + ":15: site.name: not filled in yet"} {
		if !strings.Contains(errb.String(), w) {
			t.Errorf("check output lacks %q:\n%s", w, errb.String())
		}
	}
	if err := os.WriteFile(main, []byte("# mine\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	errb.Reset()
	if code := cmdConfig(context.Background(), []string{"init", dir}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "would overwrite") {
		t.Fatalf("second init: exit %d: %s", code, errb.String())
	}
	if b, _ := os.ReadFile(main); string(b) != "# mine\n" {
		t.Fatalf("the operator's file was overwritten: %q", b)
	}
}

func TestConfigAddresses(t *testing.T) {
	cfg := writeWatchConfig(t, "192.0.2.10:1883")
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	extra := `policelink:
  enabled: true
  account: "1234"
  key: A1A2A3A4A5A6A7A8A9AAABACADAEAFB0
  main: {primary: "198.51.100.7:7001"}
  mappings: [{match: {kind: panic}, code: 120}]
`
	if err := os.WriteFile(cfg, append(b, extra...), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := cmdConfig(context.Background(), []string{"addresses", "--config", cfg}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, w := range []string{"mqtt.brokers[0].url", "policelink.main.primary", "IPAddressDeny=any",
		"IPAddressAllow=192.0.2.10 198.51.100.7 localhost"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("missing %q in:\n%s", w, out.String())
		}
	}
}
