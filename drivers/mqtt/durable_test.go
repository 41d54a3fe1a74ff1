package mqtt

import (
	"fmt"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/campusguard/campusguard/event"
	"github.com/campusguard/campusguard/internal/testenv"
)

const cam1AI = "school/s01/kitchen/cam-1/ai"

// awaitAcked waits until the messages of the events with sequence numbers want were
// acknowledged, in that order, and nothing else was.
func (h *harness) awaitAcked(want ...uint64) {
	h.t.Helper()
	for _, w := range want {
		select {
		case got := <-h.acked:
			if got != w {
				h.t.Fatalf("acknowledged the message of event %d, want %d (in order: %v)", got, w, want)
			}
		case <-time.After(awaitTimeout):
			h.t.Fatalf("message of event %d not acknowledged", w)
		}
	}
}

// noAck fails when a message was acknowledged.
func (h *harness) noAck() {
	h.t.Helper()
	select {
	case seq := <-h.acked:
		h.t.Fatalf("the message of event %d was acknowledged", seq)
	default:
	}
}

// channels reads events up to and including the one of channel last, and returns the
// channels before it and the sequence numbers of all.
func (h *harness) channels(last int64) ([]int64, []uint64) {
	h.t.Helper()
	var chs []int64
	var seqs []uint64
	for {
		e := h.next()
		seqs = append(seqs, e.Seq)
		ch, _ := e.Fields["channel"].(int64)
		if ch == last {
			return chs, seqs
		}
		chs = append(chs, ch)
	}
}

// TestAckWaitsForDurable: with Durable set, a QoS 1 message is acknowledged only once
// the watermark passes its event; every message is handed to the bus meanwhile. The
// ones not acknowledged when the gateway stops are delivered again to its next session,
// the acknowledged ones are not.
func TestAckWaitsForDurable(t *testing.T) {
	m := testenv.StartMosquitto(t, "") // our own: sessions must start empty
	url := m.URL("tcp")
	cfg := kitchenConfig(t, url, t.TempDir())
	wm := event.NewWatermark()
	h := startDriverWith(t, cfg, Options{Durable: wm})
	pub := testPublisher(t, url)

	const n = 10 // within Mosquitto's max_inflight_messages (20): all reach the gateway
	for i := 1; i <= n; i++ {
		publish(t, pub, cam1AI, 1, detection(i))
	}
	seqs := make([]uint64, n)
	for i := range n {
		e := h.next()
		if e.Fields["channel"] != int64(i+1) {
			t.Fatalf("event %d: %v", i, e)
		}
		seqs[i] = e.Seq
	}
	// Every event is on the bus while no message is acknowledged: the hand-off does not
	// wait for the acknowledgements.
	h.noAck()
	if got := testutil.ToFloat64(h.d.m.awaiting); got != n {
		t.Errorf("awaiting_durable = %v, want %d", got, n)
	}
	wm.Advance(seqs[3])
	h.awaitAcked(seqs[:4]...)
	h.noAck()
	stopClient(m, h, cfg.Brokers[0].ClientID)

	// The next process gets again exactly the six messages not acknowledged (before a
	// message published now).
	wm2 := event.NewWatermark()
	h2 := startDriverWith(t, cfg, Options{Durable: wm2})
	publish(t, pub, cam1AI, 1, detection(99))
	again, seqs2 := h2.channels(99)
	if fmt.Sprint(again) != "[5 6 7 8 9 10]" {
		t.Fatalf("delivered again: %v, want channels 5..10", again)
	}
	wm2.Advance(seqs2[len(seqs2)-1])
	h2.awaitAcked(seqs2...)
	stopClient(m, h2, cfg.Brokers[0].ClientID)

	// All acknowledged: nothing comes again.
	nothingAgain(t, cfg, pub)
}

// TestHeldWatermarkAcksNothing: while the journal cannot write (the watermark is held)
// no message is acknowledged, so all come again after a restart; Release acknowledges
// them.
func TestHeldWatermarkAcksNothing(t *testing.T) {
	m := testenv.StartMosquitto(t, "")
	url := m.URL("tcp")
	cfg := kitchenConfig(t, url, t.TempDir())
	wm := event.NewWatermark()
	wm.Hold()
	h := startDriverWith(t, cfg, Options{Durable: wm})
	pub := testPublisher(t, url)
	const n = 5
	for i := 1; i <= n; i++ {
		publish(t, pub, cam1AI, 1, detection(i))
	}
	var last uint64
	for range n {
		last = h.next().Seq
	}
	wm.Advance(last) // held: does not move
	h.noAck()
	stopClient(m, h, cfg.Brokers[0].ClientID)

	wm2 := event.NewWatermark()
	wm2.Hold()
	h2 := startDriverWith(t, cfg, Options{Durable: wm2})
	publish(t, pub, cam1AI, 1, detection(99))
	again, seqs := h2.channels(99)
	if fmt.Sprint(again) != "[1 2 3 4 5]" {
		t.Fatalf("delivered again: %v, want channels 1..5", again)
	}
	wm2.Advance(seqs[len(seqs)-1])
	h2.noAck()
	wm2.Release(seqs[len(seqs)-1])
	h2.awaitAcked(seqs...)
	stopClient(m, h2, cfg.Brokers[0].ClientID)
	nothingAgain(t, cfg, pub)
}

// nothingAgain starts the gateway's next process and checks that the first message
// it gets is one published now: every one before was acknowledged.
func nothingAgain(t *testing.T, cfg Config, pub paho.Client) {
	t.Helper()
	h := startDriverWith(t, cfg, Options{Durable: event.NewWatermark()})
	publish(t, pub, cam1AI, 1, detection(100))
	if e := h.next(); e.Fields["channel"] != int64(100) {
		t.Fatalf("an acknowledged message came again: %v", e)
	}
}

// TestDurableThroughput: far more messages than the broker lets be unacknowledged at
// once (Mosquitto: 20) all flow while a main loop advances the watermark behind the bus.
func TestDurableThroughput(t *testing.T) {
	url := testenv.MQTTURL(t)
	cfg := kitchenConfig(t, url, t.TempDir())
	cfg.Mappings[0].RateLimit = RateLimitConfig{Rate: -1}
	wm := event.NewWatermark()
	h := startDriverWith(t, cfg, Options{Durable: wm})
	pub := testPublisher(t, url)
	const n = 2000
	start := time.Now()
	toks := make([]interface{ Done() <-chan struct{} }, 0, n)
	for i := range n {
		toks = append(toks, pub.Publish(cam1AI, 1, false, detection(i)))
	}
	seqs := make([]uint64, 0, n)
	for i := range n {
		var e event.Event
		select {
		case e = <-h.sub.C():
		case <-time.After(awaitTimeout):
			t.Fatalf("%d of %d events arrived, %d acked, awaiting %v", i, n, len(h.acked), testutil.ToFloat64(h.d.m.awaiting))
		}
		wm.Advance(e.Seq) // the main loop: durable once processed
		seqs = append(seqs, e.Seq)
	}
	h.awaitAcked(seqs...)
	for _, tok := range toks {
		select {
		case <-tok.Done():
		case <-time.After(awaitTimeout):
			t.Fatal("publish not acknowledged by the broker")
		}
	}
	t.Logf("%d QoS 1 messages handed on and acknowledged after the watermark in %v", n, time.Since(start))
}

// panicConfig is the shipped panic module example pointed at url.
func panicConfig(t *testing.T, url, storeDir string) Config {
	cfg := loadExample(t, "panic.yaml")
	cfg.Brokers[0].URL = url
	cfg.Brokers[0].StoreDir = storeDir
	cfg.Brokers[0].ClientID = "campusguard-test-" + t.Name()
	cfg.Brokers[0].MaxReconnectInterval = time.Second
	return cfg
}

// TestFloodHidesNoPress: 5,000 "not pressed" repeats from one panic module with 10 real
// presses among them: every press reaches the bus, the device raises one flood fault,
// and the fault is restored once the device has been quiet for FloodRestoreAfter. The
// clock is fake and never moves during the flood, so the bucket never refills.
func TestFloodHidesNoPress(t *testing.T) {
	url := testenv.MQTTURL(t)
	cfg := panicConfig(t, url, t.TempDir())
	clock := clockwork.NewFakeClock()
	h := startDriverWith(t, cfg, Options{Clock: clock})
	pub := testPublisher(t, url)

	const repeats, presses = 5000, 10
	const box1 = "school/s01/panic/box-1/status"
	var toks []interface{ Done() <-chan struct{} }
	for i := range repeats {
		toks = append(toks, pub.Publish(box1, 1, false, `{"pressed":false,"tamper":false,"supply_v":12.1}`))
		if i%(repeats/presses) == repeats/presses/2 {
			toks = append(toks, pub.Publish(box1, 1, false, `{"pressed":true,"tamper":false,"supply_v":12.1}`))
		}
	}
	for _, tok := range toks {
		select {
		case <-tok.Done():
		case <-time.After(awaitTimeout):
			t.Fatal("publish not acknowledged")
		}
	}
	// MQTT keeps one publisher's order: when box-2's press arrives, all of box-1's
	// messages have been handled.
	publish(t, pub, "school/s01/panic/box-2/status", 1, `{"pressed":true}`)
	types := map[string]int{}
	var fault event.Event
	for {
		e := h.next()
		if e.DeviceID == "box-2" {
			break
		}
		types[e.Type]++
		if e.Type == event.TypeFault {
			fault = e
		}
	}
	if types[event.TypePressed] != presses {
		t.Errorf("%d presses reached the bus, want %d (%v)", types[event.TypePressed], presses, types)
	}
	if types[event.TypeFault] != 1 || fault.Fields["reason"] != "flood" || fault.Kind != event.KindPanic ||
		fault.Site != "s01" || fault.Fields["dropped"] != int64(1) {
		t.Errorf("faults %d, the first %+v; want one with reason flood", types[event.TypeFault], fault)
	}
	dropped := testutil.ToFloat64(h.d.m.dropped.WithLabelValues("box-1", "rate"))
	if dropped == 0 || types[event.TypeReleased]+int(dropped) != repeats {
		t.Errorf("%d repeats passed + %v dropped, want %d with drops", types[event.TypeReleased], dropped, repeats)
	}
	if !strings.Contains(h.logs.String(), "mqtt device floods") {
		t.Errorf("no flood log line:\n%s", h.logs.String())
	}

	clock.Advance(FloodRestoreAfter)
	e := h.next()
	if e.DeviceID != "box-1" || e.Type != event.TypeFaultRestore || e.Fields["reason"] != "flood" || e.Fields["dropped"] != int64(dropped) {
		t.Fatalf("after the quiet time: %v, want box-1's fault_restore after %v drops", e, dropped)
	}
	t.Logf("flood: %v", types)
}

// TestFloodFaultMessageAckedWhenDurable: the repeat that starts a flood raises the
// device's fault; that message is acknowledged to the broker only once the fault is
// durable, as any message that became an event (the repeats after it raise nothing
// and are acknowledged at once).
func TestFloodFaultMessageAckedWhenDurable(t *testing.T) {
	m := testenv.StartMosquitto(t, "")
	url := m.URL("tcp")
	cfg := panicConfig(t, url, t.TempDir())
	wm := event.NewWatermark()
	h := startDriverWith(t, cfg, Options{Durable: wm, Clock: clockwork.NewFakeClock()})
	pub := testPublisher(t, url)

	const box1 = "school/s01/panic/box-1/status"
	burst := cfg.Mappings[0].RateLimit.Burst
	for range burst + 5 { // the fake clock never moves: the bucket never refills
		publish(t, pub, box1, 1, `{"pressed":false,"tamper":false,"supply_v":12.1}`)
	}
	var fault event.Event
	for fault.Type != event.TypeFault {
		e := h.next()
		if e.Type == event.TypeFault {
			fault = e
			break
		}
		// Each repeat within the burst is an event: durable, then acknowledged.
		wm.Advance(e.Seq)
		h.awaitAcked(e.Seq)
	}
	if fault.Fields["reason"] != "flood" || fault.DeviceID != "box-1" {
		t.Fatalf("fault %+v", fault)
	}
	h.noAck()
	wm.Advance(fault.Seq)
	h.awaitAcked(fault.Seq)
}
