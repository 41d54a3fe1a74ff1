package mqttsink_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/campusguard/campusguard/alerting/sinks/mqttsink"
	"github.com/campusguard/campusguard/alerting/sinks/mqttsink/mqttsinktest"
)

// sinkSession is a sink over its own PahoClient (persistent session under clientID),
// its Run running.
type sinkSession struct {
	pc      *mqttsink.PahoClient
	acker   *mqttsinktest.Acker
	results chan string
	cancel  context.CancelFunc
	done    chan error
}

func startSinkSession(t *testing.T, url, clientID, prefix string) *sinkSession {
	t.Helper()
	ss := &sinkSession{pc: mqttsink.ConnectClient(t, url, clientID), acker: mqttsinktest.NewAcker(), results: make(chan string, 16), done: make(chan error, 1)}
	s, err := mqttsink.New(mqttsink.Config{TopicPrefix: prefix, Ack: mqttsink.AckForTests()}, ss.pc,
		mqttsink.Options{Acker: ss.acker, Clock: clockwork.NewFakeClockAt(mqttsink.TestNow), Logger: mqttsink.Quiet})
	if err != nil {
		t.Fatal(err)
	}
	subscribed := make(chan struct{})
	s.SetTestHooks(func(r string) { ss.results <- r }, func() { close(subscribed) }, nil)
	ctx, cancel := context.WithCancel(context.Background())
	ss.cancel = cancel
	go func() { ss.done <- s.Run(ctx) }()
	t.Cleanup(ss.stop)
	await(t, subscribed, "the subscription")
	return ss
}

// flush makes sure the broker has read every PUBACK the session sent: it publishes on
// the same connection and waits for the broker's PUBACK, which the broker sends only
// after reading what came before. (Otherwise the next connection of the same client id
// could take the session over before the broker read them, and it would drop them.)
func (ss *sinkSession) flush(t *testing.T, prefix string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), awaitTimeout)
	defer cancel()
	if err := ss.pc.Publish(ctx, prefix+"/probe", 1, false, []byte("probe")); err != nil {
		t.Fatal(err)
	}
}

// stop ends Run and closes the connection (the session stays with the broker).
func (ss *sinkSession) stop() {
	if ss.cancel == nil {
		return
	}
	ss.pc.Close()
	ss.cancel()
	<-ss.done
	ss.cancel = nil
}

// TestAckRedeliveredUntilRecorded: with a real broker, an ack message whose Acker has
// not returned is not acknowledged: the gateway stops (the connection closes) while the
// Acker runs, and the next session of the same client gets the message again; once the
// Acker returned nil it is acknowledged, and a third session does not get it again.
func TestAckRedeliveredUntilRecorded(t *testing.T) {
	url := mqttsink.Broker(t)
	prefix := mqttsink.PrefixFor(t)
	clientID := fmt.Sprintf("cg-sink-redeliver-%d", time.Now().UnixNano())
	topic := prefix + "/ack"
	app := mqttsink.NewWatcher(t, url, "cg-app-"+t.Name())

	first := startSinkSession(t, url, clientID, prefix)
	app.Publish(t, topic, false, mqttsink.Signed(topic, mqttsink.AckMessage{AlarmID: "a1", By: "王师傅", TS: mqttsink.TestNow.Unix()}))
	c := first.acker.Next(t)
	first.stop() // the gateway goes away while the Acker runs
	c.Reply <- nil

	second := startSinkSession(t, url, clientID, prefix)
	c = second.acker.Next(t)
	if c.AlarmID != "a1" {
		t.Fatalf("second session got %s, want a1 again", c.AlarmID)
	}
	c.Reply <- nil
	awaitResult(t, second.results, "accepted") // the PUBACK is on its way
	// Once the Acker returned, the PUBACK goes out; a second ack published now comes
	// after it on the same connection, and its own PUBACK after its Acker call.
	app.Publish(t, topic, false, mqttsink.Signed(topic, mqttsink.AckMessage{AlarmID: "a2", By: "王师傅", TS: mqttsink.TestNow.Unix()}))
	c = second.acker.Next(t)
	if c.AlarmID != "a2" {
		t.Fatalf("second session got %s, want a2", c.AlarmID)
	}
	c.Reply <- nil
	awaitResult(t, second.results, "accepted")
	second.flush(t, prefix)
	second.stop()

	// Both recorded and acknowledged: the next session gets only what is new.
	app.Publish(t, topic, false, mqttsink.Signed(topic, mqttsink.AckMessage{AlarmID: "a3", By: "王师傅", TS: mqttsink.TestNow.Unix()}))
	third := startSinkSession(t, url, clientID, prefix)
	c = third.acker.Next(t)
	if c.AlarmID != "a3" {
		t.Fatalf("third session got %s first, want a3 (a recorded ack came again)", c.AlarmID)
	}
	c.Reply <- nil
}
