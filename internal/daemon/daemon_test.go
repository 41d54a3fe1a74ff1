package daemon_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/campusguard/campusguard/internal/testenv"
)

// binary is the campusguard command built once for the tests that run it as a child
// process (real signals, real exit).
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "cg-daemon-test")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "campusguard")
	out, err := exec.Command("go", "build", "-o", binary, "github.com/campusguard/campusguard/cmd/campusguard").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building campusguard: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const siteTmpl = `site:
  id: t01
  name: %s
  zones:
    - id: gate
      number: 1
devices:
  - id: panic-gate
    kind: panic
    zone: gate
    driver: sim
    heartbeat: -1s
state_dir: %s
http:
  listen: %s
`

// child is a daemon running as a child process; its log lines arrive on lines.
type child struct {
	cmd   *exec.Cmd
	lines chan string
	http  string
}

func startChild(t *testing.T, cfgPath, httpAddr string) *child {
	t.Helper()
	// A gateway's config needs its rules directory (the built-in rules need no file).
	if err := os.MkdirAll(filepath.Join(filepath.Dir(cfgPath), "rules"), 0o755); err != nil {
		t.Fatal(err)
	}
	c := spawnChild(t, cfgPath, httpAddr, false)
	c.await(t, "campusguard ready")
	return c
}

// spawnChild runs the daemon on cfgPath as a child process, its log lines on lines,
// and kills it when the test ends. With drop, a line that finds lines full is dropped
// (nobody reads a killed child's log); without, the child waits for the reader.
func spawnChild(t *testing.T, cfgPath, httpAddr string, drop bool) *child {
	t.Helper()
	cmd := exec.Command(binary, "run", "--config", cfgPath)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, lines: make(chan string, 1000), http: httpAddr}
	go func() {
		s := bufio.NewScanner(stderr)
		for s.Scan() {
			if !drop {
				c.lines <- s.Text()
				continue
			}
			select {
			case c.lines <- s.Text():
			default:
			}
		}
		close(c.lines)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_, _ = cmd.Process.Wait()
	})
	return c
}

// await reads log lines until one contains want (or the child exits / 30 s pass).
func (c *child) await(t *testing.T, want string) string {
	t.Helper()
	deadline := time.After(30 * time.Second)
	var seen []string
	for {
		select {
		case l, ok := <-c.lines:
			if !ok {
				t.Fatalf("daemon exited before logging %q; its last lines:\n%s", want, strings.Join(seen[max(0, len(seen)-10):], "\n"))
			}
			if strings.Contains(l, want) {
				return l
			}
			seen = append(seen, l)
		case <-deadline:
			t.Fatalf("no log line with %q within 30s", want)
		}
	}
}

func (c *child) siteName(t *testing.T) (string, int) {
	t.Helper()
	resp, err := http.Get("http://" + c.http + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var rep struct {
		Components map[string]struct {
			State  string         `json:"state"`
			Detail map[string]any `json:"detail"`
		} `json:"components"`
	}
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("healthz: %v\n%s", err, b)
	}
	d := rep.Components["config"].Detail
	gen, _ := d["generation"].(float64)
	name, _ := d["site_name"].(string)
	return name, int(gen)
}

// TestReloadKeepsRunningConfigOnError: SIGHUP with a broken config is rejected and the
// old config keeps serving; then a good config takes effect.
func TestReloadKeepsRunningConfigOnError(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "campusguard.yaml")
	addr := testenv.FreeAddr(t)
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(cfgPath, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(fmt.Sprintf(siteTmpl, "旧校名", filepath.Join(dir, "state"), addr))
	c := startChild(t, cfgPath, addr)
	if name, gen := c.siteName(t); name != "旧校名" || gen != 1 {
		t.Fatalf("serving %q generation %d", name, gen)
	}

	// A broken config: an unknown device kind.
	write(strings.Replace(fmt.Sprintf(siteTmpl, "新校名", filepath.Join(dir, "state"), addr), "kind: panic", "kind: panik", 1))
	if err := c.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	line := c.await(t, "config reload rejected")
	if !strings.Contains(line, "devices[0].kind") || !strings.Contains(line, "campusguard.yaml:9") {
		t.Errorf("rejection does not name file, line and key: %s", line)
	}
	if name, gen := c.siteName(t); name != "旧校名" || gen != 1 {
		t.Fatalf("after a rejected reload serving %q generation %d, want the old config", name, gen)
	}

	// A good one.
	write(fmt.Sprintf(siteTmpl, "新校名", filepath.Join(dir, "state"), addr))
	if err := c.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	c.await(t, "config reloaded")
	if name, gen := c.siteName(t); name != "新校名" || gen != 2 {
		t.Fatalf("after a good reload serving %q generation %d", name, gen)
	}

	// SIGTERM stops it cleanly.
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	c.await(t, "stopped cleanly")
	if err := c.cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
}

// TestReloadOnFileChange: editing the config file reloads it without a signal.
func TestReloadOnFileChange(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "campusguard.yaml")
	addr := testenv.FreeAddr(t)
	if err := os.WriteFile(cfgPath, []byte(fmt.Sprintf(siteTmpl, "A", filepath.Join(dir, "state"), addr)), 0o600); err != nil {
		t.Fatal(err)
	}
	c := startChild(t, cfgPath, addr)
	if err := os.WriteFile(cfgPath, []byte(fmt.Sprintf(siteTmpl, "B校区", filepath.Join(dir, "state"), addr)), 0o600); err != nil {
		t.Fatal(err)
	}
	c.await(t, "config reloaded")
	if name, _ := c.siteName(t); name != "B校区" {
		t.Fatalf("serving %q after the file changed", name)
	}
}

// TestCheckListsEveryProblem: `campusguard check` exits 3 and names each problem.
func TestCheckListsEveryProblem(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "campusguard.yaml")
	bad := strings.NewReplacer("kind: panic", "kind: panik", "zone: gate\n    driver", "zone: gaet\n    driver").
		Replace(fmt.Sprintf(siteTmpl, "x", dir, "localhost"))
	if err := os.WriteFile(cfgPath, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(binary, "check", "--config", cfgPath).CombinedOutput()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 3 {
		t.Fatalf("check exit: %v\n%s", err, out)
	}
	for _, want := range []string{"campusguard.yaml:9: devices[0].kind", "campusguard.yaml:10: devices[0].zone", "campusguard.yaml:15: http.listen"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("check output lacks %q:\n%s", want, out)
		}
	}
}

// TestReloadOnRuleFileChange: editing a rule file (rules_dir, here not the default)
// reloads the rules; a broken rule is refused with its file and line.
func TestReloadOnRuleFileChange(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "campusguard.yaml")
	addr := testenv.FreeAddr(t)
	rulesDir := filepath.Join(dir, "alarm-rules")
	if err := os.MkdirAll(rulesDir, 0o755); err != nil {
		t.Fatal(err)
	}
	rule := func(name, when string) string {
		return "rules:\n  - name: " + name + "\n    severity: critical\n    select: {kinds: [panic]}\n    when: " + when + "\n    resolve: type == \"tamper_restore\"\n"
	}
	rulePath := filepath.Join(rulesDir, "panic.yaml")
	if err := os.WriteFile(rulePath, []byte(rule("panic-a", `type == "tamper"`)), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(siteTmpl, "A", filepath.Join(dir, "state"), addr) + "rules_dir: alarm-rules\n"
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	c := startChild(t, cfgPath, addr)
	if err := os.WriteFile(rulePath, []byte(rule("panic-b", `type == 3`)), 0o600); err != nil {
		t.Fatal(err)
	}
	if line := c.await(t, "config reload rejected"); !strings.Contains(line, "panic.yaml:5") {
		t.Errorf("rejection does not name the rule file and line: %s", line)
	}
	if err := os.WriteFile(rulePath, []byte(rule("panic-b", `type == "tamper"`)), 0o600); err != nil {
		t.Fatal(err)
	}
	c.await(t, "config reloaded")
}
