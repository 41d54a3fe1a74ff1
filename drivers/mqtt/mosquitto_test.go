package mqtt

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

const mosquittoBin = "/usr/sbin/mosquitto"

// needServer skips (or fails under CI=true) when a test server is unavailable.
func needServer(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true and %s", msg)
	}
	t.Skip(msg)
}

// mosquitto is a broker process owned by a test, with persistence in its own dir so a
// restart keeps sessions and queued messages.
type mosquitto struct {
	t       *testing.T
	port    int
	dir     string
	extra   string
	cmd     *exec.Cmd
	stopped chan struct{}

	mu      sync.Mutex
	lines   []string      // its log, across restarts
	changed chan struct{} // closed and replaced at every line
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startMosquitto starts a broker on a free loopback port. extra is added to its config
// (listener options such as TLS files).
func startMosquitto(t *testing.T, extra string) *mosquitto {
	t.Helper()
	if _, err := os.Stat(mosquittoBin); err != nil {
		needServer(t, "mosquitto is not installed at %s", mosquittoBin)
	}
	m := &mosquitto{t: t, port: freePort(t), dir: t.TempDir(), extra: extra, changed: make(chan struct{})}
	m.start()
	t.Cleanup(m.stop)
	return m
}

func (m *mosquitto) url(scheme string) string {
	return fmt.Sprintf("%s://127.0.0.1:%d", scheme, m.port)
}

func (m *mosquitto) start() {
	t := m.t
	t.Helper()
	conf := filepath.Join(m.dir, "mosquitto.conf")
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
`, m.port, m.dir, m.extra)
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(mosquittoBin, "-c", conf)
	// stderr: unbuffered, so the "running" line arrives at once.
	out, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		needServer(t, "cannot start mosquitto: %v", err)
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
	go func() {
		_ = cmd.Wait()
		close(m.stopped)
	}()
	select {
	case <-ready:
	case <-time.After(20 * time.Second):
		t.Fatalf("mosquitto did not start")
	}
	select {
	case <-m.stopped:
		t.Fatalf("mosquitto exited at start:\n%s", log.String())
	default:
	}
}

// mark is a position in the broker's log, for awaitLog.
func (m *mosquitto) mark() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.lines)
}

// awaitLog waits for a line of the broker's log after mark that contains s.
func (m *mosquitto) awaitLog(mark int, s string) {
	m.t.Helper()
	timeout := time.After(awaitTimeout)
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

// stopClient stops h and waits until the broker is done with its connection (read
// everything it sent, PUBACKs included): a new connection of the same client id could
// otherwise take the session over before, and the broker would drop what it had not
// read yet.
func (m *mosquitto) stopClient(h *harness, clientID string) {
	m.t.Helper()
	mk := m.mark()
	h.stop()
	m.awaitLog(mk, "Client "+clientID+" disconnected")
}

// stop ends the broker with SIGTERM (it saves its persistence file) and waits.
func (m *mosquitto) stop() {
	if m.cmd == nil {
		return
	}
	_ = m.cmd.Process.Signal(os.Interrupt)
	select {
	case <-m.stopped:
	case <-time.After(20 * time.Second):
		_ = m.cmd.Process.Kill()
		<-m.stopped
	}
	m.cmd = nil
}

// restart stops the broker and starts it again on the same port; wipe drops its
// persistence (sessions and queued messages are lost).
func (m *mosquitto) restart(wipe bool) {
	m.stop()
	if wipe {
		_ = os.Remove(filepath.Join(m.dir, "mosquitto.db"))
	}
	m.start()
}

// testBrokerURL is CAMPUSGUARD_TEST_MQTT when set, else a broker of the test's own.
func testBrokerURL(t *testing.T) string {
	if u := os.Getenv("CAMPUSGUARD_TEST_MQTT"); u != "" {
		return u
	}
	return startMosquitto(t, "").url("tcp")
}

// testPublisher is a plain client that publishes test messages at QoS 1.
func testPublisher(t *testing.T, url string) paho.Client {
	t.Helper()
	o := paho.NewClientOptions().AddBroker(url).SetClientID(fmt.Sprintf("test-pub-%d", time.Now().UnixNano())).
		SetCleanSession(true).SetAutoReconnect(true).SetConnectRetry(true).SetConnectRetryInterval(100 * time.Millisecond)
	c := paho.NewClient(o)
	tok := c.Connect()
	if !tok.WaitTimeout(20*time.Second) || tok.Error() != nil {
		t.Fatalf("test publisher: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

func publish(t *testing.T, c paho.Client, topic string, qos byte, payload string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tok := c.Publish(topic, qos, false, payload)
	select {
	case <-tok.Done():
		if err := tok.Error(); err != nil {
			t.Fatalf("publish %s: %v", topic, err)
		}
	case <-ctx.Done():
		t.Fatalf("publish %s: no PUBACK", topic)
	}
}
