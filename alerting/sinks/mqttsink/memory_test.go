package mqttsink_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/alerting/sinks/mqttsink"
	"github.com/campusguard/campusguard/alerting/sinks/mqttsink/mqttsinktest"
	"github.com/campusguard/campusguard/health"
)

// TestAlarmToStaffInMemory: the alarm → staff path over the in-memory client: the
// retained state, then the event; a resolve clears the state; a failing client makes
// Deliver fail (for the pipeline to retry) and the health degraded.
func TestAlarmToStaffInMemory(t *testing.T) {
	fc := mqttsinktest.New()
	s, err := mqttsink.New(mqttsink.Config{TopicPrefix: "cg/s01"}, fc,
		mqttsink.Options{Clock: clockwork.NewFakeClockAt(mqttsink.TestNow), Logger: mqttsink.Quiet})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	n := mqttsink.SampleNotification()
	if err := s.Deliver(ctx, n); err != nil {
		t.Fatal(err)
	}
	ev := fc.Take(t) // the event first, then the retained state
	var em mqttsink.EventMessage
	if ev.Topic != "cg/s01/events" || ev.Retained || ev.QoS != 1 || json.Unmarshal(ev.Payload, &em) != nil || em.ID != "n-1" {
		t.Fatalf("event %+v %s", ev, ev.Payload)
	}
	st := fc.Take(t)
	var sm mqttsink.StateMessage
	if st.Topic != "cg/s01/alarms/s01%2Fpanic%2Fbox-gate%231" || !st.Retained || st.QoS != 1 ||
		json.Unmarshal(st.Payload, &sm) != nil || sm.V != mqttsink.SchemaVersion || sm.Alarm.ID != n.Alarm.ID || sm.Transition != alerting.Fired {
		t.Fatalf("state %+v %s", st, st.Payload)
	}

	n.ID, n.Transition, n.Alarm.State = "n-2", alerting.ResolvedT, alerting.Resolved
	if err := s.Deliver(ctx, n); err != nil {
		t.Fatal(err)
	}
	if p := fc.Take(t); !bytes.Contains(p.Payload, []byte(`"transition":"resolved"`)) {
		t.Fatalf("resolved event %s", p.Payload)
	}
	if p := fc.Take(t); p.Topic != st.Topic || !p.Retained || len(p.Payload) != 0 {
		t.Fatalf("clear %+v", p)
	}
	if _, ok := fc.Retained(st.Topic); ok {
		t.Fatal("the retained state survived the resolve")
	}
	if h := s.Health(); h.State != health.Up || h.Detail["connected"] != true {
		t.Fatalf("health %+v", h)
	}

	fc.Fail(mqttsink.ErrNotConnected)
	if err := s.Deliver(ctx, mqttsink.SampleNotification()); !errors.Is(err, mqttsink.ErrNotConnected) {
		t.Fatalf("deliver on a failing client: %v", err)
	}
	if h := s.Health(); h.State != health.Degraded {
		t.Fatalf("health after a failed delivery %+v", h)
	}
}

// ackRig is a sink taking acks over an in-memory client, its Run running.
type ackRig struct {
	fc       *mqttsinktest.Client
	s        *mqttsink.Sink
	acker    *mqttsinktest.Acker
	clock    *clockwork.FakeClock
	results  chan string
	retrying chan struct{}
	cancel   context.CancelFunc
	done     chan error
}

func newAckRig(t *testing.T) *ackRig {
	t.Helper()
	r := &ackRig{fc: mqttsinktest.New(), acker: mqttsinktest.NewAcker(), clock: clockwork.NewFakeClockAt(mqttsink.TestNow),
		results: make(chan string, 16), retrying: make(chan struct{}, 16), done: make(chan error, 1)}
	s, err := mqttsink.New(mqttsink.Config{TopicPrefix: "cg/s01", Ack: mqttsink.AckForTests()}, r.fc,
		mqttsink.Options{Acker: r.acker, Clock: r.clock, Logger: mqttsink.Quiet})
	if err != nil {
		t.Fatal(err)
	}
	r.s = s
	t.Cleanup(r.stop)
	r.start(t)
	return r
}

// start runs the sink until stop.
func (r *ackRig) start(t *testing.T) {
	t.Helper()
	subscribed := make(chan struct{})
	r.s.SetTestHooks(func(res string) { r.results <- res }, func() { close(subscribed) }, func() { r.retrying <- struct{}{} })
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
	good := mqttsink.AckMessage{AlarmID: "a1", By: "王师傅", TS: mqttsink.TestNow.Unix()}
	signed := mqttsink.Signed
	tests := []struct {
		name string
		run  func(t *testing.T, r *ackRig)
	}{
		{"recorded", func(t *testing.T, r *ackRig) {
			d := r.fc.Deliver(t, topic, signed(topic, good))
			c := r.acker.Next(t)
			if d.IsAcked() {
				t.Fatal("acknowledged to the broker while the Acker runs")
			}
			c.Reply <- nil
			await(t, d.Acked(), "the PUBACK")
			awaitResult(t, r.results, "accepted")
		}},
		{"unknown alarm", func(t *testing.T, r *ackRig) {
			d := r.fc.Deliver(t, topic, signed(topic, good))
			r.acker.Next(t).Reply <- fmt.Errorf("ack a1: %w", alerting.ErrNotFound)
			await(t, d.Acked(), "the PUBACK")
			awaitResult(t, r.results, "failed")
		}},
		{"already acknowledged", func(t *testing.T, r *ackRig) {
			d := r.fc.Deliver(t, topic, signed(topic, good))
			r.acker.Next(t).Reply <- fmt.Errorf("ack a1: %w", alerting.ErrAlreadyAcked)
			await(t, d.Acked(), "the PUBACK")
			awaitResult(t, r.results, "failed")
		}},
		{"refused by the checks", func(t *testing.T, r *ackRig) {
			bad := good
			bad.By = "intruder"
			bad.Sig = mqttsink.SignAck(mqttsink.TestSecret, topic, good)
			b, _ := json.Marshal(bad)
			d := r.fc.Deliver(t, topic, b)
			if !d.IsAcked() {
				t.Fatal("a refused ack is not acknowledged at once")
			}
			awaitResult(t, r.results, "bad_signature")
		}},
		{"a copy while it is recorded", func(t *testing.T, r *ackRig) {
			first := r.fc.Deliver(t, topic, signed(topic, good))
			c := r.acker.Next(t)
			second := r.fc.Deliver(t, topic, signed(topic, good)) // the broker's redelivery
			if first.IsAcked() || second.IsAcked() {
				t.Fatal("acknowledged to the broker while the Acker runs")
			}
			c.Reply <- nil
			await(t, first.Acked(), "the PUBACK of the first")
			await(t, second.Acked(), "the PUBACK of the copy")
			awaitResult(t, r.results, "accepted")
		}},
		{"journal down, then up", func(t *testing.T, r *ackRig) {
			d := r.fc.Deliver(t, topic, signed(topic, good))
			r.acker.Next(t).Reply <- errors.New("journal: disk full")
			<-r.retrying
			if d.IsAcked() {
				t.Fatal("acknowledged after a failure")
			}
			r.clock.Advance(mqttsink.AckRetryFirst)
			r.acker.Next(t).Reply <- nil
			await(t, d.Acked(), "the PUBACK")
			awaitResult(t, r.results, "accepted")
		}},
		{"journal down for the whole window", func(t *testing.T, r *ackRig) {
			d := r.fc.Deliver(t, topic, signed(topic, good))
			tries := 0
			for {
				select {
				case c := <-r.acker.Calls:
					tries++
					c.Reply <- errors.New("journal: disk full")
					continue
				case <-r.retrying:
					r.clock.Advance(mqttsink.AckRetryMax)
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
			if d.IsAcked() {
				t.Fatal("acknowledged although never recorded")
			}
			if tries < 2 {
				t.Fatalf("tried %d times", tries)
			}
		}},
		{"shutdown while recording", func(t *testing.T, r *ackRig) {
			d := r.fc.Deliver(t, topic, signed(topic, good))
			r.acker.Next(t)
			r.stop() // the Acker's context ends
			if d.IsAcked() {
				t.Fatal("acknowledged to the broker at shutdown")
			}
			// The broker delivers it again to the next session: taken, not a replay.
			r.start(t)
			again := r.fc.Deliver(t, topic, signed(topic, good))
			r.acker.Next(t).Reply <- nil
			await(t, again.Acked(), "the PUBACK of the delivery again")
			awaitResult(t, r.results, "accepted")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.run(t, newAckRig(t))
		})
	}
}
