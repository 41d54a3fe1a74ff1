package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/campusguard/campusguard/alerting/policelink"
	"github.com/campusguard/campusguard/alerting/policelink/dc09/centre"
)

// TestPoliceLinkTestFieldReceiver: against a receiver that reads keys as ASCII (Home
// Assistant's form), a hex-encoded key is diagnosed: the rejection, the raw answer
// and the other key_encoding. Two runs take consecutive numbers from the journal.
func TestPoliceLinkTestFieldReceiver(t *testing.T) {
	const key = "3F2A9C41D07B6E58A1C4F0925B7D3E86"
	r := centre.New(centre.Config{Network: "tcp", Field: &centre.FieldConfig{Key: key}})
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	dir := t.TempDir()
	write := func(enc string) string {
		cfg := fmt.Sprintf(`site: {id: t1}
state_dir: %s
http: {listen: "127.0.0.1:1"}
rules_dir: rules
policelink:
  enabled: true
  account: "12ab"
  protocol: SIA-DCS
  key: %s
  key_encoding: %s
  transport: tcp
  main: {primary: "%s"}
  mappings: [{match: {class: panic}, code: 120}]
`, dir, key, enc, r.TCPAddr())
		p := filepath.Join(dir, "campusguard.yaml")
		if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	code, out, errOut := runCLI("policelink", "test", "--config", write("hex"))
	for _, want := range []string{
		"note: policelink.account:", "note: policelink.key_encoding: hex:",
		"NAK: " + policelink.DiagRejected, `"NAK"0000L0R0A0[]_`, "hint:", "set key_encoding: ascii",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if code != 1 || strings.Contains(out+errOut, key) {
		t.Errorf("exit %d, or the key is shown\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	code, out, errOut = runCLI("policelink", "test", "--config", write("ascii"))
	if code != 0 || !strings.Contains(out, "ACK in") || strings.Contains(out, key) {
		t.Errorf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	recs := r.Received()
	first, last := recs[0].Message, recs[len(recs)-1].Message
	if first.Seq != 1 || last.Seq != 2 || last.Account != "12AB" {
		t.Errorf("first %+v, last %+v: want numbers 1 and 2 from the journal, account 12AB", first, last)
	}
	t.Log("\n" + out)
}
