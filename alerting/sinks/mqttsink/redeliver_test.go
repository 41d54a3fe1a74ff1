package mqttsink

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/campusguard/campusguard/secret"
)

// sinkSession is a sink over its own PahoClient (persistent session under clientID),
// its Run running.
type sinkSession struct {
	pc      *PahoClient
	acker   *stepAcker
	results chan string
	cancel  context.CancelFunc
	done    chan error
}

func startSinkSession(t *testing.T, url, clientID, prefix string) *sinkSession {
	t.Helper()
	ss := &sinkSession{pc: connectClient(t, url, clientID), acker: newStepAcker(), results: make(chan string, 16), done: make(chan error, 1)}
	s, err := New(Config{TopicPrefix: prefix, Ack: AckConfig{Enabled: true, Secret: secret.Inline(testSecret)}}, ss.pc,
		Options{Acker: ss.acker, Clock: clockwork.NewFakeClockAt(testNow), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	s.observe = func(r string) { ss.results <- r }
	subscribed := make(chan struct{})
	s.subscribed = func() { close(subscribed) }
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
	url := broker(t)
	prefix := prefixFor(t)
	clientID := fmt.Sprintf("cg-sink-redeliver-%d", time.Now().UnixNano())
	topic := prefix + "/ack"
	app := newWatcher(t, url, "cg-app-"+t.Name())

	first := startSinkSession(t, url, clientID, prefix)
	app.publish(t, topic, false, signed(topic, AckMessage{AlarmID: "a1", By: "王师傅", TS: testNow.Unix()}))
	c := first.acker.next(t)
	first.stop() // the gateway goes away while the Acker runs
	c.reply <- nil

	second := startSinkSession(t, url, clientID, prefix)
	c = second.acker.next(t)
	if c.alarm != "a1" {
		t.Fatalf("second session got %s, want a1 again", c.alarm)
	}
	c.reply <- nil
	awaitResult(t, second.results, "accepted") // the PUBACK is on its way
	// Once the Acker returned, the PUBACK goes out; a second ack published now comes
	// after it on the same connection, and its own PUBACK after its Acker call.
	app.publish(t, topic, false, signed(topic, AckMessage{AlarmID: "a2", By: "王师傅", TS: testNow.Unix()}))
	c = second.acker.next(t)
	if c.alarm != "a2" {
		t.Fatalf("second session got %s, want a2", c.alarm)
	}
	c.reply <- nil
	awaitResult(t, second.results, "accepted")
	second.flush(t, prefix)
	second.stop()

	// Both recorded and acknowledged: the next session gets only what is new.
	app.publish(t, topic, false, signed(topic, AckMessage{AlarmID: "a3", By: "王师傅", TS: testNow.Unix()}))
	third := startSinkSession(t, url, clientID, prefix)
	c = third.acker.next(t)
	if c.alarm != "a3" {
		t.Fatalf("third session got %s first, want a3 (a recorded ack came again)", c.alarm)
	}
	c.reply <- nil
}
