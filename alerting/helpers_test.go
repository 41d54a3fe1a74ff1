package alerting_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/alerting/journal"
	"github.com/campusguard/campusguard/event"
	"github.com/campusguard/campusguard/site"
)

var t0 = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)

// testSite: a gate with a panic button, a kitchen with two cameras, a balcony with an
// anti-fall radar, and twelve panic buttons for the simultaneous-alarm test.
func testDirectory() *site.Directory {
	s := &site.Site{ID: "s01", Zones: []site.Zone{{ID: "gate", Number: 1}, {ID: "kitchen", Number: 2}, {ID: "b3", Number: 3}, {ID: "dorm", Number: 4}}}
	devs := []site.Device{
		{ID: "box-gate", Kind: event.KindPanic, Zone: "gate", Location: "门卫室", Driver: "gpio"},
		{ID: "cam-1", Kind: event.KindKitchenCamera, Zone: "kitchen", Location: "灶台区", Driver: "mqtt"},
		{ID: "cam-2", Kind: event.KindKitchenCamera, Zone: "kitchen", Location: "备餐间", Driver: "mqtt"},
		{ID: "radar-b3", Kind: event.KindAntiFall, Zone: "b3", Location: "教学楼三楼东侧阳台", Driver: "mqtt"},
	}
	for i := range 12 {
		devs = append(devs, site.Device{ID: panicID(i), Kind: event.KindPanic, Zone: "dorm", Driver: "gpio"})
	}
	return site.NewDirectory(s, devs)
}

func panicID(i int) string { return "panic-" + string(rune('a'+i)) }

// sink records what it is given and acks at once (or returns fail's error).
type sink struct {
	name      string
	mandatory bool
	ch        chan alerting.Notification
	mu        sync.Mutex
	fail      error
	got       []alerting.Notification
}

func newSink(name string) *sink { return &sink{name: name, ch: make(chan alerting.Notification, 1000)} }

func (s *sink) Name() string    { return s.name }
func (s *sink) Mandatory() bool { return s.mandatory }
func (s *sink) Deliver(ctx context.Context, n alerting.Notification) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	s.got = append(s.got, n)
	s.ch <- n
	return nil
}

func (s *sink) setFail(err error) {
	s.mu.Lock()
	s.fail = err
	s.mu.Unlock()
}

// recv waits for the sink's next notification (the timeout only guards a hung test).
func (s *sink) recv(t *testing.T) alerting.Notification {
	t.Helper()
	select {
	case n := <-s.ch:
		return n
	case <-time.After(10 * time.Second):
		t.Fatalf("sink %s: no notification", s.name)
	}
	return alerting.Notification{}
}

// recordingStore is the journal, calling recorded after a sink worker stored a
// delivery's outcome (which the journal may write with a later commit).
type recordingStore struct {
	*journal.Journal
	recorded func(alerting.Delivery)
}

func (s recordingStore) UpdateDeliveryLater(d alerting.Delivery) {
	s.Journal.UpdateDeliveryLater(d)
	s.recorded(d)
}

func (s recordingStore) UpdateDelivery(d alerting.Delivery) error {
	err := s.Journal.UpdateDelivery(d)
	s.recorded(d)
	return err
}

// wake signals ch (capacity 1) without blocking: a pending wake-up is enough.
func wake(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// awaitRecorded checks cond now and again after each delivery outcome a worker
// records, until it holds; the deadline only guards a hung test.
func awaitRecorded(t *testing.T, recorded <-chan struct{}, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for !cond() {
		select {
		case <-recorded:
		case <-deadline.C:
			t.Fatalf("%s: not reached", what)
		}
	}
}

// local records siren calls.
type local struct {
	mu      sync.Mutex
	sounded []string
	quiet   []string
	off     []string
}

func (l *local) Sound(a alerting.Alarm) {
	l.mu.Lock()
	l.sounded = append(l.sounded, a.ID)
	l.mu.Unlock()
}

func (l *local) Silence(a alerting.Alarm) {
	l.mu.Lock()
	l.quiet = append(l.quiet, a.ID)
	l.mu.Unlock()
}

func (l *local) Off(a alerting.Alarm) {
	l.mu.Lock()
	l.off = append(l.off, a.ID)
	l.mu.Unlock()
}

func (l *local) counts() (int, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.sounded), len(l.quiet)
}

type env struct {
	t     *testing.T
	path  string
	j     *journal.Journal
	m     *alerting.Manager
	clock *clockwork.FakeClock
	sinks map[string]*sink
	local *local
	cfg   alerting.Config
	stop  func()
	// recorded wakes a waiter after a sink worker recorded a delivery's outcome.
	recorded chan struct{}
}

// baseConfig: everything to staff; critical also to mqtt; police is mandatory.
func baseConfig() alerting.Config {
	return alerting.Config{
		Routes: alerting.Route{Sinks: []string{"staff"}, Routes: []alerting.Route{
			{Match: alerting.Matchers{"severity": "critical"}, Sinks: []string{"staff", "mqtt"}},
		}},
		MandatorySinks: []string{"police"},
	}
}

func newEnv(t *testing.T, cfg alerting.Config) *env {
	t.Helper()
	e := &env{t: t, path: filepath.Join(t.TempDir(), "journal.db"), clock: clockwork.NewFakeClockAt(t0), cfg: cfg,
		local: &local{}, sinks: map[string]*sink{}, recorded: make(chan struct{}, 1)}
	for _, n := range []string{"staff", "mqtt", "police", "tier1", "tier2"} {
		e.sinks[n] = newSink(n)
	}
	e.start()
	t.Cleanup(e.close)
	return e
}

func (e *env) start() {
	e.t.Helper()
	j, err := journal.Open(e.path, journal.Options{Clock: e.clock})
	if err != nil {
		e.t.Fatal(err)
	}
	var sinks []alerting.Sink
	for _, n := range []string{"staff", "mqtt", "police", "tier1", "tier2"} {
		sinks = append(sinks, e.sinks[n])
	}
	store := recordingStore{j, func(alerting.Delivery) { wake(e.recorded) }}
	m, err := alerting.New(alerting.Options{Config: e.cfg, Store: store, Directory: testDirectory(), Sinks: sinks,
		Local: e.local, Clock: e.clock, TickEvery: time.Hour})
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = m.Run(ctx)
	}()
	e.j, e.m = j, m
	e.stop = func() {
		cancel()
		<-done
		_ = j.Close()
	}
}

func (e *env) close() {
	if e.stop != nil {
		e.stop()
		e.stop = nil
	}
}

// restart is a power cut: stop everything, reopen the same journal.
func (e *env) restart() {
	e.close()
	e.start()
}

func (e *env) handle(t alerting.Trigger) {
	e.t.Helper()
	if t.At.IsZero() {
		t.At = e.clock.Now()
	}
	if err := e.m.Handle(context.Background(), t); err != nil {
		e.t.Fatal(err)
	}
}

// deliveries returns the sinks the journal holds deliveries for, per notification id.
func (e *env) deliveries(alarmID string) map[string][]string {
	e.t.Helper()
	d, err := e.j.Alarm(alarmID)
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string][]string{}
	for _, x := range d.Deliveries {
		out[x.Notification.ID] = append(out[x.Notification.ID], x.Sink)
	}
	return out
}

func (e *env) sinksOf(alarmID string, transition alerting.Transition) []string {
	e.t.Helper()
	d, err := e.j.Alarm(alarmID)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, x := range d.Deliveries {
		if x.Notification.Transition == transition {
			out = append(out, x.Sink)
		}
	}
	return out
}

func (e *env) onlyAlarm() alerting.Alarm {
	e.t.Helper()
	act := e.m.Active()
	if len(act) != 1 {
		e.t.Fatalf("%d active alarms, want 1: %+v", len(act), act)
	}
	return act[0]
}

func panicTrigger(dev string, firing bool) alerting.Trigger {
	return alerting.Trigger{Rule: "panic", Key: dev, DeviceID: dev, Firing: firing, Severity: alerting.Critical,
		Message: "一键报警", Event: &event.Event{DeviceID: dev, Kind: event.KindPanic, Type: event.TypePressed}}
}

func camTrigger(dev, rule string, sev alerting.Severity, typ string) alerting.Trigger {
	return alerting.Trigger{Rule: rule, Key: dev, DeviceID: dev, Firing: true, Severity: sev,
		Event: &event.Event{DeviceID: dev, Kind: event.KindKitchenCamera, Type: typ}}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]int{}
	for _, x := range a {
		m[x]++
	}
	for _, x := range b {
		m[x]--
		if m[x] < 0 {
			return false
		}
	}
	return true
}
