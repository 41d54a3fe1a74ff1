package mqttsink

import (
	"testing"

	"github.com/campusguard/campusguard/secret"
)

// The bridge from the package's tests to its external tests (package mqttsink_test,
// which may import mqttsinktest): the sink's test hooks, its retry steps, and the
// shared test values and helpers.

// SetTestHooks sets the sink's hooks: observe gets each ack's result, subscribed is
// called once Run has subscribed, retrying when an ack waits to be tried again. A nil
// hook stays unset.
func (s *Sink) SetTestHooks(observe func(result string), subscribed, retrying func()) {
	s.observe, s.subscribed, s.retrying = observe, subscribed, retrying
}

// The retry steps of an ack the Acker could not record.
const (
	AckRetryFirst = ackRetryFirst
	AckRetryMax   = ackRetryMax
)

// TestSecret is the hmac secret of AckForTests.
const TestSecret = testSecret

var (
	TestNow            = testNow
	Quiet              = quiet
	Signed             = signed
	SampleNotification = sampleNotification
	Broker             = broker
	ConnectClient      = connectClient
	PrefixFor          = prefixFor
)

// AckForTests is the ack section of the tests: enabled, hmac with the test secret.
func AckForTests() AckConfig { return AckConfig{Enabled: true, Secret: secret.Inline(testSecret)} }

// Watcher is a plain client of the real broker that records what arrives.
type Watcher = watcher

// NewWatcher connects a Watcher as id.
func NewWatcher(t *testing.T, url, id string) *Watcher { return newWatcher(t, url, id) }

// Publish publishes payload at QoS 1 and waits for the broker's PUBACK.
func (w *watcher) Publish(t *testing.T, topic string, retained bool, payload []byte) {
	t.Helper()
	w.publish(t, topic, retained, payload)
}
