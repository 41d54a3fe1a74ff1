package testenv

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// EnvInflux names an externally run InfluxDB (http://127.0.0.1:PORT) tests may use.
const EnvInflux = "CAMPUSGUARD_TEST_INFLUX"

// InfluxBinary is the influxd installed on the development machines and in CI; PATH
// is searched when it is not there.
const InfluxBinary = "/root/go/bin/influxd"

// Influx is a running InfluxDB 1.8 server, with helpers to create databases and count
// points with InfluxQL over HTTP /query.
type Influx struct {
	URL string

	t        testing.TB
	dir      string
	httpAddr string
	rpcAddr  string
	cmd      *exec.Cmd
	exited   chan struct{}
	logPath  string
}

// findInflux returns InfluxBinary, else influxd on PATH.
func findInflux() (string, error) {
	if _, err := os.Stat(InfluxBinary); err == nil {
		return InfluxBinary, nil
	}
	p, err := exec.LookPath("influxd")
	if err != nil {
		return "", fmt.Errorf("InfluxDB is not installed (no influxd at %s or on PATH; or set %s)", InfluxBinary, EnvInflux)
	}
	return p, nil
}

// StartInflux returns a server for the test: the one named by
// $CAMPUSGUARD_TEST_INFLUX when set, else an influxd of its own (see StartOwnInflux).
func StartInflux(t testing.TB) *Influx {
	t.Helper()
	if u := os.Getenv(EnvInflux); u != "" {
		s := &Influx{URL: strings.TrimRight(u, "/"), t: t}
		if err := s.waitPing(10 * time.Second); err != nil {
			Unavailable(t, "InfluxDB %s=%s does not answer: %v", EnvInflux, u, err)
		}
		return s
	}
	return StartOwnInflux(t)
}

// StartOwnInflux starts an influxd process of the test's own (needed to stop and
// restart it), stopped at the end of the test.
func StartOwnInflux(t testing.TB) *Influx {
	t.Helper()
	bin, err := findInflux()
	if err != nil {
		Unavailable(t, "%v", err)
	}
	dir := t.TempDir()
	s := &Influx{t: t, dir: dir, httpAddr: FreeAddr(t), rpcAddr: FreeAddr(t), logPath: filepath.Join(dir, "influxd.log")}
	s.URL = "http://" + s.httpAddr
	conf := fmt.Sprintf(`reporting-disabled = true
bind-address = %q
[meta]
  dir = %q
  logging-enabled = false
[data]
  dir = %q
  wal-dir = %q
  query-log-enabled = false
  trace-logging-enabled = false
[monitor]
  store-enabled = false
[subscriber]
  enabled = false
[continuous_queries]
  enabled = false
[http]
  bind-address = %q
  log-enabled = false
  pprof-enabled = false
[logging]
  level = "warn"
`, s.rpcAddr, filepath.Join(dir, "meta"), filepath.Join(dir, "data"), filepath.Join(dir, "wal"), s.httpAddr)
	cfg := filepath.Join(dir, "influxdb.conf")
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	s.start(bin, cfg)
	t.Cleanup(s.Stop)
	return s
}

func (s *Influx) start(bin, cfg string) {
	s.t.Helper()
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		s.t.Fatal(err)
	}
	cmd := exec.Command(bin, "-config", cfg)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(os.Environ(), "INFLUXDB_REPORTING_DISABLED=true")
	if err := cmd.Start(); err != nil {
		logf.Close()
		Unavailable(s.t, "InfluxDB cannot start: %s: %v", bin, err)
	}
	s.cmd = cmd
	s.exited = make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(s.exited) }()
	if err := s.waitPing(30 * time.Second); err != nil {
		s.Stop()
		log, _ := os.ReadFile(s.logPath)
		s.t.Fatalf("influxd did not answer /ping: %v\n%s", err, tail(log, 2000))
	}
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// waitPing polls /ping until it answers 204, for at most d.
func (s *Influx) waitPing(d time.Duration) error {
	deadline := time.Now().Add(d)
	c := http.Client{Timeout: time.Second}
	var last error
	for time.Now().Before(deadline) {
		if s.exited != nil {
			select {
			case <-s.exited:
				return fmt.Errorf("influxd exited")
			default:
			}
		}
		resp, err := c.Get(s.URL + "/ping")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusNoContent {
				return nil
			}
			err = fmt.Errorf("/ping: %s", resp.Status)
		}
		last = err
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("no answer within %s: %v", d, last)
}

// Own reports whether the test runs this server (and may stop and restart it).
func (s *Influx) Own() bool { return s.dir != "" }

// Stop terminates the server and waits for it to exit (a no-op for an external one).
func (s *Influx) Stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(20 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
	s.cmd = nil
}

// Restart starts the server again on the same ports and directories.
func (s *Influx) Restart() {
	s.t.Helper()
	if s.dir == "" {
		s.t.Fatal("testenv: cannot restart an external InfluxDB")
	}
	s.Stop()
	bin, err := findInflux()
	if err != nil {
		s.t.Fatal(err)
	}
	s.start(bin, filepath.Join(s.dir, "influxdb.conf"))
}

// CreateDB creates a database (a fresh, unique name per test keeps tests apart).
func (s *Influx) CreateDB(name string) {
	s.t.Helper()
	if _, err := s.Query("", "CREATE DATABASE "+quoteIdent(name)); err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { _, _ = s.Query("", "DROP DATABASE "+quoteIdent(name)) })
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }

// InfluxResult is one statement's result of /query.
type InfluxResult struct {
	Series []InfluxSeries `json:"series"`
	Error  string         `json:"error"`
}

// InfluxSeries is one series of a result.
type InfluxSeries struct {
	Name    string            `json:"name"`
	Tags    map[string]string `json:"tags"`
	Columns []string          `json:"columns"`
	Values  [][]any           `json:"values"`
}

// Query runs InfluxQL q against db over HTTP /query (epoch=ns) and returns the first
// statement's result.
func (s *Influx) Query(db, q string) (InfluxResult, error) {
	v := url.Values{"q": {q}, "epoch": {"ns"}}
	if db != "" {
		v.Set("db", db)
	}
	resp, err := http.Post(s.URL+"/query", "application/x-www-form-urlencoded", strings.NewReader(v.Encode()))
	if err != nil {
		return InfluxResult{}, fmt.Errorf("query %q: %w", q, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return InfluxResult{}, fmt.Errorf("query %q: %s: %s", q, resp.Status, body)
	}
	var out struct {
		Results []InfluxResult `json:"results"`
		Error   string         `json:"error"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		return InfluxResult{}, fmt.Errorf("query %q: %w", q, err)
	}
	if out.Error != "" {
		return InfluxResult{}, fmt.Errorf("query %q: %s", q, out.Error)
	}
	if len(out.Results) == 0 {
		return InfluxResult{}, nil
	}
	if out.Results[0].Error != "" {
		return out.Results[0], fmt.Errorf("query %q: %s", q, out.Results[0].Error)
	}
	return out.Results[0], nil
}

// Count runs a "SELECT count(x) ..." query and returns the count (0 when no rows).
func (s *Influx) Count(db, q string) (int64, error) {
	r, err := s.Query(db, q)
	if err != nil {
		return 0, err
	}
	if len(r.Series) == 0 || len(r.Series[0].Values) == 0 || len(r.Series[0].Values[0]) < 2 {
		return 0, nil
	}
	n, ok := r.Series[0].Values[0][1].(json.Number)
	if !ok {
		return 0, fmt.Errorf("count %q: unexpected value %v", q, r.Series[0].Values[0][1])
	}
	return n.Int64()
}
