package mqttsink

import (
	"context"
	"os"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/campusguard/campusguard/internal/testenv"
)

// shared is the package's Mosquitto, started by the first test that needs one.
var shared testenv.SharedMosquitto

// TestMain stops the broker the tests started.
func TestMain(m *testing.M) {
	code := m.Run()
	shared.Close()
	os.Exit(code)
}

// broker returns the URL of a real Mosquitto: CAMPUSGUARD_TEST_MQTT when set, else the
// package's own. Without one the test skips, or fails when CI=true.
func broker(t testing.TB) string {
	t.Helper()
	return shared.URL(t)
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
