//go:build linux

// Package systest boots a real systemd (Debian in systemd-nspawn), installs the
// campusguard .deb and checks the unit's life cycle: READY, /healthz, SIGHUP reload,
// the watchdog restarting a stalled daemon, a clean stop, and the unit's
// systemd-analyze security rating. It runs only when CAMPUSGUARD_TEST_SYSTEMD_DEB
// names the amd64 .deb (.ci/run builds it and sets it), as root.
package systest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// cacheDir keeps the Debian root file system between runs on one machine, named by
// its package list.
const cacheDir = "/var/cache/campusguard-ci"

// packages are the guest's besides the .deb: an init, a bus, the .deb's dependencies
// (installed with dpkg -i, so a missing one fails the test) and curl for /healthz.
var packages = []string{"systemd", "systemd-sysv", "dbus", "procps", "curl"}

func defaultRootfs() string {
	sum := sha256.Sum256([]byte(strings.Join(packages, ",")))
	return filepath.Join(cacheDir, fmt.Sprintf("bookworm-%x.tar", sum[:4]))
}

var guestUnit = oneshotUnit("campusguard system test", "/bin/bash -c '/systest/guest.sh >/systest/result.log 2>&1; systemctl poweroff --no-block'")

func TestDebUnderSystemd(t *testing.T) {
	deb := needDeb(t, "CAMPUSGUARD_TEST_SYSTEMD_DEB",
		"set CAMPUSGUARD_TEST_SYSTEMD_DEB to the amd64 .deb to boot a real systemd (.ci/run does)",
		"booting systemd-nspawn", []string{"systemd-nspawn", "mmdebstrap", "tar"}, "systemd-container mmdebstrap")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()

	tarball := os.Getenv("CAMPUSGUARD_TEST_ROOTFS")
	if tarball == "" {
		tarball = defaultRootfs()
	}
	if err := buildRootfs(ctx, t, tarball, packages); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	shared := filepath.Join(dir, "systest")
	for _, d := range []string{root, shared} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	run(ctx, t, "tar", "-C", root, "-xf", tarball)
	t.Cleanup(func() { _ = exec.Command("rm", "-rf", root).Run() })

	enableUnit(t, root, guestUnit)
	copyFile(t, "guest.sh", filepath.Join(shared, "guest.sh"), 0o755)
	copyFile(t, deb, filepath.Join(shared, "campusguard.deb"), 0o644)
	// The guest shares the host's network: /healthz listens on a free loopback port.
	write(t, filepath.Join(shared, "env"), fmt.Sprintf("DEB=/systest/campusguard.deb\nPORT=%d\n", freePort(t)), 0o644)

	machine := fmt.Sprintf("cgsystest%d", os.Getpid())
	cmd := exec.CommandContext(ctx, "systemd-nspawn", "--quiet", "-D", root, "--boot",
		"--register=no", "--keep-unit", "-M", machine, "--bind="+shared+":/systest", "--console=pipe")
	var console bytes.Buffer
	cmd.Stdout, cmd.Stderr = &console, &console
	start := time.Now()
	err := cmd.Run()
	t.Logf("guest ran %s (systemd-nspawn: %v)", time.Since(start).Round(time.Second), err)
	result, rerr := os.ReadFile(filepath.Join(shared, "result.log"))
	if rerr != nil {
		t.Fatalf("the guest wrote no result (%v); console:\n%s", rerr, console.String())
	}
	t.Logf("guest:\n%s", result)
	checkResult(t, string(result), "the unit failed under systemd")
}

// buildRootfs builds a Debian rootfs tarball with mmdebstrap when it is not cached.
func buildRootfs(ctx context.Context, t *testing.T, tarball string, packages []string) error {
	if _, err := os.Stat(tarball); err == nil {
		return nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(tarball), 0o755); err != nil {
		return err
	}
	tmp := strings.TrimSuffix(tarball, ".tar") + ".partial.tar"
	t.Logf("building %s with mmdebstrap (cached for later runs)", tarball)
	cmd := exec.CommandContext(ctx, "mmdebstrap", "--variant=minbase", "--format=tar", "--include="+strings.Join(packages, ","), "bookworm", tmp)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("mmdebstrap: %v\n%s", err, out)
	}
	return os.Rename(tmp, tarball)
}

func run(ctx context.Context, t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.CommandContext(ctx, name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

func write(t *testing.T, path, data string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
