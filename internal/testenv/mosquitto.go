package testenv

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// MosquittoBinary is where the Debian package installs the broker; PATH is searched
// first.
const MosquittoBinary = "/usr/sbin/mosquitto"

// EnvMQTT names an externally run broker (tcp://host:port) for the tests that do not
// need one of their own.
const EnvMQTT = "CAMPUSGUARD_TEST_MQTT"

// errCannotRun marks the errors that mean the broker cannot run here (a skip), as
// opposed to a broker that ran and failed (a test failure).
var errCannotRun = errors.New("cannot run")

// FindMosquitto returns the broker's binary: mosquitto on PATH, else MosquittoBinary.
func FindMosquitto() (string, error) {
	if p, err := exec.LookPath("mosquitto"); err == nil {
		return p, nil
	}
	if _, err := os.Stat(MosquittoBinary); err != nil {
		return "", fmt.Errorf("mosquitto is not installed (not on PATH nor at %s; or set %s): %w", MosquittoBinary, EnvMQTT, errCannotRun)
	}
	return MosquittoBinary, nil
}

// Mosquitto is a broker process on a loopback port, with its persistence in its own
// directory so that a restart keeps sessions and queued messages. Its log is kept for
// the test (Log, AwaitLog).
type Mosquitto struct {
	Port int    // its listener on 127.0.0.1
	Dir  string // its config and persistence

	t       testing.TB // nil for a SharedMosquitto's
	bin     string
	extra   string
	cmd     *exec.Cmd
	stopped chan struct{}

	mu      sync.Mutex
	lines   []string      // its log, across restarts
	changed chan struct{} // closed and replaced at every line
}

// StartMosquitto starts a broker of the test's own on a free loopback port, stopped
// when the test ends. extra is added to its config (listener options such as TLS
// files, log types).
func StartMosquitto(t testing.TB, extra string) *Mosquitto {
	t.Helper()
	bin, err := FindMosquitto()
	if err != nil {
		Unavailable(t, "%v", err)
	}
	m := &Mosquitto{Port: FreePort(t), Dir: t.TempDir(), t: t, bin: bin, extra: extra, changed: make(chan struct{})}
	m.mustStart()
	t.Cleanup(m.Stop)
	return m
}

// MQTTURL is $CAMPUSGUARD_TEST_MQTT when set, else the URL of a broker of the test's
// own.
func MQTTURL(t testing.TB) string {
	t.Helper()
	if u := os.Getenv(EnvMQTT); u != "" {
		return u
	}
	return StartMosquitto(t, "").URL("tcp")
}

// URL is the broker's address with scheme ("tcp", "ssl", ...).
func (m *Mosquitto) URL(scheme string) string {
	return scheme + "://" + m.Addr()
}

// Addr is the broker's host:port.
func (m *Mosquitto) Addr() string { return fmt.Sprintf("127.0.0.1:%d", m.Port) }

func (m *Mosquitto) mustStart() {
	m.t.Helper()
	if err := m.start(); err != nil {
		if errors.Is(err, errCannotRun) {
			Unavailable(m.t, "%v", err)
		}
		m.t.Fatal(err)
	}
}

// start writes the config and runs the broker until it says it is running.
func (m *Mosquitto) start() error {
	conf := filepath.Join(m.Dir, "mosquitto.conf")
	body := fmt.Sprintf(`user root
listener %d 127.0.0.1
allow_anonymous true
persistence true
persistence_location %s/
log_dest stderr
log_type error
log_type warning
log_type notice
log_type information
max_queued_messages 10000
%s
`, m.Port, m.Dir, m.extra)
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		return fmt.Errorf("testenv: mosquitto config: %w", err)
	}
	cmd := exec.Command(m.bin, "-c", conf)
	// stderr: unbuffered, so the "running" line arrives at once.
	out, err := cmd.StderrPipe()
	if err != nil {
		return fmt.Errorf("testenv: mosquitto: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("cannot start mosquitto: %v: %w", err, errCannotRun)
	}
	m.cmd = cmd
	m.stopped = make(chan struct{})
	ready := make(chan struct{})
	var log strings.Builder
	go func() {
		sc := bufio.NewScanner(out)
		signalled := false
		for sc.Scan() {
			line := sc.Text()
			m.mu.Lock()
			m.lines = append(m.lines, line)
			close(m.changed)
			m.changed = make(chan struct{})
			m.mu.Unlock()
			if !signalled {
				log.WriteString(line + "\n")
			}
			// "Opening ipv4 listen socket" comes before the socket listens.
			if !signalled && strings.Contains(line, "running") {
				signalled = true
				close(ready)
			}
		}
		_, _ = io.Copy(io.Discard, out)
		if !signalled {
			close(ready)
		}
	}()
	stopped := m.stopped
	go func() {
		_ = cmd.Wait()
		close(stopped)
	}()
	select {
	case <-ready:
	case <-time.After(Guard):
		m.Stop()
		return errors.New("testenv: mosquitto did not start")
	}
	select {
	case <-stopped:
		m.cmd = nil
		return fmt.Errorf("testenv: mosquitto exited at start:\n%s", log.String())
	default:
	}
	return nil
}

// Log returns the broker's log lines so far, across restarts.
func (m *Mosquitto) Log() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.lines...)
}

// Mark is a position in the broker's log, for AwaitLog.
func (m *Mosquitto) Mark() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.lines)
}

// AwaitLog waits for a line of the broker's log after mark that contains s.
func (m *Mosquitto) AwaitLog(mark int, s string) {
	m.t.Helper()
	timeout := time.After(Guard)
	for {
		m.mu.Lock()
		for _, l := range m.lines[mark:] {
			if strings.Contains(l, s) {
				m.mu.Unlock()
				return
			}
		}
		mark = len(m.lines)
		ch := m.changed
		m.mu.Unlock()
		select {
		case <-ch:
		case <-timeout:
			m.t.Fatalf("mosquitto did not log %q", s)
		}
	}
}

// Stop ends the broker with SIGINT (it saves its persistence file) and waits. The
// signal is sent again while it runs: one that arrives just before the broker waits
// for its sockets is only seen when the wait ends.
func (m *Mosquitto) Stop() {
	if m.cmd == nil {
		return
	}
	again := time.NewTicker(200 * time.Millisecond)
	defer again.Stop()
	giveUp := time.After(Guard)
	for stopping := true; stopping; {
		_ = m.cmd.Process.Signal(os.Interrupt)
		select {
		case <-m.stopped:
			stopping = false
		case <-again.C:
		case <-giveUp:
			_ = m.cmd.Process.Kill()
			<-m.stopped
			stopping = false
		}
	}
	m.cmd = nil
}

// Restart stops the broker and starts it again on the same port; wipe drops its
// persistence (sessions and queued messages are lost).
func (m *Mosquitto) Restart(wipe bool) {
	m.t.Helper()
	m.Stop()
	if wipe {
		_ = os.Remove(filepath.Join(m.Dir, "mosquitto.db"))
	}
	m.mustStart()
}

// SharedMosquitto is one broker for a whole test binary, started at the first URL
// call: for packages whose tests need a broker but not one each. Declare it as a
// package variable and call Close from TestMain after m.Run.
type SharedMosquitto struct {
	once sync.Once
	m    *Mosquitto
	url  string
	err  error
}

// URL is $CAMPUSGUARD_TEST_MQTT when set, else the shared broker's address. When no
// broker can run, t is skipped (failed when CI=true).
func (s *SharedMosquitto) URL(t testing.TB) string {
	t.Helper()
	s.once.Do(func() {
		if u := os.Getenv(EnvMQTT); u != "" {
			s.url = u
			return
		}
		s.url, s.err = s.start()
	})
	if s.err != nil {
		if errors.Is(s.err, errCannotRun) {
			Unavailable(t, "%v", s.err)
		}
		t.Fatal(s.err)
	}
	return s.url
}

func (s *SharedMosquitto) start() (string, error) {
	bin, err := FindMosquitto()
	if err != nil {
		return "", err
	}
	port, err := freePort()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "cg-mosquitto")
	if err != nil {
		return "", fmt.Errorf("testenv: mosquitto dir: %w", err)
	}
	s.m = &Mosquitto{Port: port, Dir: dir, bin: bin, changed: make(chan struct{})}
	if err := s.m.start(); err != nil {
		return "", err
	}
	return s.m.URL("tcp"), nil
}

// Close stops the shared broker, if one was started, and removes its directory.
func (s *SharedMosquitto) Close() {
	if s.m == nil {
		return
	}
	s.m.Stop()
	_ = os.RemoveAll(s.m.Dir)
}
