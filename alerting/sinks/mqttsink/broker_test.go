package mqttsink

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

const mosquittoPath = "/usr/sbin/mosquitto"

var (
	brokerOnce sync.Once
	brokerURL  string
	brokerErr  error
	brokerCmd  *exec.Cmd
	brokerDir  string
)

// TestMain stops the broker the tests started.
func TestMain(m *testing.M) {
	code := m.Run()
	if brokerCmd != nil {
		_ = brokerCmd.Process.Kill()
		_ = brokerCmd.Wait()
	}
	if brokerDir != "" {
		_ = os.RemoveAll(brokerDir)
	}
	os.Exit(code)
}

// broker returns the URL of a real Mosquitto: CAMPUSGUARD_TEST_MQTT when set, else one
// started on a free loopback port. Without one the test skips, or fails when CI=true.
func broker(t testing.TB) string {
	t.Helper()
	brokerOnce.Do(func() {
		if u := os.Getenv("CAMPUSGUARD_TEST_MQTT"); u != "" {
			brokerURL = u
			return
		}
		brokerURL, brokerErr = startMosquitto()
	})
	if brokerErr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no MQTT broker: %v", brokerErr)
		}
		t.Skipf("no MQTT broker (set CAMPUSGUARD_TEST_MQTT or install %s): %v", mosquittoPath, brokerErr)
	}
	return brokerURL
}

func startMosquitto() (string, error) {
	if _, err := os.Stat(mosquittoPath); err != nil {
		return "", err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dir, err := os.MkdirTemp("", "cg-mosquitto")
	if err != nil {
		return "", err
	}
	brokerDir = dir
	conf := filepath.Join(dir, "mosquitto.conf")
	body := fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stderr\nlog_type all\n", port)
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		return "", err
	}
	cmd := exec.Command(mosquittoPath, "-c", conf)
	out, err := cmd.StderrPipe() // stderr is unbuffered; stdout to a pipe is not
	if err != nil {
		return "", err
	}
	if err := cmd.Start(); err != nil {
		return "", err
	}
	brokerCmd = cmd
	// Ready when it logs that it is running ("Opening ipv4 listen socket" comes before
	// the socket listens).
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		said := false
		for sc.Scan() {
			if !said && strings.Contains(sc.Text(), "running") {
				said = true
				ready <- true
			}
		}
		if !said {
			ready <- false
		}
	}()
	select {
	case ok := <-ready:
		if !ok {
			return "", fmt.Errorf("mosquitto exited: %v", cmd.Wait())
		}
	case <-time.After(15 * time.Second):
		return "", fmt.Errorf("mosquitto did not start")
	}
	return fmt.Sprintf("tcp://127.0.0.1:%d", port), nil
}

// watcher is a plain paho client that records what arrives on its subscriptions.
type watcher struct {
	c  mqtt.Client
	ch chan mqtt.Message
}

func newWatcher(t *testing.T, url, id string) *watcher {
	t.Helper()
	w := &watcher{ch: make(chan mqtt.Message, 64)}
	w.c = mqtt.NewClient(mqtt.NewClientOptions().AddBroker(url).SetClientID(id).SetCleanSession(true))
	if tok := w.c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("watcher connect: %v", tok.Error())
	}
	t.Cleanup(func() { w.c.Disconnect(100) })
	return w
}

func (w *watcher) subscribe(t *testing.T, filter string) {
	t.Helper()
	tok := w.c.Subscribe(filter, 1, func(_ mqtt.Client, m mqtt.Message) { w.ch <- m })
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe %s: %v", filter, tok.Error())
	}
}

func (w *watcher) publish(t *testing.T, topic string, retained bool, payload []byte) {
	t.Helper()
	tok := w.c.Publish(topic, 1, retained, payload)
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish %s: %v", topic, tok.Error())
	}
}

func (w *watcher) next(t *testing.T) mqtt.Message {
	t.Helper()
	select {
	case m := <-w.ch:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no message arrived")
		return nil
	}
}

func connectClient(t testing.TB, url, id string) *PahoClient {
	t.Helper()
	cfg := ClientConfig{URL: url, ClientID: id, KeepAlive: 30 * time.Second, ConnectTimeout: 5 * time.Second}
	c, err := NewPahoClient(cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}
