package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/alerting/policelink/dc09"
	"github.com/campusguard/campusguard/alerting/policelink/dc09/centre"
	"github.com/campusguard/campusguard/alerting/sinks/mqttsink"
	"github.com/campusguard/campusguard/internal/config"
	"github.com/campusguard/campusguard/internal/testenv"
)

// e2eConfig is a small campus: a GPIO panic button with a siren (periph's gpiotest
// pins), the embedded broker, and the MQTT alarm sink.
const e2eConfig = `site:
  id: e2e
  name: 端到端测试学校
  zones:
    - {id: gate, name: 校门, number: 1}
devices:
  - {id: panic-gate, kind: panic, name: 门卫室一键报警, location: 校门门卫室, zone: gate, driver: gpio, heartbeat: -1s}
state_dir: %[1]s
http: {listen: "%[2]s"}
broker: {enabled: true, listen: "%[3]s"}
log: {level: error}
gpio:
  inputs:
    - {device: panic-gate, pin: GPIO17, contact: "no", active_level: low, pull: up, debounce: -1s, hold: 0s}
  outputs:
    - {id: siren-gate, pin: GPIO5, active_level: high, pattern: steady, max_on: 3m}
mqtt:
  brokers:
    - {name: campus, url: "tcp://%[3]s"}
rules_dir: rules
alerting:
  local: {severities: [critical]}
  routes: {sinks: [staff, siren]}
sinks:
  siren:
    outputs: [{id: siren-gate, pattern: steady, max_on: 3m}]
    routes: [{device_kinds: [panic], outputs: [siren-gate]}]
    resound_after: 0s
  mqtt:
    name: staff
    topic_prefix: cg/e2e
    client: {url: "tcp://%[3]s", client_id: cg-e2e-alarms}
`

// e2eRules: the panic alarm is built in; the operator adds nothing for it.
const e2eRules = `rules: []
`

// e2ePolice adds the police link to a loopback DC-09 receiver (AES-128, TCP).
const e2ePolice = `policelink:
  enabled: true
  account: "1234"
  key: ABCDABCDABCDABCDABCDABCDABCDABCD
  key_encoding: hex
  transport: tcp
  timeout: 2s
  main: {primary: "%s"}
  supervision: {main: 1h}
  periodic_test: {disabled: true}
  mappings:
    - {match: {kind: panic}, code: 120, restore: true}
`

// startE2E runs a daemon in-process and returns it once ready, with an MQTT client
// subscribed to the alarm sink's events topic.
func startE2E(t testing.TB, extra ...string) (*Daemon, <-chan mqttsink.EventMessage) {
	t.Helper()
	dir := t.TempDir()
	brokerAddr := testenv.FreeAddr(t)
	if err := os.MkdirAll(filepath.Join(dir, "rules"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "campusguard.yaml")
	cfgText := fmt.Sprintf(e2eConfig, filepath.Join(dir, "state"), testenv.FreeAddr(t), brokerAddr)
	for _, e := range extra {
		cfgText += e
	}
	if err := os.WriteFile(cfgPath, []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "rules", "panic.yaml"), []byte(e2eRules), 0o600); err != nil {
		t.Fatal(err)
	}
	ready := make(chan *Daemon, 1)
	pins := e2ePins(t)
	d, err := New(Options{Source: config.DiskSource(cfgPath), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Pins: pins, Notify: func(string) {}, Ready: func(d *Daemon) { ready <- d }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("daemon stopped with %v", err)
		}
	})
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("daemon did not start: %v", err)
	}

	msgs := make(chan mqttsink.EventMessage, 1024)
	opts := paho.NewClientOptions().AddBroker("tcp://" + brokerAddr).SetClientID("e2e-watcher").SetCleanSession(true)
	c := paho.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("watcher connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	tok := c.Subscribe("cg/e2e/events", 1, func(_ paho.Client, m paho.Message) {
		var em mqttsink.EventMessage
		if err := json.Unmarshal(m.Payload(), &em); err == nil {
			msgs <- em
		}
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("watcher subscribe: %v", tok.Error())
	}
	return d, msgs
}

func await(t testing.TB, msgs <-chan mqttsink.EventMessage, tr alerting.Transition) mqttsink.EventMessage {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case m := <-msgs:
			if m.Transition == tr {
				return m
			}
		case <-deadline:
			t.Fatalf("no %s notification within 30 s", tr)
		}
	}
}

// TestPanicPressEndToEnd: a press on the GPIO line (gpiotest) becomes a critical alarm
// that sounds the siren before it is journaled and published to staff over MQTT;
// the journal holds it; the staff's acknowledgement silences the siren.
func TestPanicPressEndToEnd(t *testing.T) {
	d, msgs := startE2E(t)
	button, siren := e2ePin(d, "GPIO17"), e2ePin(d, "GPIO5")
	if siren.Read() != gpio.Low {
		t.Fatal("siren on at start")
	}
	button.EdgesChan <- gpio.Low // pressed
	m := await(t, msgs, alerting.Fired)
	// The siren sounded before the commit that led to this notification.
	if siren.Read() != gpio.High {
		t.Error("siren off when the staff notification arrived")
	}
	a := m.Alarm
	if a.Rule != "builtin-panic" || a.DeviceID != "panic-gate" || a.Severity != alerting.Critical || a.Location != "校门门卫室" || !a.Latched {
		t.Errorf("alarm = %+v", a)
	}
	if a.Message != "【紧急报警】校门门卫室（门卫室一键报警）一键报警按钮被按下" {
		t.Errorf("message = %q", a.Message)
	}
	det, err := d.p.journal.Alarm(a.ID)
	if err != nil || det.Alarm.ID != a.ID {
		t.Fatalf("alarm %s not in the journal: %v", a.ID, err)
	}
	// Released: the alarm latches (GB 50394), it does not resolve by itself.
	button.EdgesChan <- gpio.High
	await(t, msgs, alerting.ConditionEnd)
	if act := d.p.alerts.Active(); len(act) != 1 || act[0].ID != a.ID {
		t.Fatalf("active after release = %+v", act)
	}
	if err := d.p.alerts.Ack(context.Background(), a.ID, "张伟", "已到现场"); err != nil {
		t.Fatal(err)
	}
	ack := await(t, msgs, alerting.Acked)
	if ack.Alarm.AckedBy != "张伟" {
		t.Errorf("acked by %q", ack.Alarm.AckedBy)
	}
	if err := d.p.alerts.Resolve(context.Background(), a.ID, "张伟", "误报已复位"); err != nil {
		t.Fatal(err)
	}
	await(t, msgs, alerting.ResolvedT)
	if siren.Read() != gpio.Low {
		t.Error("siren still on after the alarm was resolved")
	}
}

// BenchmarkPanicToStaff measures a GPIO press (gpiotest edge) → rule → journal commit
// (fsync) → MQTT sink publish acknowledged by the broker → the staff client receives
// it. Reports p50 and p99 in ms.
func BenchmarkPanicToStaff(b *testing.B) {
	d, msgs := startE2E(b)
	reportLatency(b, panicRounds(b, d, msgs))
}

// panicRounds presses the GPIO panic button b.N times and returns how long each
// press took to reach the staff.
func panicRounds(b *testing.B, d *Daemon, msgs <-chan mqttsink.EventMessage) []time.Duration {
	button := e2ePin(d, "GPIO17")
	var lat []time.Duration
	for i := 0; i < b.N; i++ {
		start := time.Now()
		button.EdgesChan <- gpio.Low
		m := await(b, msgs, alerting.Fired)
		lat = append(lat, time.Since(start))
		// A panic latches: release the button and reset the alarm by hand before the next press.
		button.EdgesChan <- gpio.High
		await(b, msgs, alerting.ConditionEnd)
		if err := d.p.alerts.Resolve(context.Background(), m.Alarm.ID, "bench", "reset"); err != nil {
			b.Fatal(err)
		}
		await(b, msgs, alerting.ResolvedT)
	}
	return lat
}

func reportLatency(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	q := func(p float64) float64 {
		return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
}

func startReceiver(t testing.TB) *centre.Receiver {
	t.Helper()
	key, err := dc09.ParseKey("ABCDABCDABCDABCDABCDABCDABCDABCD", dc09.KeyHex)
	if err != nil {
		t.Fatal(err)
	}
	r := centre.New(centre.Config{Network: "tcp", Key: key})
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Stop() })
	return r
}

// TestPanicReachesPolice: a GPIO panic press reaches the police receiving centre as an
// encrypted Contact ID 120 for the button's zone, and the reset as its restore.
func TestPanicReachesPolice(t *testing.T) {
	r := startReceiver(t)
	d, msgs := startE2E(t, fmt.Sprintf(e2ePolice, r.TCPAddr()))
	button := e2ePin(d, "GPIO17")
	button.EdgesChan <- gpio.Low
	m := await(t, msgs, alerting.Fired)
	got := waitCIDs(t, r, 1)
	msg := got[0]
	if !msg.Encrypted || msg.ID != dc09.TokenADMCID {
		t.Fatalf("police frame %+v", msg)
	}
	if _, cid, err := dc09.ParseCID(msg.Data); err != nil || cid.Code != 120 || cid.Qualifier != 1 || cid.Zone != 1 {
		t.Fatalf("contact id %q: %+v %v", msg.Data, cid, err)
	}
	button.EdgesChan <- gpio.High
	if err := d.p.alerts.Resolve(context.Background(), m.Alarm.ID, "张伟", "复位"); err != nil {
		t.Fatal(err)
	}
	got = waitCIDs(t, r, 2)
	if _, cid, err := dc09.ParseCID(got[1].Data); err != nil || cid.Code != 120 || cid.Qualifier != 3 {
		t.Fatalf("restore %q: %+v %v", got[1].Data, cid, err)
	}
}

// waitCIDs waits until the receiver holds k Contact ID reports (link tests aside).
func waitCIDs(t testing.TB, r *centre.Receiver, k int) []dc09.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// k reports are k frames at least: wait for those first, not for each frame since
	// the first (each wait copies every frame so far).
	for n := max(1, k); ; n++ {
		got, err := r.Wait(ctx, n)
		if err != nil {
			t.Fatalf("waiting for %d Contact ID reports: %v", k, err)
		}
		var cids []dc09.Message
		for _, g := range got {
			if g.Message.ID == dc09.TokenADMCID {
				cids = append(cids, g.Message)
			}
		}
		if len(cids) >= k {
			return cids
		}
	}
}

// BenchmarkPanicToPolice: GPIO press (gpiotest edge) → rule → journal commit (fsync)
// → DC-09 frame (AES-128) ACKed by the loopback receiver. Reports p50/p99 in ms.
func BenchmarkPanicToPolice(b *testing.B) {
	r := startReceiver(b)
	d, msgs := startE2E(b, fmt.Sprintf(e2ePolice, r.TCPAddr()))
	button := e2ePin(d, "GPIO17")
	ctx := context.Background()
	var lat []time.Duration
	n := 0
	for i := 0; i < b.N; i++ {
		start := time.Now()
		button.EdgesChan <- gpio.Low
		n++
		waitCIDs(b, r, n)
		// The receiver has the frame and answers its ACK at once.
		lat = append(lat, time.Since(start))
		m := await(b, msgs, alerting.Fired)
		button.EdgesChan <- gpio.High
		await(b, msgs, alerting.ConditionEnd)
		if err := d.p.alerts.Resolve(ctx, m.Alarm.ID, "bench", "reset"); err != nil {
			b.Fatal(err)
		}
		n++ // the restore
		waitCIDs(b, r, n)
		await(b, msgs, alerting.ResolvedT)
	}
	reportLatency(b, lat)
}

func e2ePins(t testing.TB) *e2ePinSource {
	t.Helper()
	m := map[string]*gpiotest.Pin{}
	for _, n := range []string{"GPIO17", "GPIO5"} {
		m[n] = &gpiotest.Pin{N: n, L: gpio.High, EdgesChan: make(chan gpio.Level, 16)}
	}
	m["GPIO5"].L = gpio.Low
	return &e2ePinSource{pins: m}
}

type e2ePinSource struct{ pins map[string]*gpiotest.Pin }

func (s *e2ePinSource) Pin(name string) (gpio.PinIO, error) {
	if p, ok := s.pins[name]; ok {
		return p, nil
	}
	return nil, fmt.Errorf("no pin %s", name)
}

func e2ePin(d *Daemon, name string) *gpiotest.Pin {
	return d.opts.Pins.(*e2ePinSource).pins[name]
}
