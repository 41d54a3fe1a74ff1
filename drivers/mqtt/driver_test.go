package mqtt

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/campusguard/campusguard/event"
	"github.com/campusguard/campusguard/event/eventtest"
	"github.com/campusguard/campusguard/health"
	"github.com/campusguard/campusguard/internal/testenv"
	"github.com/campusguard/campusguard/site"
)

// awaitTimeout bounds every wait for a signal; tests never sleep for a fixed time.
const awaitTimeout = 30 * time.Second

var testSite = &site.Site{ID: "s01", Name: "第一中学"}

var testDevices = []site.Device{
	{ID: "cam-1", Kind: event.KindKitchenCamera, Driver: "mqtt"},
	{ID: "cam-2", Kind: event.KindKitchenCamera, Driver: "mqtt"},
	{ID: "reader-9", Kind: event.KindPatrol, Driver: "mqtt"},
	{ID: "box-1", Kind: event.KindPanic, Driver: "mqtt"},
	{ID: "box-2", Kind: event.KindPanic, Driver: "mqtt"},
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type harness struct {
	t          *testing.T
	d          *Driver
	bus        *event.Bus
	sub        *event.Subscription
	reg        *prometheus.Registry
	logs       *syncBuffer
	subscribed chan subSync
	acked      chan uint64 // sequence numbers of the events whose messages were acknowledged
	cancel     context.CancelFunc
	done       chan error
}

// kitchenConfig is the shipped kitchen camera example pointed at url, with its session
// in storeDir.
func kitchenConfig(t *testing.T, url, storeDir string) Config {
	cfg := loadExample(t, "kitchen_camera.yaml")
	cfg.Brokers[0].URL = url
	cfg.Brokers[0].StoreDir = storeDir
	cfg.Brokers[0].ClientID = "campusguard-test-" + strings.ReplaceAll(t.Name(), "/", "-")
	cfg.Brokers[0].MaxReconnectInterval = time.Second
	return cfg
}

// startDriver applies cfg, runs a driver and waits until its subscriptions are made.
func startDriver(t *testing.T, cfg Config) *harness {
	t.Helper()
	return startDriverWith(t, cfg, Options{})
}

// startDriverWith is startDriver with o's Durable, Clock and QueueSize (the harness
// provides the rest).
func startDriverWith(t *testing.T, cfg Config, o Options) *harness {
	t.Helper()
	bus := event.NewBus(nil)
	h := &harness{
		t: t, bus: bus, sub: bus.Subscribe("test", 100000, event.Block), reg: prometheus.NewRegistry(),
		logs: &syncBuffer{}, subscribed: make(chan subSync, 1000), acked: make(chan uint64, 100000), done: make(chan error, 1),
	}
	o.Publisher, o.Registerer, o.Logger = bus, h.reg, slog.New(slog.NewTextHandler(h.logs, nil))
	h.d = New(o)
	h.d.hooks.subscribed = func(_ string, n int, f map[string]byte) { h.subscribed <- subSync{n, f} }
	h.d.hooks.acked = func(seq uint64) { h.acked <- seq }
	if err := h.d.Apply(cfg, site.NewDirectory(testSite, testDevices)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.done <- h.d.Run(ctx) }()
	t.Cleanup(h.stop)
	h.awaitSubscribed(cfg.Mappings[0].Topic, 1)
	return h
}

func (h *harness) stop() {
	if h.cancel == nil {
		return
	}
	h.cancel()
	select {
	case <-h.done:
	case <-time.After(awaitTimeout):
		h.t.Error("driver did not stop")
	}
	h.cancel = nil
}

// subSync is one completed subscription sync: on which connection, with what filters.
type subSync struct {
	connects int
	filters  map[string]byte
}

// awaitSubscribed waits for a subscription sync that includes filter, made on the
// connects-th connection of the client or a later one.
func (h *harness) awaitSubscribed(filter string, connects int) map[string]byte {
	h.t.Helper()
	timeout := time.After(awaitTimeout)
	for {
		select {
		case s := <-h.subscribed:
			if _, ok := s.filters[filter]; ok && s.connects >= connects {
				return s.filters
			}
		case <-timeout:
			h.t.Fatalf("no subscription to %s", filter)
		}
	}
}

// next returns the next event on the bus.
func (h *harness) next() event.Event {
	h.t.Helper()
	select {
	case e := <-h.sub.C():
		return e
	case <-time.After(awaitTimeout):
		h.t.Fatal("no event")
	}
	return event.Event{}
}

func detection(n int) string {
	return fmt.Sprintf(`{"event":"no_hat","confidence":0.9,"channel":%d,"time":1763643792}`, n)
}

// TestDeliverAndAck: a message becomes an event on the bus with site, device, kind.
func TestDeliverAndAck(t *testing.T) {
	url := testenv.MQTTURL(t)
	h := startDriver(t, kitchenConfig(t, url, t.TempDir()))
	pub := testPublisher(t, url)
	publish(t, pub, "school/s01/kitchen/cam-1/ai", 1, detection(1))
	e := h.next()
	if e.Site != "s01" || e.DeviceID != "cam-1" || e.Kind != event.KindKitchenCamera || e.Type != event.TypeDetection ||
		e.Fields["detection"] != "no_chef_hat" || e.Seq == 0 || e.Source != Source {
		t.Fatalf("got %+v", e)
	}
	publish(t, pub, "school/s01/kitchen/cam-1/status", 1, "offline")
	if e := h.next(); e.Type != event.TypeOffline || e.DeviceID != "cam-1" {
		t.Fatalf("got %v", e)
	}
	if st := h.d.Health(); st.State != health.Up {
		t.Errorf("health %+v", st)
	}
	if got := testutil.ToFloat64(h.d.m.messages.WithLabelValues("campus")); got != 2 {
		t.Errorf("messages_total = %v", got)
	}
}

// TestPersistentSession: QoS 1 messages published while the gateway was away (and
// across a broker restart) arrive when it comes back; a broker restart is survived
// with the session kept, and one that lost every session gets the subscriptions back
// from the gateway by itself.
func TestPersistentSession(t *testing.T) {
	m := testenv.StartMosquitto(t, "") // always our own: the test restarts it
	url := m.URL("tcp")
	store := t.TempDir()
	cfg := kitchenConfig(t, url, store)
	topic := cfg.Mappings[0].Topic

	h := startDriver(t, cfg)
	pub := testPublisher(t, url)
	publish(t, pub, "school/s01/kitchen/cam-1/ai", 1, detection(0))
	e := h.next()
	if e.Fields["channel"] != int64(0) {
		t.Fatalf("got %v", e)
	}
	h.awaitAcked(e.Seq)
	stopClient(m, h, cfg.Brokers[0].ClientID) // the gateway goes away; its session stays on the broker

	const n = 10
	for i := 1; i <= n; i++ {
		publish(t, pub, "school/s01/kitchen/cam-2/ai", 1, detection(i))
	}
	m.Restart(false) // queued messages must survive the broker restart too

	h2 := startDriver(t, cfg) // a new process: same client id, same store
	got := map[int64]bool{}
	for len(got) < n {
		e := h2.next()
		ch, _ := e.Fields["channel"].(int64)
		if ch < 1 || ch > n {
			t.Fatalf("unexpected event %v", e)
		}
		got[ch] = true
	}

	// awaitChannel waits for the event of channel want; earlier messages may come
	// again (at least once: an ack in flight when the broker stopped is lost).
	awaitChannel := func(want int64) {
		t.Helper()
		for {
			e := h2.next()
			ch, _ := e.Fields["channel"].(int64)
			if ch == want {
				return
			}
			if !(ch >= 1 && ch <= n) && ch != 100 {
				t.Fatalf("waiting for %d got %v", want, e)
			}
		}
	}

	// Broker restart while connected, session kept.
	m.Restart(false)
	h2.awaitSubscribed(topic, 2)
	pub2 := testPublisher(t, url)
	publish(t, pub2, "school/s01/kitchen/cam-2/ai", 1, detection(100))
	awaitChannel(100)

	// Broker restart that loses every session: the gateway subscribes again by itself.
	m.Restart(true)
	h2.awaitSubscribed(topic, 3)
	pub3 := testPublisher(t, url)
	publish(t, pub3, "school/s01/kitchen/cam-2/ai", 1, detection(200))
	awaitChannel(200)
	if r := testutil.ToFloat64(h2.d.m.reconnects.WithLabelValues("campus")); r < 2 {
		t.Errorf("reconnects_total = %v, want >= 2", r)
	}
}

// TestFlood: one camera sending the same detection as fast as it can is rate-limited
// and raises one flood fault; the other camera's events all arrive.
func TestFlood(t *testing.T) {
	url := testenv.MQTTURL(t)
	cfg := kitchenConfig(t, url, t.TempDir())
	cfg.Mappings[0].RateLimit = RateLimitConfig{Rate: 50, Burst: 50}
	h := startDriver(t, cfg)
	pub := testPublisher(t, url)

	const flood, quiet = 1000, 20
	var toks []interface{ Done() <-chan struct{} }
	for i := 0; i < flood; i++ {
		toks = append(toks, pub.Publish("school/s01/kitchen/cam-1/ai", 1, false, detection(i)))
		if i%(flood/quiet) == 0 {
			toks = append(toks, pub.Publish("school/s01/kitchen/cam-2/ai", 1, false, detection(i)))
		}
	}
	for _, tok := range toks {
		select {
		case <-tok.Done():
		case <-time.After(awaitTimeout):
			t.Fatal("publish not acknowledged")
		}
	}
	// A last message from the quiet camera: MQTT keeps one publisher's order, so when
	// it arrives every earlier message has been handled.
	publish(t, pub, "school/s01/kitchen/cam-2/ai", 1, detection(-1))
	counts := map[string]int{}
	faults := 0
	for {
		e := h.next()
		if e.Type == event.TypeFault {
			if e.DeviceID != "cam-1" || e.Fields["reason"] != "flood" {
				t.Errorf("fault %v", e)
			}
			faults++
			continue
		}
		counts[e.DeviceID]++
		if e.DeviceID == "cam-2" && e.Fields["channel"] == int64(-1) {
			break
		}
	}
	if counts["cam-2"] != quiet+1 {
		t.Errorf("quiet camera: %d events, want %d", counts["cam-2"], quiet+1)
	}
	dropped := testutil.ToFloat64(h.d.m.dropped.WithLabelValues("cam-1", "rate"))
	if dropped == 0 || counts["cam-1"]+int(dropped) != flood {
		t.Errorf("flooding camera: %d events + %v dropped, want %d in all with drops", counts["cam-1"], dropped, flood)
	}
	if faults != 1 {
		t.Errorf("%d flood faults, want 1", faults)
	}
	t.Logf("flood: %d of %d events passed, %v dropped (rate 50/s, burst 50)", counts["cam-1"], flood, dropped)
}

// TestMalformed: malformed payloads are counted per device and reason, logged once a
// minute per device, and the client keeps going.
func TestMalformed(t *testing.T) {
	url := testenv.MQTTURL(t)
	cfg := kitchenConfig(t, url, t.TempDir())
	cfg.Mappings[0].MaxPayload = 256
	h := startDriver(t, cfg)
	pub := testPublisher(t, url)
	const ai = "school/s01/kitchen/cam-1/ai"
	bad := []struct{ topic, payload, reason string }{
		{ai, "not json", "not_json"},
		{ai, "{\"event\":\"\xff\"}", "invalid_utf8"},
		{ai, `{"event":"` + strings.Repeat("x", 300) + `"}`, "oversized"},
		{ai, `{"confidence":0.5}`, "missing_field"},
		{ai, `{"event":"no_hat","channel":"one"}`, "wrong_type"},
		{ai, `{"event":"no_hat","time":"yesterday"}`, "wrong_type"},
		{"school/s01/kitchen/cam-1/status", "exploded", "bad_value"},
	}
	for _, b := range bad {
		publish(t, pub, b.topic, 1, b.payload)
	}
	publish(t, pub, "school/s01/kitchen/cam-404/ai", 1, detection(1))  // unknown device
	publish(t, pub, "school/s01/kitchen/reader-9/ai", 1, detection(1)) // a patrol reader
	publish(t, pub, "school/s01/kitchen/cam-1/ai", 1, detection(7))    // still works
	if e := h.next(); e.DeviceID != "cam-1" || e.Fields["channel"] != int64(7) {
		t.Fatalf("got %v", e)
	}
	want := map[string]float64{}
	for _, b := range bad {
		want[b.reason]++
	}
	for reason, n := range want {
		if got := testutil.ToFloat64(h.d.m.invalid.WithLabelValues("cam-1", reason)); got != n {
			t.Errorf("invalid_total{cam-1,%s} = %v, want %v", reason, got, n)
		}
	}
	if got := testutil.ToFloat64(h.d.m.dropped.WithLabelValues(unknownDevice, "unknown_device")); got != 1 {
		t.Errorf("unknown_device drops = %v", got)
	}
	if got := testutil.ToFloat64(h.d.m.dropped.WithLabelValues("reader-9", "kind_mismatch")); got != 1 {
		t.Errorf("kind_mismatch drops = %v", got)
	}
	if n := strings.Count(h.logs.String(), "device=cam-1 reason="); n != 1 {
		t.Errorf("%d log lines for cam-1's bad payloads, want 1 (rate-limited):\n%s", n, h.logs.String())
	}
	if n, err := testutil.GatherAndCount(h.reg, "campusguard_mqtt_invalid_total"); err != nil || n != len(want) {
		t.Errorf("invalid_total series = %d (%v)", n, err)
	}
}

// TestReload: a mapping change is applied on the running client (no reconnect); a
// broker change replaces the client.
func TestReload(t *testing.T) {
	url := testenv.MQTTURL(t)
	cfg := kitchenConfig(t, url, t.TempDir())
	h := startDriver(t, cfg)
	h.d.mu.Lock()
	client := h.d.brokers["campus"].client
	h.d.mu.Unlock()

	patrol := loadExample(t, "patrol.yaml").Mappings[0]
	patrol.Topic = "school/+/gate/+/scan"
	cfg2 := cfg
	cfg2.Mappings = []MappingConfig{cfg.Mappings[1], patrol} // drop kitchen-ai, add patrol
	if err := h.d.Apply(cfg2, site.NewDirectory(testSite, testDevices)); err != nil {
		t.Fatal(err)
	}
	subs := h.awaitSubscribed(patrol.Topic, 1)
	if _, still := subs[cfg.Mappings[0].Topic]; still || len(subs) != 2 {
		t.Fatalf("subscriptions after reload: %v", subs)
	}
	h.d.mu.Lock()
	same := h.d.brokers["campus"].client == client
	connects := h.d.brokers["campus"].connects
	h.d.mu.Unlock()
	if !same || connects != 1 {
		t.Errorf("mapping reload reconnected: same client %v, connects %d", same, connects)
	}
	pub := testPublisher(t, url)
	publish(t, pub, "school/s01/kitchen/cam-1/ai", 1, detection(1)) // no longer mapped
	publish(t, pub, "school/s01/gate/reader-9/scan", 1, `{"card":"C1","checkpoint":"CP-01","ts":"2026-11-20T21:03:12+08:00"}`)
	if e := h.next(); e.DeviceID != "reader-9" || e.Type != event.TypeScan {
		t.Fatalf("got %v", e)
	}

	// An invalid config changes nothing.
	bad := cfg2
	bad.Mappings = append([]MappingConfig(nil), cfg2.Mappings...)
	bad.Mappings[1].Broker = "nowhere"
	if err := h.d.Apply(bad, nil); err == nil || !strings.Contains(err.Error(), "mappings[1].broker") {
		t.Errorf("bad config: %v", err)
	}

	// A changed broker gets a new client (and subscribes again).
	cfg3 := cfg2
	cfg3.Brokers = append([]BrokerConfig(nil), cfg2.Brokers...)
	cfg3.Brokers[0].KeepAlive = 20 * time.Second
	if err := h.d.Apply(cfg3, site.NewDirectory(testSite, testDevices)); err != nil {
		t.Fatal(err)
	}
	h.awaitSubscribed(patrol.Topic, 1)
	h.d.mu.Lock()
	same = h.d.brokers["campus"].client == client
	h.d.mu.Unlock()
	if same {
		t.Error("broker change kept the old client")
	}
}

// TestPublishAPI: Driver.Publish waits for the PUBACK; the message loops back as an event.
func TestPublishAPI(t *testing.T) {
	url := testenv.MQTTURL(t)
	h := startDriver(t, kitchenConfig(t, url, t.TempDir()))
	ctx, cancel := context.WithTimeout(context.Background(), awaitTimeout)
	defer cancel()
	if err := h.d.Publish(ctx, "campus", "school/s01/kitchen/cam-2/ai", 1, false, []byte(detection(5))); err != nil {
		t.Fatal(err)
	}
	if e := h.next(); e.DeviceID != "cam-2" || e.Fields["channel"] != int64(5) {
		t.Fatalf("got %v", e)
	}
	if err := h.d.Publish(ctx, "nope", "x", 1, false, nil); err == nil {
		t.Error("unknown broker accepted")
	}
}

// TestHealthDown: an unreachable broker is reported down with its last error, and Run
// still stops at once.
func TestHealthDown(t *testing.T) {
	cfg := kitchenConfig(t, fmt.Sprintf("tcp://127.0.0.1:%d", testenv.FreePort(t)), t.TempDir())
	cfg.Brokers[0].ConnectTimeout = time.Second
	bus := event.NewBus(nil)
	d := New(Options{Publisher: bus, Logger: slog.New(slog.NewTextHandler(&syncBuffer{}, nil))})
	if err := d.Apply(cfg, nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	st := d.Health()
	if st.State != health.Down {
		t.Errorf("health %+v", st)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(awaitTimeout):
		t.Fatal("Run did not stop")
	}
}

// TestAckAfterHandOff: a message whose event could not be handed on is not
// acknowledged, so the broker delivers it again to the next session.
func TestAckAfterHandOff(t *testing.T) {
	m := testenv.StartMosquitto(t, "")
	url := m.URL("tcp")
	cfg := kitchenConfig(t, url, t.TempDir())

	fp := eventtest.NewRecorder(nil)
	fp.Fail(event.ErrClosed) // a bus that is closed or stuck
	d := New(Options{Publisher: fp, Logger: slog.New(slog.NewTextHandler(&syncBuffer{}, nil))})
	subscribed := make(chan struct{}, 100)
	d.hooks.subscribed = func(string, int, map[string]byte) { subscribed <- struct{}{} }
	if err := d.Apply(cfg, site.NewDirectory(testSite, testDevices)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	select {
	case <-subscribed:
	case <-time.After(awaitTimeout):
		t.Fatal("not subscribed")
	}
	pub := testPublisher(t, url)
	publish(t, pub, "school/s01/kitchen/cam-1/ai", 1, detection(42))
	offered, stop := context.WithTimeout(context.Background(), awaitTimeout)
	defer stop()
	if err := fp.AwaitTries(offered, 1); err != nil {
		t.Fatalf("event not offered: %v", err)
	}
	cancel()
	<-done

	h := startDriver(t, cfg)
	if e := h.next(); e.Fields["channel"] != int64(42) {
		t.Fatalf("got %v", e)
	}
}
