//go:build linux

package systest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// needDeb returns the .deb the environment variable env names, and skips t with
// skip when it is unset. The test then needs root (to do what rootFor says) and
// tools, which `apt-get install install` brings.
func needDeb(t *testing.T, env, skip, rootFor string, tools []string, install string) string {
	t.Helper()
	deb := os.Getenv(env)
	if deb == "" {
		t.Skip(skip)
	}
	if os.Geteuid() != 0 {
		t.Fatal(rootFor + " needs root")
	}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found (apt-get install %s)", tool, install)
		}
	}
	return deb
}

// oneshotUnit is the guest's unit that runs execStart once the system is up.
func oneshotUnit(description, execStart string) string {
	return "[Unit]\nDescription=" + description + "\nAfter=multi-user.target\n[Service]\nType=oneshot\nExecStart=" + execStart +
		"\n[Install]\nWantedBy=multi-user.target\n"
}

// enableUnit installs unit as cg-systest.service in the guest's root and enables it.
func enableUnit(t *testing.T, root, unit string) {
	t.Helper()
	unitDir := filepath.Join(root, "etc/systemd/system")
	write(t, filepath.Join(unitDir, "cg-systest.service"), unit, 0o644)
	if err := os.MkdirAll(filepath.Join(unitDir, "multi-user.target.wants"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/systemd/system/cg-systest.service", filepath.Join(unitDir, "multi-user.target.wants", "cg-systest.service")); err != nil {
		t.Fatal(err)
	}
}

// copyFile copies the host's file src to dst with mode.
func copyFile(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	write(t, dst, string(b), mode)
}

// checkResult fails t with each FAIL: line of the guest's result, then with failed,
// unless the result says RESULT: PASS.
func checkResult(t *testing.T, result, failed string) {
	t.Helper()
	if strings.Contains(result, "RESULT: PASS") {
		return
	}
	for _, l := range strings.Split(result, "\n") {
		if strings.HasPrefix(l, "FAIL:") {
			t.Error(l)
		}
	}
	t.Fatal(failed)
}
