package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/jonboulle/clockwork"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/alerting/policelink/dc09"
	"github.com/campusguard/campusguard/alerting/policelink/dc09/centre"
	"github.com/campusguard/campusguard/alerting/sinks/mqttsink"
	gpiodrv "github.com/campusguard/campusguard/drivers/gpio"
	"github.com/campusguard/campusguard/health"
	"github.com/campusguard/campusguard/internal/config"
	"github.com/campusguard/campusguard/internal/testenv"
)

// The alarm conformance suite drives the real daemon wiring from the outside: periph's
// gpiotest pins for the wired button and the siren, the embedded MQTT broker for MQTT
// devices and the staff's alarm messages, a DC-09 receiving centre on a loopback TCP
// port for the police, and the bbolt journal; a fake clock where time matters. Each
// scenario reads as the steps an officer goes through.

// siteConfig is the conformance campus. %[1]s state dir, %[2]s http, %[3]s broker,
// %[4]s police receiver, %[5]s extra top-level keys.
const siteConfig = `site:
  id: cf
  name: 一致性测试学校
  zones:
    - {id: gate, name: 校门, number: 1}
    - {id: dorm, name: 宿舍, number: 2}
    - {id: balcony, name: 三楼阳台, number: 3}
devices:
  - {id: panic-gate, kind: panic, name: 门卫室一键报警, location: 校门门卫室, zone: gate, number: 11, driver: gpio, heartbeat: -1s}
  - {id: panic-dorm, kind: panic, name: 宿舍值班室一键报警, location: 宿舍一楼值班室, zone: dorm, number: 21, driver: mqtt, heartbeat: -1s}
  - {id: radar-east, kind: antifall, name: 三楼东阳台防坠雷达, location: 三楼东阳台, zone: balcony, number: 31, driver: mqtt, heartbeat: -1s}
state_dir: %[1]s
http: {listen: "%[2]s"}
broker: {enabled: true, listen: "%[3]s"}
log: {level: error}
gpio:
  inputs:
    - device: panic-gate
      pin: GPIO17
      contact: "no"
      active_level: low
      pull: up
      debounce: -1s
      hold: 0s
      supervision: {pin: GPIO27, trouble_level: high, pull: up, cause: cut}
  outputs:
    - {id: siren-gate, pin: GPIO5, active_level: high, pattern: steady, max_on: 2m}
    - {id: strobe-balcony, pin: GPIO6, active_level: low, pattern: steady, max_on: 10m}
mqtt:
  brokers:
    - {name: campus, url: "tcp://%[3]s"}
  mappings:
    - name: panic-module
      broker: campus
      topic: cf/panic/+/status
      kind: panic
      device_id: {topic_level: 2}
      type: {field: pressed, map: {"true": pressed, "false": released}}
      fields:
        - {name: pressed, type: bool, required: true}
      rate_limit: {rate: 20, burst: 50}
    - name: radar
      broker: campus
      topic: cf/radar/+/state
      kind: antifall
      device_id: {topic_level: 2}
      type: {field: occupied, map: {"true": active, "false": inactive}}
      fields:
        - {name: occupied, type: bool, required: true}
rules_dir: rules
alerting:
  local: {severities: [critical, major]}
  routes:
    sinks: [staff, siren]
    routes:
      # A cut or tampered line is reported to the police too (GB 50394).
      - match: {class: tamper}
        sinks: [staff, siren, police]
sinks:
  siren:
    outputs:
      - {id: siren-gate, pattern: steady, max_on: 2m}
      - {id: strobe-balcony, pattern: steady, max_on: 10m}
    routes:
      - {zones: [gate, dorm], outputs: [siren-gate]}
      - {zones: [balcony], outputs: [strobe-balcony]}
  mqtt:
    name: staff
    topic_prefix: cg/cf
    client: {url: "tcp://%[3]s", client_id: cg-cf-alarms}
    ack: {enabled: true, auth: hmac, secret: conformance-ack-secret-0123}
policelink:
  enabled: true
  account: "5678"
  key: ABCDABCDABCDABCDABCDABCDABCDABCD
  key_encoding: hex
  transport: tcp
  timeout: 2s
  main: {primary: "%[4]s"}
  supervision: {main: 1h}
  periodic_test: {disabled: true}
  mappings:
    - {match: {class: panic}, code: 120, restore: true}
    - {match: {class: tamper}, code: 144, restore: true}
    - {match: {class: intrusion}, code: 130, restore: true}
%[5]s`

// siteRules are the operator's rules: the panic alarm is built in, so there is none
// for it here.
const siteRules = `rules:
  - name: balcony-intrusion
    severity: critical
    select: {kinds: [antifall]}
    when: type == "active"
    resolve: type == "inactive"
    renotify: 30m
    message: "【防坠】{{.Device.Location}}有人"
  - name: device-tamper
    severity: critical
    select: {}
    when: type == "tamper"
    resolve: type == "tamper_restore"
    message: "【防拆】{{.Device.Name}}线路被剪断"
  - name: device-fault
    severity: major
    select: {}
    when: type == "fault"
    resolve: type == "fault_restore"
    message: "【故障】{{.Device.Name}}{{with .Fields.reason}}：{{.}}{{end}}"
`

// recPin is a gpiotest pin that records every level written to it, in order.
type recPin struct {
	gpiotest.Pin
	mu     sync.Mutex
	writes []gpio.Level
	onOut  func(gpio.Level)
}

func (p *recPin) Out(l gpio.Level) error {
	p.mu.Lock()
	p.writes = append(p.writes, l)
	hook := p.onOut
	p.mu.Unlock()
	err := p.Pin.Out(l)
	if hook != nil {
		hook(l)
	}
	return err
}

// setOnOut installs a hook called after every level written (benchmarks await it
// instead of polling the line).
func (p *recPin) setOnOut(f func(gpio.Level)) {
	p.mu.Lock()
	p.onOut = f
	p.mu.Unlock()
}

// In configures the pin as an input. Unlike a bare gpiotest pin (an open pin follows
// its pull), a wired pin keeps the level its wiring drives: a closed supervision loop
// reads low through its pull-up.
func (p *recPin) In(pull gpio.Pull, edge gpio.Edge) error {
	p.Pin.Lock()
	defer p.Pin.Unlock()
	p.P = pull
	for {
		select {
		case <-p.EdgesChan:
		default:
			return nil
		}
	}
}

func (p *recPin) Writes() []gpio.Level {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]gpio.Level(nil), p.writes...)
}

// harness is one running daemon with its outside world.
type harness struct {
	t      testing.TB
	dir    string
	cfg    string // the main config file
	d      *Daemon
	clock  *clockwork.FakeClock
	pins   map[string]*recPin
	police *centre.Receiver
	broker string
	dev    paho.Client // publishes device messages

	staffMu sync.Mutex
	staff   []mqttsink.EventMessage
	staffCh chan struct{}
	mqttUp  chan struct{} // an MQTT client of the daemon logged its connection

	cancel context.CancelFunc
	done   chan error
}

type harnessOpt struct {
	extra    string            // more top-level config
	confd    map[string]string // files in conf.d
	rules    *string
	police   *centre.Receiver
	noPolice bool   // no receiver at all (the police path is down for the whole scenario)
	stateDir string // "" = a temp dir
	// journalReserve sets alerting.journal_reserve ("" = the default).
	journalReserve string
	// heldAtStart: the gate button is already pressed when the daemon starts.
	heldAtStart bool
}

func newHarness(t testing.TB, o harnessOpt) *harness {
	t.Helper()
	h := &harness{t: t, dir: t.TempDir(), broker: testenv.FreeAddr(t), staffCh: make(chan struct{}, 1),
		mqttUp: make(chan struct{}, 1), clock: clockwork.NewFakeClockAt(time.Now())}
	h.pins = map[string]*recPin{}
	for _, n := range []string{"GPIO17", "GPIO27", "GPIO5", "GPIO6"} {
		p := &recPin{Pin: gpiotest.Pin{N: n, L: gpio.High, EdgesChan: make(chan gpio.Level, 16)}}
		if n == "GPIO27" {
			p.L = gpio.Low // supervision: normal is low
		}
		h.pins[n] = p
	}
	if o.heldAtStart {
		h.pins["GPIO17"].L = gpio.Low
	}
	h.police = o.police
	policeAddr := "127.0.0.1:1" // nothing listens there: the path is down
	if h.police == nil && !o.noPolice {
		h.police = startReceiver(t)
	}
	if h.police != nil {
		policeAddr = h.police.TCPAddr()
	}
	rules := siteRules
	if o.rules != nil {
		rules = *o.rules
	}
	if err := os.MkdirAll(filepath.Join(h.dir, "rules"), 0o755); err != nil {
		t.Fatal(err)
	}
	h.cfg = filepath.Join(h.dir, "campusguard.yaml")
	state := filepath.Join(h.dir, "state")
	if o.stateDir != "" {
		state = o.stateDir
	}
	extra := o.extra
	text := fmt.Sprintf(siteConfig, state, testenv.FreeAddr(t), h.broker, policeAddr, extra)
	if o.journalReserve != "" {
		text = strings.Replace(text, "alerting:\n", "alerting:\n  journal_reserve: "+o.journalReserve+"\n", 1)
	}
	h.write("campusguard.yaml", text)
	if len(o.confd) > 0 {
		if err := os.MkdirAll(filepath.Join(h.dir, "conf.d"), 0o755); err != nil {
			t.Fatal(err)
		}
		for n, c := range o.confd {
			h.write(filepath.Join("conf.d", n), c)
		}
	}
	if rules != "" {
		h.write("rules/site.yaml", rules)
	}
	h.start()
	t.Cleanup(h.stop)
	return h
}

func (h *harness) write(name, text string) {
	h.t.Helper()
	if err := os.WriteFile(filepath.Join(h.dir, name), []byte(text), 0o600); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) pinSource() gpiodrv.PinSource {
	m := map[string]gpio.PinIO{}
	for n, p := range h.pins {
		m[n] = p
	}
	return gpiodrv.NewMapSource(m)
}

// start runs the daemon (again, after stop: a restart on the same state dir).
func (h *harness) start() {
	h.t.Helper()
	ready := make(chan *Daemon, 1)
	d, err := New(Options{Source: config.DiskSource(h.cfg), Logger: signalLogger(harnessLogger(), "mqtt connected", h.mqttUp),
		Clock: h.clock, Pins: h.pinSource(), WatchInterval: time.Hour,
		Notify: func(string) {}, Ready: func(d *Daemon) { ready <- d }})
	if err != nil {
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel, h.done = cancel, make(chan error, 1)
	go func() { h.done <- d.Run(ctx) }()
	select {
	case <-ready:
	case err := <-h.done:
		h.t.Fatalf("daemon did not start: %v", err)
	case <-time.After(30 * time.Second):
		h.t.Fatal("daemon not ready within 30 s")
	}
	h.d = d
	h.connect()
	h.awaitStaffSink()
}

// awaitStaffSink waits until the staff's MQTT sink is connected to the broker: a
// notification before that fails and waits for its retry on the fake clock. The
// sink's client logs "mqtt connected" once its connection is open: each such record
// is the moment to look again.
func (h *harness) awaitStaffSink() {
	h.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		st := h.d.health.Check().Components["sink/staff"]
		if own, ok := st.Detail["sink"].(health.Status); ok && own.Detail["connected"] == true {
			return
		}
		select {
		case <-h.mqttUp:
		case <-deadline:
			h.t.Fatal("the staff's MQTT sink did not connect within 10 s")
		}
	}
}

func (h *harness) connect() {
	opts := paho.NewClientOptions().AddBroker("tcp://" + h.broker).SetClientID(fmt.Sprintf("cf-watch-%d", time.Now().UnixNano())).SetCleanSession(true)
	c := paho.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		h.t.Fatalf("watcher connect: %v", tok.Error())
	}
	tok := c.Subscribe("cg/cf/events", 1, func(_ paho.Client, m paho.Message) {
		var em mqttsink.EventMessage
		if err := json.Unmarshal(m.Payload(), &em); err == nil {
			h.staffMu.Lock()
			h.staff = append(h.staff, em)
			h.staffMu.Unlock()
			select {
			case h.staffCh <- struct{}{}:
			default:
			}
		}
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		h.t.Fatalf("watcher subscribe: %v", tok.Error())
	}
	h.dev = c
}

// stop stops the daemon cleanly (a restart test starts it again).
func (h *harness) stop() {
	if h.cancel == nil {
		return
	}
	if h.dev != nil {
		h.dev.Disconnect(100)
		h.dev = nil
	}
	h.cancel()
	select {
	case err := <-h.done:
		if err != nil {
			h.t.Errorf("daemon stopped with %v", err)
		}
	case <-time.After(30 * time.Second):
		h.t.Error("daemon did not stop within 30 s")
	}
	h.cancel = nil
}

// --- inputs ---

// press and release the wired panic button at the gate (active low).
func (h *harness) pressGate()   { h.edge("GPIO17", gpio.Low) }
func (h *harness) releaseGate() { h.edge("GPIO17", gpio.High) }

// cutGateCable opens the gate button's supervision loop (tamper: a cut cable).
func (h *harness) cutGateCable()     { h.edge("GPIO27", gpio.High) }
func (h *harness) restoreGateCable() { h.edge("GPIO27", gpio.Low) }

func (h *harness) edge(pin string, l gpio.Level) {
	h.t.Helper()
	p := h.pins[pin]
	p.Lock()
	p.L = l
	p.Unlock()
	select {
	case p.EdgesChan <- l:
	case <-time.After(10 * time.Second):
		h.t.Fatalf("pin %s: nobody reads its edges", pin)
	}
}

// mqttDevice publishes a device message on the embedded broker (QoS 1).
func (h *harness) mqttDevice(topic, payload string) {
	h.t.Helper()
	tok := h.dev.Publish(topic, 1, false, payload)
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		h.t.Fatalf("publish %s: %v", topic, tok.Error())
	}
}

func (h *harness) pressDorm()   { h.mqttDevice("cf/panic/panic-dorm/status", `{"pressed":true}`) }
func (h *harness) releaseDorm() { h.mqttDevice("cf/panic/panic-dorm/status", `{"pressed":false}`) }

// --- what people do ---

func (h *harness) ack(id, by string) {
	h.t.Helper()
	if err := h.d.p.alerts.Ack(context.Background(), id, by, "已到现场"); err != nil {
		h.t.Fatalf("ack %s: %v", id, err)
	}
}

// ackOverMQTT is a staff app's signed acknowledgement on the alarm sink's ack topic.
func (h *harness) ackOverMQTT(id, by string) {
	h.t.Helper()
	topic := "cg/cf/ack"
	m := mqttsink.AckMessage{AlarmID: id, By: by, Note: "已到现场", TS: h.clock.Now().Unix()}
	m.Sig = mqttsink.SignAck("conformance-ack-secret-0123", topic, m)
	b, err := json.Marshal(m)
	if err != nil {
		h.t.Fatal(err)
	}
	h.mqttDevice(topic, string(b))
}

func (h *harness) reset(id, by string) {
	h.t.Helper()
	if err := h.d.p.alerts.Resolve(context.Background(), id, by, "已复位"); err != nil {
		h.t.Fatalf("reset %s: %v", id, err)
	}
}

// advance moves the fake clock and lets the daemon's loop run its timers.
func (h *harness) advance(d time.Duration) {
	h.clock.Advance(d)
	h.settle()
}

// settle waits until the main loop has processed everything published so far and
// has gone round once more (its timers and resets included).
func (h *harness) settle() {
	h.t.Helper()
	want := h.d.bus.Published()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := h.d.processed.Wait(ctx, want); err != nil {
		if os.Getenv("CG_TEST_DUMP") != "" {
			_ = pprof.Lookup("goroutine").WriteTo(os.Stderr, 1)
		}
		h.t.Fatalf("main loop did not process event %d within 20 s", want)
	}
	// One more round trip through the loop: a reload request that does nothing is
	// answered only after everything queued before it.
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = h.d.Ping(ctx)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		if os.Getenv("CG_TEST_DUMP") != "" {
			_ = pprof.Lookup("goroutine").WriteTo(os.Stderr, 1)
		}
		h.t.Fatal("main loop did not answer")
	}
}

// --- what comes out ---

// staffSaw waits for the staff message number n (1-based) and returns every message
// so far.
func (h *harness) staffUntil(pred func([]mqttsink.EventMessage) bool, what string) []mqttsink.EventMessage {
	h.t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		h.staffMu.Lock()
		got := append([]mqttsink.EventMessage(nil), h.staff...)
		h.staffMu.Unlock()
		if pred(got) {
			return got
		}
		select {
		case <-h.staffCh:
		case <-time.After(500 * time.Millisecond):
			// Nothing for a while: a delivery tried before its sink connected waits for
			// its back-off on the fake clock. Let a second pass.
			h.clock.Advance(time.Second)
		case <-deadline:
			h.t.Fatalf("staff never got %s; got %s", what, describeStaff(got))
			return nil
		}
	}
}

// staffGets waits for a staff message of transition tr for an alarm of rule (any
// alarm when rule is ""), beyond the first skip such messages, and returns it.
func (h *harness) staffGets(tr alerting.Transition, rule string, nth int) mqttsink.EventMessage {
	h.t.Helper()
	var hit mqttsink.EventMessage
	h.staffUntil(func(ms []mqttsink.EventMessage) bool {
		n := 0
		for _, m := range ms {
			if m.Transition == tr && (rule == "" || m.Alarm.Rule == rule) {
				n++
				if n == nth {
					hit = m
					return true
				}
			}
		}
		return false
	}, fmt.Sprintf("%s #%d of %q", tr, nth, rule))
	return hit
}

func (h *harness) staffCount(tr alerting.Transition, rule string) int {
	h.staffMu.Lock()
	defer h.staffMu.Unlock()
	n := 0
	for _, m := range h.staff {
		if m.Transition == tr && (rule == "" || m.Alarm.Rule == rule) {
			n++
		}
	}
	return n
}

func describeStaff(ms []mqttsink.EventMessage) string {
	var b strings.Builder
	for _, m := range ms {
		fmt.Fprintf(&b, "\n  %s %s %s count=%d", m.Transition, m.Alarm.Rule, m.Alarm.ID, m.Alarm.Count)
	}
	return b.String()
}

// policeCID is one Contact ID report as the receiving centre decoded it.
type policeCID struct {
	Code, Qualifier, Area, Zone int
	Account                     string
}

func (c policeCID) String() string {
	return fmt.Sprintf("%d/%d zone %d", c.Code, c.Qualifier, c.Zone)
}

// policeGot waits until the receiving centre holds at least n Contact ID reports and
// returns them in arrival order.
func (h *harness) policeGot(n int) []policeCID {
	h.t.Helper()
	msgs := waitCIDs(h.t, h.police, n)
	var out []policeCID
	for _, m := range msgs {
		_, cid, err := dc09.ParseCID(m.Data)
		if err != nil {
			h.t.Fatalf("contact id %q: %v", m.Data, err)
		}
		out = append(out, policeCID{Code: cid.Code, Qualifier: cid.Qualifier, Area: cid.Area, Zone: cid.Zone, Account: m.Account})
	}
	return out
}

func (h *harness) policeCount() int {
	n := 0
	for _, g := range h.police.Received() {
		if g.Message.ID == dc09.TokenADMCID {
			n++
		}
	}
	return n
}

// siren is the gate siren's line: true when it sounds.
func (h *harness) sirenOn() bool { return h.pins["GPIO5"].Read() == gpio.High }

// awaitSiren waits until the gate siren's line is on (or off): an output's own timers
// (max-on, patterns) write it on their goroutines, so wait for the write.
func (h *harness) awaitSiren(on bool) {
	h.t.Helper()
	p := h.pins["GPIO5"]
	wrote := make(chan struct{}, 1)
	p.setOnOut(func(gpio.Level) {
		select {
		case wrote <- struct{}{}:
		default:
		}
	})
	defer p.setOnOut(nil)
	deadline := time.After(10 * time.Second)
	for h.sirenOn() != on {
		select {
		case <-wrote:
		case <-deadline:
			h.t.Fatalf("siren on=%v, want %v", h.sirenOn(), on)
		}
	}
}

// strobeOn is the balcony strobe (active low).
func (h *harness) strobeOn() bool { return h.pins["GPIO6"].Read() == gpio.Low }

// open returns the open alarms.
func (h *harness) open() []alerting.Alarm { return h.d.p.alerts.Active() }

// openOf returns the one open alarm of rule.
func (h *harness) openOf(rule string) alerting.Alarm {
	h.t.Helper()
	var out []alerting.Alarm
	for _, a := range h.open() {
		if a.Rule == rule {
			out = append(out, a)
		}
	}
	if len(out) != 1 {
		h.t.Fatalf("open alarms of %s: %+v", rule, out)
	}
	return out[0]
}

// history returns the journal's history actions of alarm id, in order.
func (h *harness) history(id string) []string {
	h.t.Helper()
	det, err := h.d.p.journal.Alarm(id)
	if err != nil {
		h.t.Fatalf("journal alarm %s: %v", id, err)
	}
	var out []string
	for _, r := range det.History {
		out = append(out, r.Action)
	}
	return out
}

// harnessLogger discards the daemon's log unless CG_TEST_LOG is set.
func harnessLogger() *slog.Logger {
	if os.Getenv("CG_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// signalLogger wraps log: every record whose message is msg also signals ch (without
// blocking; ch is meant to hold one token).
func signalLogger(log *slog.Logger, msg string, ch chan<- struct{}) *slog.Logger {
	return slog.New(signalHandler{inner: log.Handler(), msg: msg, ch: ch})
}

type signalHandler struct {
	inner slog.Handler
	msg   string
	ch    chan<- struct{}
}

func (s signalHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelInfo || s.inner.Enabled(ctx, l)
}

func (s signalHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == s.msg {
		select {
		case s.ch <- struct{}{}:
		default:
		}
	}
	if !s.inner.Enabled(ctx, r.Level) {
		return nil
	}
	return s.inner.Handle(ctx, r)
}

func (s signalHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return signalHandler{inner: s.inner.WithAttrs(as), msg: s.msg, ch: s.ch}
}

func (s signalHandler) WithGroup(n string) slog.Handler {
	return signalHandler{inner: s.inner.WithGroup(n), msg: s.msg, ch: s.ch}
}
