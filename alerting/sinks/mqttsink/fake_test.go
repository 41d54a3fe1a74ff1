package mqttsink

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/health"
	"github.com/campusguard/campusguard/secret"
)

// awaitTimeout bounds every wait for a signal; tests never sleep for a fixed time.
const awaitTimeout = 10 * time.Second

// published is one message a fakeClient took.
type published struct {
	topic    string
	qos      byte
	retained bool
	payload  []byte
}

// fakeClient is an in-memory Publisher: it records what the sink publishes and hands
// the sink messages as a broker would, reporting when the sink acknowledges them.
type fakeClient struct {
	pubs chan published

	mu        sync.Mutex
	subs      map[string]MessageHandler
	fail      error // returned by Publish when set
	connected bool
}

var _ Publisher = (*fakeClient)(nil)

func newFakeClient() *fakeClient {
	return &fakeClient{pubs: make(chan published, 256), subs: map[string]MessageHandler{}, connected: true}
}

func (f *fakeClient) Publish(ctx context.Context, topic string, qos byte, retained bool, payload []byte) error {
	f.mu.Lock()
	err := f.fail
	f.mu.Unlock()
	if err != nil {
		return fmt.Errorf("fake publish %s: %w", topic, err)
	}
	select {
	case f.pubs <- published{topic: topic, qos: qos, retained: retained, payload: append([]byte(nil), payload...)}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (f *fakeClient) Subscribe(_ context.Context, topic string, _ byte, h MessageHandler) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.subs[topic] = h
	return nil
}

func (f *fakeClient) Connected() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.connected
}

// deliver hands payload on topic to the matching subscription and returns a channel
// closed when the sink acknowledges the message (the broker's PUBACK).
func (f *fakeClient) deliver(t *testing.T, topic string, payload []byte) <-chan struct{} {
	t.Helper()
	f.mu.Lock()
	var h MessageHandler
	for filter, sh := range f.subs {
		if MatchTopic(filter, topic) {
			h = sh
		}
	}
	f.mu.Unlock()
	if h == nil {
		t.Fatalf("no subscription takes %s", topic)
	}
	acked := make(chan struct{})
	var once sync.Once
	h(topic, append([]byte(nil), payload...), func() { once.Do(func() { close(acked) }) })
	return acked
}

func (f *fakeClient) next(t *testing.T) published {
	t.Helper()
	select {
	case p := <-f.pubs:
		return p
	case <-time.After(awaitTimeout):
		t.Fatal("nothing published")
		return published{}
	}
}

// TestAlarmToStaffInMemory: the alarm → staff path over the in-memory client: the
// retained state, then the event; a resolve clears the state; a failing client makes
// Deliver fail (for the pipeline to retry) and the health degraded.
func TestAlarmToStaffInMemory(t *testing.T) {
	fc := newFakeClient()
	s, err := New(Config{TopicPrefix: "cg/s01"}, fc, Options{Clock: clockwork.NewFakeClockAt(testNow), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	n := sampleNotification()
	if err := s.Deliver(ctx, n); err != nil {
		t.Fatal(err)
	}
	st := fc.next(t)
	var sm StateMessage
	if st.topic != "cg/s01/alarms/s01%2Fpanic%2Fbox-gate%231" || !st.retained || st.qos != 1 ||
		json.Unmarshal(st.payload, &sm) != nil || sm.V != SchemaVersion || sm.Alarm.ID != n.Alarm.ID || sm.Transition != alerting.Fired {
		t.Fatalf("state %+v %s", st, st.payload)
	}
	ev := fc.next(t)
	var em EventMessage
	if ev.topic != "cg/s01/events" || ev.retained || ev.qos != 1 || json.Unmarshal(ev.payload, &em) != nil || em.ID != "n-1" {
		t.Fatalf("event %+v %s", ev, ev.payload)
	}

	n.ID, n.Transition, n.Alarm.State = "n-2", alerting.ResolvedT, alerting.Resolved
	if err := s.Deliver(ctx, n); err != nil {
		t.Fatal(err)
	}
	if p := fc.next(t); p.topic != st.topic || !p.retained || len(p.payload) != 0 {
		t.Fatalf("clear %+v", p)
	}
	if p := fc.next(t); !bytes.Contains(p.payload, []byte(`"transition":"resolved"`)) {
		t.Fatalf("resolved event %s", p.payload)
	}
	if h := s.Health(); h.State != health.Up || h.Detail["connected"] != true {
		t.Fatalf("health %+v", h)
	}

	fc.mu.Lock()
	fc.fail = ErrNotConnected
	fc.mu.Unlock()
	if err := s.Deliver(ctx, sampleNotification()); !errors.Is(err, ErrNotConnected) {
		t.Fatalf("deliver on a failing client: %v", err)
	}
	if h := s.Health(); h.State != health.Degraded {
		t.Fatalf("health after a failed delivery %+v", h)
	}
}

// stepAcker is an Acker the test answers call by call.
type stepAcker struct{ calls chan ackCall }

type ackCall struct {
	alarm string
	reply chan error
}

func newStepAcker() *stepAcker { return &stepAcker{calls: make(chan ackCall, 16)} }

func (a *stepAcker) Ack(ctx context.Context, alarmID, _, _ string) error {
	c := ackCall{alarm: alarmID, reply: make(chan error, 1)}
	a.calls <- c
	select {
	case err := <-c.reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (a *stepAcker) next(t *testing.T) ackCall {
	t.Helper()
	select {
	case c := <-a.calls:
		return c
	case <-time.After(awaitTimeout):
		t.Fatal("the Acker was not called")
		return ackCall{}
	}
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

func await(t *testing.T, c <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-c:
	case <-time.After(awaitTimeout):
		t.Fatalf("%s did not happen", what)
	}
}

func awaitResult(t *testing.T, results <-chan string, want string) {
	t.Helper()
	select {
	case r := <-results:
		if r != want {
			t.Fatalf("result %s, want %s", r, want)
		}
	case <-time.After(awaitTimeout):
		t.Fatalf("no result (want %s)", want)
	}
}

// ackRig is a sink taking acks over a fakeClient, its Run running.
type ackRig struct {
	fc       *fakeClient
	s        *Sink
	acker    *stepAcker
	clock    *clockwork.FakeClock
	results  chan string
	retrying chan struct{}
	cancel   context.CancelFunc
	done     chan error
}

func newAckRig(t *testing.T) *ackRig {
	t.Helper()
	r := &ackRig{fc: newFakeClient(), acker: newStepAcker(), clock: clockwork.NewFakeClockAt(testNow),
		results: make(chan string, 16), retrying: make(chan struct{}, 16), done: make(chan error, 1)}
	s, err := New(Config{TopicPrefix: "cg/s01", Ack: AckConfig{Enabled: true, Secret: secret.Inline(testSecret)}}, r.fc,
		Options{Acker: r.acker, Clock: r.clock, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	r.s = s
	s.observe = func(res string) { r.results <- res }
	s.retrying = func() { r.retrying <- struct{}{} }
	t.Cleanup(r.stop)
	r.start(t)
	return r
}

// start runs the sink until stop.
func (r *ackRig) start(t *testing.T) {
	t.Helper()
	subscribed := make(chan struct{})
	r.s.subscribed = func() { close(subscribed) }
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.done <- r.s.Run(ctx) }()
	await(t, subscribed, "the subscription")
}

func (r *ackRig) stop() {
	if r.cancel != nil {
		r.cancel()
		<-r.done
		r.cancel = nil
	}
}

// TestAckPubackAfterAcker: an ack message is acknowledged to the broker only once the
// Acker's answer is final: recorded (nil), or refused for good; not while it runs, not
// when it fails for now (then it is tried again), not at shutdown.
func TestAckPubackAfterAcker(t *testing.T) {
	const topic = "cg/s01/ack"
	good := AckMessage{AlarmID: "a1", By: "王师傅", TS: testNow.Unix()}
	tests := []struct {
		name string
		run  func(t *testing.T, r *ackRig)
	}{
		{"recorded", func(t *testing.T, r *ackRig) {
			acked := r.fc.deliver(t, topic, signed(topic, good))
			c := r.acker.next(t)
			if isClosed(acked) {
				t.Fatal("acknowledged to the broker while the Acker runs")
			}
			c.reply <- nil
			await(t, acked, "the PUBACK")
			awaitResult(t, r.results, "accepted")
		}},
		{"unknown alarm", func(t *testing.T, r *ackRig) {
			acked := r.fc.deliver(t, topic, signed(topic, good))
			r.acker.next(t).reply <- fmt.Errorf("ack a1: %w", alerting.ErrNotFound)
			await(t, acked, "the PUBACK")
			awaitResult(t, r.results, "failed")
		}},
		{"already acknowledged", func(t *testing.T, r *ackRig) {
			acked := r.fc.deliver(t, topic, signed(topic, good))
			r.acker.next(t).reply <- fmt.Errorf("ack a1: %w", alerting.ErrAlreadyAcked)
			await(t, acked, "the PUBACK")
			awaitResult(t, r.results, "failed")
		}},
		{"refused by the checks", func(t *testing.T, r *ackRig) {
			bad := good
			bad.By = "intruder"
			bad.Sig = SignAck(testSecret, topic, good)
			b, _ := json.Marshal(bad)
			acked := r.fc.deliver(t, topic, b)
			if !isClosed(acked) {
				t.Fatal("a refused ack is not acknowledged at once")
			}
			awaitResult(t, r.results, "bad_signature")
		}},
		{"a copy while it is recorded", func(t *testing.T, r *ackRig) {
			first := r.fc.deliver(t, topic, signed(topic, good))
			c := r.acker.next(t)
			second := r.fc.deliver(t, topic, signed(topic, good)) // the broker's redelivery
			if isClosed(first) || isClosed(second) {
				t.Fatal("acknowledged to the broker while the Acker runs")
			}
			c.reply <- nil
			await(t, first, "the PUBACK of the first")
			await(t, second, "the PUBACK of the copy")
			awaitResult(t, r.results, "accepted")
		}},
		{"journal down, then up", func(t *testing.T, r *ackRig) {
			acked := r.fc.deliver(t, topic, signed(topic, good))
			r.acker.next(t).reply <- errors.New("journal: disk full")
			<-r.retrying
			if isClosed(acked) {
				t.Fatal("acknowledged after a failure")
			}
			r.clock.Advance(ackRetryFirst)
			r.acker.next(t).reply <- nil
			await(t, acked, "the PUBACK")
			awaitResult(t, r.results, "accepted")
		}},
		{"journal down for the whole window", func(t *testing.T, r *ackRig) {
			acked := r.fc.deliver(t, topic, signed(topic, good))
			tries := 0
			for {
				select {
				case c := <-r.acker.calls:
					tries++
					c.reply <- errors.New("journal: disk full")
					continue
				case <-r.retrying:
					r.clock.Advance(ackRetryMax)
					continue
				case res := <-r.results:
					if res != "unavailable" {
						t.Fatalf("result %s", res)
					}
				case <-time.After(awaitTimeout):
					t.Fatal("no result")
				}
				break
			}
			if isClosed(acked) {
				t.Fatal("acknowledged although never recorded")
			}
			if tries < 2 {
				t.Fatalf("tried %d times", tries)
			}
		}},
		{"shutdown while recording", func(t *testing.T, r *ackRig) {
			acked := r.fc.deliver(t, topic, signed(topic, good))
			r.acker.next(t)
			r.stop() // the Acker's context ends
			if isClosed(acked) {
				t.Fatal("acknowledged to the broker at shutdown")
			}
			// The broker delivers it again to the next session: taken, not a replay.
			r.start(t)
			again := r.fc.deliver(t, topic, signed(topic, good))
			r.acker.next(t).reply <- nil
			await(t, again, "the PUBACK of the delivery again")
			awaitResult(t, r.results, "accepted")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.run(t, newAckRig(t))
		})
	}
}

func TestMatchTopic(t *testing.T) {
	tests := []struct {
		filter, topic string
		want          bool
	}{
		{"cg/s01/ack", "cg/s01/ack", true},
		{"cg/s01/ack", "cg/s01/ack/wang", false},
		{"cg/s01/ack/+", "cg/s01/ack/wang", true},
		{"cg/s01/ack/+", "cg/s01/ack", false},
		{"cg/s01/ack/+", "cg/s01/ack/wang/x", false},
		{"cg/#", "cg", true},
		{"cg/#", "cg/s01/ack", true},
		{"#", "$SYS/x", false},
		{"+/x", "a/x", true},
		{"a/+", "a/", true},
	}
	for _, tt := range tests {
		if got := MatchTopic(tt.filter, tt.topic); got != tt.want {
			t.Errorf("MatchTopic(%q, %q) = %v", tt.filter, tt.topic, got)
		}
	}
}
