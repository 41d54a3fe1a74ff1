package mqtt

import (
	"context"
	"fmt"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/campusguard/campusguard/internal/testenv"
)

// stopClient stops h and waits until the broker m is done with its connection (read
// everything it sent, PUBACKs included): a new connection of the same client id could
// otherwise take the session over before, and the broker would drop what it had not
// read yet.
func stopClient(m *testenv.Mosquitto, h *harness, clientID string) {
	mk := m.Mark()
	h.stop()
	m.AwaitLog(mk, "Client "+clientID+" disconnected")
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
