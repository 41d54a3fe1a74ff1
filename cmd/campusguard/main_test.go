package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/campusguard/campusguard/alerting/policelink/dc09/centre"
)

func runCLI(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = realMain(context.Background(), args, &o, &e)
	return code, o.String(), e.String()
}

func TestCommands(t *testing.T) {
	rulesTests, _ := filepath.Glob("../../configs/demo/rules/tests/*.yaml")
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"version", []string{"version"}, 0, "campusguard "},
		{"check the embedded demo", []string{"check"}, 0, "ok: site demo01"},
		{"check says its notes", []string{"check"}, 0, "note: embedded:configs/demo/conf.d/alerting.yaml:"},
		{"unknown command", []string{"frobnicate"}, 2, "unknown command"},
		{"rules test needs files", []string{"rules", "test"}, 2, "name at least one test file"},
		{"demo rule tests pass", append([]string{"rules", "test"}, rulesTests...), 0, " 0 failed"},
		{"simulate without a daemon", []string{"simulate", "--http", "127.0.0.1:1", "panic"}, 1, "is the daemon running"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(tt.args...)
			if code != tt.code || !strings.Contains(out+errOut, tt.want) {
				t.Errorf("exit %d (want %d)\nstdout: %s\nstderr: %s\nwant output containing %q", code, tt.code, out, errOut, tt.want)
			}
		})
	}
}

func TestPoliceLinkTestDisabled(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "campusguard.yaml")
	if err := os.WriteFile(p, []byte("site: {id: t1}\nstate_dir: "+dir+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI("policelink", "test", "--config", p)
	if code != 1 || !strings.Contains(errOut, "policelink.enabled is false") {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
}

// TestPoliceLinkTest: the installer's test report reaches a loopback receiving centre
// and its answer is printed.
func TestPoliceLinkTest(t *testing.T) {
	r := centre.New(centre.Config{Network: "tcp"})
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	dir := t.TempDir()
	cfg := fmt.Sprintf(`site: {id: t1}
state_dir: %s
rules_dir: rules
policelink:
  enabled: true
  account: "1234"
  transport: tcp
  main: {primary: "%s"}
  mappings: [{match: {kind: panic}, code: 120}]
`, dir, r.TCPAddr())
	p := filepath.Join(dir, "campusguard.yaml")
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI("policelink", "test", "--config", p)
	if code != 0 || !strings.Contains(out, "ACK") {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	got := r.Received()
	if len(got) == 0 || !strings.Contains(got[len(got)-1].Message.Data, "1601") {
		t.Fatalf("receiver got %+v", got)
	}
}
