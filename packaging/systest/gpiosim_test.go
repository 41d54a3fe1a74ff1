//go:build linux

package systest

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// vmPackages are the VM's: the guest of systemd_test.go plus Debian's kernel, udev
// (the package's rule for /dev/gpiochip*), kmod, and what builds the gpio-sim module
// for that kernel (its headers, its source, make).
var vmPackages = []string{"systemd", "systemd-sysv", "dbus", "procps", "curl", "udev", "kmod",
	"linux-image-amd64", "linux-headers-amd64", "linux-source-6.1", "make", "xz-utils"}

var vmUnit = oneshotUnit("campusguard GPIO test", "/systest/gpiosim-guest.sh")

// TestGPIOSimInVM boots Debian's kernel under qemu, makes real GPIO character devices
// with its gpio-sim driver, installs the .deb and presses a panic button wired to a
// simulated line: the daemon must drive the siren line. It runs only when
// CAMPUSGUARD_TEST_GPIOSIM_DEB names the amd64 .deb, as root, with qemu-system-x86_64.
func TestGPIOSimInVM(t *testing.T) {
	deb := needDeb(t, "CAMPUSGUARD_TEST_GPIOSIM_DEB",
		"set CAMPUSGUARD_TEST_GPIOSIM_DEB to the amd64 .deb to press a button on gpio-sim lines in a VM",
		"building the VM image", []string{"qemu-system-x86_64", "mkfs.ext4", "debugfs", "mmdebstrap"}, "qemu-system-x86 e2fsprogs mmdebstrap")
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
	defer cancel()
	sum := sha256.Sum256([]byte(strings.Join(vmPackages, ",")))
	tarball := filepath.Join(cacheDir, fmt.Sprintf("vm-bookworm-%x.tar", sum[:4]))
	if err := buildRootfs(ctx, t, tarball, vmPackages); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	if err := os.MkdirAll(filepath.Join(root, "systest"), 0o755); err != nil {
		t.Fatal(err)
	}
	run(ctx, t, "tar", "-C", root, "-xf", tarball)
	t.Cleanup(func() { _ = exec.Command("rm", "-rf", root).Run() })
	kernels, _ := filepath.Glob(filepath.Join(root, "boot", "vmlinuz-*"))
	initrds, _ := filepath.Glob(filepath.Join(root, "boot", "initrd.img-*"))
	if len(kernels) == 0 || len(initrds) == 0 {
		t.Fatalf("no kernel or initrd in the rootfs (%v, %v)", kernels, initrds)
	}
	// Debian's kernels do not ship gpio-sim: build it for the VM's kernel in its root.
	copyFile(t, "build-gpio-sim.sh", filepath.Join(root, "systest", "build-gpio-sim.sh"), 0o755)
	run(ctx, t, "chroot", root, "/systest/build-gpio-sim.sh")

	enableUnit(t, root, vmUnit)
	// No login prompt on the serial console: it would only slow the boot.
	_ = os.Remove(filepath.Join(root, "etc/systemd/system/getty.target.wants/getty@tty1.service"))
	copyFile(t, "gpiosim-guest.sh", filepath.Join(root, "systest", "gpiosim-guest.sh"), 0o755)
	copyFile(t, deb, filepath.Join(root, "systest", "campusguard.deb"), 0o644)

	img := filepath.Join(dir, "root.img")
	run(ctx, t, "mkfs.ext4", "-q", "-F", "-L", "root", "-d", root, img, "3G")
	// Software emulation: slower, but it runs wherever qemu does. (KVM inside this
	// kind of VM opened /dev/kvm and then hung without a line on the console.)
	accel := "tcg"
	console := filepath.Join(dir, "console.log")
	cmd := exec.CommandContext(ctx, "qemu-system-x86_64", "-accel", accel, "-cpu", "max", "-m", "1024", "-smp", "2",
		"-kernel", kernels[0], "-initrd", initrds[0],
		"-append", "root=/dev/vda rw console=ttyS0 panic=-1 systemd.show_status=0",
		"-drive", "file="+img+",format=raw,if=virtio", "-display", "none", "-monitor", "none",
		"-serial", "file:"+console, "-no-reboot")
	start := time.Now()
	out, err := cmd.CombinedOutput()
	t.Logf("VM (%s) ran %s (qemu: %v %s)", accel, time.Since(start).Round(time.Second), err, out)
	res, derr := exec.CommandContext(ctx, "debugfs", "-R", "cat /systest/result.log", img).Output()
	if derr != nil || len(res) == 0 {
		c, _ := os.ReadFile(console)
		t.Fatalf("the VM wrote no result (%v); console tail:\n%s", derr, tail(string(c), 60))
	}
	t.Logf("guest:\n%s", res)
	checkResult(t, string(res), "GPIO through gpio-sim failed")
}

func tail(s string, n int) string {
	l := strings.Split(s, "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}
