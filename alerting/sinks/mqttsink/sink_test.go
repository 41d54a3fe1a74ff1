package mqttsink

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/cfgerr"
	"github.com/campusguard/campusguard/event"
	"github.com/campusguard/campusguard/health"
	"github.com/campusguard/campusguard/internal/testenv"
	"github.com/campusguard/campusguard/secret"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var quiet = slog.New(slog.DiscardHandler)

var testNow = time.Date(2026, 11, 20, 13, 3, 12, 0, time.UTC)

const testSecret = "0123456789abcdef-shared"

func sampleNotification() alerting.Notification {
	a := alerting.Alarm{
		ID: "s01/panic/box-gate#1", Rule: "panic", Key: "box-gate", Site: "s01", DeviceID: "box-gate",
		DeviceKind: event.KindPanic, Class: alerting.ClassPanic, Zone: "guardroom", Location: "校门门卫室", Severity: alerting.Critical,
		Message: "门卫室一键报警按钮被按下", State: alerting.Firing, Latched: true, Count: 1,
		Fields: event.Fields{"supply_v": 12.1}, FiredAt: testNow, LastAt: testNow,
	}
	return alerting.Notification{ID: "n-1", Transition: alerting.Fired, Alarm: a, Count: 1, At: testNow}
}

// recAcker records acks (the alerting core's side, in-process).
type recAcker struct {
	mu   sync.Mutex
	got  []string
	fail error
}

func (a *recAcker) Ack(_ context.Context, id, by, note string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.fail != nil {
		return a.fail
	}
	a.got = append(a.got, id+"|"+by+"|"+note)
	return nil
}

func (a *recAcker) list() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.got...)
}

func prefixFor(t *testing.T) string {
	return "cgtest/" + strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()) + fmt.Sprint(time.Now().UnixNano())
}

func TestDeliverStateAndEvents(t *testing.T) {
	url := broker(t)
	prefix := prefixFor(t)
	pub := connectClient(t, url, "cg-sink-"+t.Name())
	reg := prometheus.NewRegistry()
	s, err := New(Config{TopicPrefix: prefix}, pub, Options{Clock: clockwork.NewFakeClockAt(testNow), Registerer: reg, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	live := newWatcher(t, url, "cg-live-"+t.Name())
	live.subscribe(t, prefix+"/#")
	ctx := context.Background()
	n := sampleNotification()
	if err := s.Deliver(ctx, n); err != nil {
		t.Fatal(err)
	}
	stateTopic := prefix + "/alarms/s01%2Fpanic%2Fbox-gate%231"
	// The event first (what staff apps announce), then the retained state.
	m := live.next(t)
	var ev EventMessage
	if m.Topic() != prefix+"/events" || m.Retained() || json.Unmarshal(m.Payload(), &ev) != nil || ev.ID != "n-1" || ev.Transition != alerting.Fired {
		t.Fatalf("event %s %s", m.Topic(), m.Payload())
	}
	m = live.next(t)
	statePayload := m.Payload()
	var st StateMessage
	if m.Topic() != stateTopic || json.Unmarshal(m.Payload(), &st) != nil || st.V != 1 || st.Alarm.ID != n.Alarm.ID || st.Alarm.Location != "校门门卫室" {
		t.Fatalf("state %s %s", m.Topic(), m.Payload())
	}
	// A late subscriber gets the retained state.
	late := newWatcher(t, url, "cg-late-"+t.Name())
	late.subscribe(t, stateTopic)
	if m := late.next(t); !m.Retained() || !bytes.Equal(m.Payload(), statePayload) {
		t.Fatalf("late subscriber got %s retained=%v", m.Payload(), m.Retained())
	}
	// Resolve clears the retained state.
	n2 := n
	n2.ID, n2.Transition, n2.Alarm.State = "n-2", alerting.ResolvedT, alerting.Resolved
	if err := s.Deliver(ctx, n2); err != nil {
		t.Fatal(err)
	}
	if m := live.next(t); m.Topic() != prefix+"/events" || !strings.Contains(string(m.Payload()), `"transition":"resolved"`) {
		t.Fatalf("event %s", m.Payload())
	}
	if m := live.next(t); m.Topic() != stateTopic || len(m.Payload()) != 0 {
		t.Fatalf("clear: %s %q", m.Topic(), m.Payload())
	}
	// A new subscriber sees no retained state: the first thing it gets is a probe
	// published after its subscription.
	after := newWatcher(t, url, "cg-after-"+t.Name())
	after.subscribe(t, stateTopic)
	live.publish(t, stateTopic, false, []byte("probe"))
	if m := after.next(t); string(m.Payload()) != "probe" {
		t.Fatalf("retained state survived the resolve: %s", m.Payload())
	}
	if v := testutil.ToFloat64(s.m.deliveries.WithLabelValues("ok")); v != 2 {
		t.Fatalf("ok deliveries %v", v)
	}
	if h := s.Health(); h.State != health.Up || h.Detail["connected"] != true {
		t.Fatalf("health %+v", h)
	}
	if n, err := testutil.GatherAndCount(reg, "campusguard_mqtt_sink_connected"); err != nil || n != 1 {
		t.Fatalf("connected gauge %d %v", n, err)
	}
}

func TestGroupedNotificationPublishesEveryAlarm(t *testing.T) {
	url := broker(t)
	prefix := prefixFor(t)
	pub := connectClient(t, url, "cg-sink-"+t.Name())
	s, err := New(Config{TopicPrefix: prefix}, pub, Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	live := newWatcher(t, url, "cg-live-"+t.Name())
	live.subscribe(t, prefix+"/#")
	n := sampleNotification()
	a, b := n.Alarm, n.Alarm
	a.ID, b.ID = "k1", "k2"
	n.Alarm, n.Group, n.Count = a, []alerting.Alarm{a, b}, 2
	if err := s.Deliver(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	var topics []string
	for range 3 {
		topics = append(topics, live.next(t).Topic())
	}
	want := []string{prefix + "/events", prefix + "/alarms/k1", prefix + "/alarms/k2"}
	if fmt.Sprint(topics) != fmt.Sprint(want) {
		t.Fatalf("topics %v, want %v", topics, want)
	}
}

func signed(topic string, m AckMessage) []byte {
	m.Sig = SignAck(testSecret, topic, m)
	b, _ := json.Marshal(m)
	return b
}

func TestAcksOverBroker(t *testing.T) {
	url := broker(t)
	prefix := prefixFor(t)
	pub := connectClient(t, url, "cg-sink-"+t.Name())
	clock := clockwork.NewFakeClockAt(testNow)
	acker := &recAcker{}
	s, err := New(Config{TopicPrefix: prefix, Ack: AckConfig{Enabled: true, Secret: secret.Inline(testSecret)}}, pub,
		Options{Acker: acker, Clock: clock, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	results := make(chan string, 16)
	s.observe = func(r string) { results <- r }
	subscribed := make(chan struct{})
	s.subscribed = func() { close(subscribed) }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	app := newWatcher(t, url, "cg-app-"+t.Name())
	topic := prefix + "/ack"
	good := AckMessage{AlarmID: "a1", By: "王师傅", Note: "已到现场", TS: testNow.Unix()}
	stale := good
	stale.TS = testNow.Add(-10 * time.Minute).Unix()
	otherGateway := signed("campusguard/s02/ack", good)
	steps := []struct {
		payload []byte
		want    string
	}{
		{signed(topic, good), "accepted"},
		{signed(topic, good), "replay"},
		{func() []byte {
			b := signed(topic, good)
			return bytes.Replace(b, []byte("王师傅"), []byte("intruder"), 1)
		}(), "bad_signature"},
		{signed(topic, stale), "stale"},
		{otherGateway, "bad_signature"},
		{[]byte(`{"alarm_id":`), "bad_json"},
		{[]byte(`{"alarm_id":"a1","by":"x","ts":0,"sig":"00"}`), "invalid"},
	}
	select {
	case <-subscribed:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not subscribe")
	}
	for i, st := range steps {
		app.publish(t, topic, false, st.payload)
		select {
		case r := <-results:
			if r != st.want {
				t.Fatalf("step %d: %s, want %s", i, r, st.want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("step %d: no result", i)
		}
	}
	if got := acker.list(); len(got) != 1 || got[0] != "a1|王师傅|已到现场" {
		t.Fatalf("acks %q", got)
	}
	if v := testutil.ToFloat64(s.m.acks.WithLabelValues("bad_signature")); v != 2 {
		t.Fatalf("bad_signature %v", v)
	}
}

func TestAckChecks(t *testing.T) {
	pub, err := NewPahoClient(ClientConfig{URL: "tcp://127.0.0.1:1", ClientID: "x"}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	clock := clockwork.NewFakeClockAt(testNow)
	newS := func(auth string) *Sink {
		s, err := New(Config{TopicPrefix: "cg/s01", Ack: AckConfig{Enabled: true, Auth: auth, Secret: secret.Inline(testSecret), Queue: 1}}, pub,
			Options{Acker: &recAcker{}, Clock: clock, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	hm := newS(AuthHMAC)
	acl := newS(AuthACL)
	tests := []struct {
		name    string
		s       *Sink
		topic   string
		payload string
		want    error
		by      string
	}{
		{"hmac ok", hm, "cg/s01/ack", string(signed("cg/s01/ack", AckMessage{AlarmID: "a", By: "b", TS: testNow.Unix()})), nil, "b"},
		{"hmac future ts", hm, "cg/s01/ack", string(signed("cg/s01/ack", AckMessage{AlarmID: "a", By: "b", TS: testNow.Unix() + 301})), ErrAckStale, ""},
		{"hmac within window", hm, "cg/s01/ack", string(signed("cg/s01/ack", AckMessage{AlarmID: "a", By: "b", TS: testNow.Unix() - 299})), nil, "b"},
		{"hmac no by", hm, "cg/s01/ack", string(signed("cg/s01/ack", AckMessage{AlarmID: "a", TS: testNow.Unix()})), ErrAckInvalid, ""},
		{"hmac no sig", hm, "cg/s01/ack", `{"alarm_id":"a","by":"b","ts":1795179792}`, ErrAckSignature, ""},
		{"unknown field", hm, "cg/s01/ack", `{"alarm_id":"a","by":"b","ts":1795179792,"admin":true}`, ErrAckJSON, ""},
		{"huge ts", hm, "cg/s01/ack", string(signed("cg/s01/ack", AckMessage{AlarmID: "a", By: "b", TS: math.MaxInt64})), ErrAckStale, ""},
		{"acl by from topic", acl, "cg/s01/ack/wang", `{"alarm_id":"a","ts":1795179792}`, nil, "wang"},
		{"acl by mismatch", acl, "cg/s01/ack/wang", `{"alarm_id":"a","by":"li","ts":1795179792}`, ErrAckInvalid, ""},
		{"acl replay", acl, "cg/s01/ack/wang", `{"alarm_id":"a","ts":1795179792}`, ErrAckReplay, ""},
		{"acl stale", acl, "cg/s01/ack/wang", `{"alarm_id":"b","ts":1795170000}`, ErrAckStale, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, key, err := tc.s.check(tc.topic, []byte(tc.payload), func() {})
			if err == nil {
				tc.s.settle(key, true) // as Run does once the Acker recorded it
			}
			if !errors.Is(err, tc.want) || (err == nil) != (tc.want == nil) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			if err == nil && m.By != tc.by {
				t.Fatalf("by %q, want %q", m.By, tc.by)
			}
		})
	}
	// The queue holds one ack (Run is not running): the next is rejected, not blocking,
	// and left unacknowledged for the broker to deliver again; once there is room, that
	// copy is taken.
	var results []string
	hm.observe = func(r string) { results = append(results, r) }
	acked := make([]bool, 2)
	for i := range 2 {
		hm.handle("cg/s01/ack", signed("cg/s01/ack", AckMessage{AlarmID: fmt.Sprint("q", i), By: "b", TS: testNow.Unix()}), func() { acked[i] = true })
	}
	if fmt.Sprint(results) != "[overload]" || acked[0] || acked[1] {
		t.Fatalf("results %v, acked %v", results, acked)
	}
	<-hm.acks
	hm.handle("cg/s01/ack", signed("cg/s01/ack", AckMessage{AlarmID: "q1", By: "b", TS: testNow.Unix()}), func() {})
	if fmt.Sprint(results) != "[overload]" || len(hm.acks) != 1 {
		t.Fatalf("the copy of an overloaded ack: results %v, queue %d", results, len(hm.acks))
	}
}

// The Acker's final refusal is counted as failed.
func TestAckerFailure(t *testing.T) {
	pub, _ := NewPahoClient(ClientConfig{URL: "tcp://127.0.0.1:1", ClientID: "x"}, quiet)
	s, err := New(Config{TopicPrefix: "cg/s01", Ack: AckConfig{Enabled: true, Auth: AuthACL}}, pub,
		Options{Acker: &recAcker{fail: fmt.Errorf("ack nope: %w", alerting.ErrNotFound)}, Clock: clockwork.NewFakeClockAt(testNow), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	results := make(chan string, 1)
	s.observe = func(r string) { results <- r }
	s.handle("cg/s01/ack/wang", []byte(`{"alarm_id":"nope","ts":1795179792}`), func() {})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	if r := <-results; r != "failed" {
		t.Fatalf("result %s", r)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestDeliverWhileDisconnected(t *testing.T) {
	pub, err := NewPahoClient(ClientConfig{URL: "tcp://127.0.0.1:1", ClientID: "x", ConnectTimeout: time.Second}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := pub.Connect(ctx); err == nil {
		t.Fatal("connected to nothing")
	}
	s, err := New(Config{TopicPrefix: "cg/s01"}, pub, Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Deliver(context.Background(), sampleNotification())
	var p *alerting.Permanent
	if !errors.Is(err, ErrNotConnected) || errors.As(err, &p) {
		t.Fatalf("err %v", err)
	}
	if h := s.Health(); h.State != health.Down || h.Detail["last_error"] == nil {
		t.Fatalf("health %+v", h)
	}
}

// NaN in a field cannot be JSON: the message goes out without the fields.
func TestUnencodableFields(t *testing.T) {
	n := sampleNotification()
	n.Alarm.Fields = event.Fields{"confidence": math.NaN()}
	b, err := marshalState(StateMessage{V: 1, Alarm: n.Alarm})
	if err != nil || strings.Contains(string(b), "confidence") {
		t.Fatalf("%s %v", b, err)
	}
	n.Group = []alerting.Alarm{n.Alarm}
	if b, err := marshalEvent(n); err != nil || strings.Contains(string(b), "confidence") {
		t.Fatalf("%s %v", b, err)
	}
}

func TestGoldenMessages(t *testing.T) {
	n := sampleNotification()
	n.Alarm.AckedBy, n.Alarm.AckedAt, n.Alarm.State, n.Transition = "王师傅", testNow.Add(time.Minute), alerting.Acknowledged, alerting.Acked
	n.At = n.Alarm.AckedAt
	st, _ := marshalState(StateMessage{V: SchemaVersion, Notification: n.ID, Transition: n.Transition, UpdatedAt: n.At, Alarm: n.Alarm})
	ev, _ := marshalEvent(n)
	ack := AckMessage{AlarmID: "s01-panic-box-gate-1", By: "王师傅", Note: "已到现场", TS: testNow.Unix()}
	ack.Sig = SignAck(testSecret, "campusguard/s01/ack", ack)
	ab, _ := json.Marshal(ack)
	for name, b := range map[string][]byte{"state": st, "event": ev, "ack": ab} {
		var pretty bytes.Buffer
		if err := json.Indent(&pretty, b, "", "  "); err != nil {
			t.Fatal(err)
		}
		pretty.WriteString("\n")
		if name == "ack" {
			fmt.Fprintf(&pretty, "canonical (secret %q, topic campusguard/s01/ack):\n%s\n", testSecret, CanonicalAck("campusguard/s01/ack", ack))
		}
		testenv.Golden(t, filepath.Join("testdata", name+".golden"), pretty.Bytes(), *update)
	}
}

func TestEscapeLevel(t *testing.T) {
	for in, want := range map[string]string{
		"a1": "a1", "": "%00", "s01/panic#1": "s01%2Fpanic%231", "x+y": "x%2By", "50%": "50%25", "a\x00b": "a%00b", "门卫室": "门卫室",
	} {
		if got := EscapeLevel(in); got != want {
			t.Errorf("EscapeLevel(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	dir := t.TempDir()
	sf := filepath.Join(dir, "ack.secret")
	if err := os.WriteFile(sf, []byte(testSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	short := filepath.Join(dir, "short.secret")
	if err := os.WriteFile(short, []byte("short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cfg  Config
		want []string
	}{
		{"minimal", Config{TopicPrefix: "campusguard/s01"}, nil},
		{"full", Config{TopicPrefix: "campusguard/s01/", Client: ClientConfig{URL: "mqtts://broker:8883", Username: "gw"},
			Ack: AckConfig{Enabled: true, SecretFile: sf}}, nil},
		{"acl", Config{TopicPrefix: "p", Ack: AckConfig{Enabled: true, Auth: AuthACL}}, nil},
		{"no prefix", Config{}, []string{"topic_prefix: is required"}},
		{"wildcard prefix", Config{TopicPrefix: "a/+/b"}, []string{`topic_prefix: "a/+/b" is not`}},
		{"bad client", Config{TopicPrefix: "p", Client: ClientConfig{URL: "http://x:1", Password: secret.Inline("a"), PasswordFile: "/nonexistent",
			TLS: secret.TLSClient{CertFile: "/nonexistent"}}},
			[]string{`client.url: unknown scheme "http"`, "client.password: password and password_file are both given", "client.tls.cert_file: cert_file and key_file",
				"client.password_file: open /nonexistent"}},
		{"missing ca", Config{TopicPrefix: "p", Client: ClientConfig{URL: "mqtts://x:8883", TLS: secret.TLSClient{CAFile: "/nonexistent/ca.pem"}}},
			[]string{"client.tls.ca_file: open /nonexistent/ca.pem"}},
		{"short secret", Config{TopicPrefix: "p", Ack: AckConfig{Enabled: true, Secret: secret.Inline("short")}}, []string{"ack.secret: is required for hmac auth, at least 16"}},
		{"short secret file", Config{TopicPrefix: "p", Ack: AckConfig{Enabled: true, SecretFile: short}}, []string{"ack.secret: is required for hmac auth, at least 16"}},
		{"secret twice", Config{TopicPrefix: "p", Ack: AckConfig{Enabled: true, Secret: secret.Inline(testSecret), SecretEnv: "X"}},
			[]string{"ack.secret: secret and secret_env are both given", "ack.secret_env: environment variable X is not set"}},
		{"missing secret", Config{TopicPrefix: "p", Ack: AckConfig{Enabled: true}}, []string{"ack.secret: is required"}},
		{"bad ack", Config{TopicPrefix: "p", Ack: AckConfig{Enabled: true, Auth: "psk", ReplayWindow: 2 * time.Hour, Queue: -1}},
			[]string{`ack.auth: unknown auth "psk"`, "ack.replay_window: must be between", "ack.queue: must be at least 1"}},
		{"unset env", Config{TopicPrefix: "p", Ack: AckConfig{Enabled: true, SecretEnv: "CG_TEST_UNSET_ACK"}}, []string{"ack.secret_env: environment variable CG_TEST_UNSET_ACK is not set"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.cfg
			c.SetDefaults(cfgerr.Env{})
			var errs cfgerr.List
			c.Validate(&errs)
			c.Resolve(&errs, secret.Lookup{Getenv: func(string) string { return "" }})
			testenv.WantErrors(t, &errs, tc.want)
		})
	}
}

func FuzzParseAck(f *testing.F) {
	f.Add([]byte(signed("cg/s01/ack", AckMessage{AlarmID: "a1", By: "王师傅", Note: "n", TS: testNow.Unix()})))
	f.Add([]byte(`{"alarm_id":"a","by":"b","ts":-1,"sig":"zz"}`))
	f.Add([]byte(`{"alarm_id":"a","by":"b","ts":9223372036854775807,"sig":""}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseAck(b)
		if err != nil {
			return
		}
		if m.AlarmID == "" || m.TS <= 0 || len(m.Note) > maxNote {
			t.Fatalf("accepted %+v", m)
		}
		err = VerifyAck(testSecret, "cg/s01/ack", m, testNow, 5*time.Minute)
		if err == nil && m.Sig != SignAck(testSecret, "cg/s01/ack", m) {
			t.Fatalf("verified a wrong signature: %+v", m)
		}
	})
}

func BenchmarkDeliver(b *testing.B) {
	url := broker(b)
	pub, err := NewPahoClient(ClientConfig{URL: url, ClientID: "cg-bench", KeepAlive: 30 * time.Second, ConnectTimeout: 5 * time.Second}, quiet)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if err := pub.Connect(ctx); err != nil {
		b.Fatal(err)
	}
	defer pub.Close()
	s, err := New(Config{TopicPrefix: "cgbench"}, pub, Options{Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	n := sampleNotification()
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Deliver(ctx, n); err != nil {
			b.Fatal(err)
		}
	}
}
