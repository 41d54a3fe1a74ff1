// Package mqttsink is the alert sink that publishes alarms on MQTT for staff apps and
// dashboards, and takes their acknowledgements back.
//
// Topics (prefix from the config; message schemas in docs/mqtt-alarms.md):
//
//	<prefix>/alarms/<alarm id>  retained, QoS 1: the alarm's current state as JSON; an
//	                            empty retained payload clears it when the alarm resolves
//	<prefix>/events             QoS 1, not retained: every notification (transition)
//	<prefix>/ack                acks from staff apps, signed with a shared secret (auth hmac)
//	<prefix>/ack/<user>         acks when the broker's topic ACL authenticates (auth acl)
//
// Deliver returns nil once the broker acknowledged (PUBACK) the state of every alarm in
// the notification and the event. Alarm ids are used as topic levels with '/', '+',
// '#', '%' and NUL percent-encoded.
//
// Acks are checked (signature, time within replay_window, not seen before), then
// handed to an Acker on the sink's own goroutine (Run); rejected ones are logged and
// counted by reason. An ack message is acknowledged to the broker (PUBACK) only once
// its answer is final: the Acker returned nil (the ack is journaled), or refused it for
// good (unknown or already acknowledged alarm), or the check refused it. Until then the
// broker keeps it for the client's persistent session and delivers it again after a
// reconnect or a restart, so a crash never loses a person's acknowledgement.
package mqttsink

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/cfgerr"
	"github.com/campusguard/campusguard/health"
)

// Publisher is the MQTT client the sink needs: PahoClient, or the daemon's shared
// client. Publish with QoS 1 returns once the broker acknowledged. Subscribe delivers
// the messages of a filter to h; the session must be persistent and acknowledgement
// manual, so a message h has not acknowledged is delivered again. mqttsinktest.Client
// is an in-memory one for tests.
type Publisher interface {
	Publish(ctx context.Context, topic string, qos byte, retained bool, payload []byte) error
	Subscribe(ctx context.Context, topic string, qos byte, h MessageHandler) error
}

// MessageHandler takes one message of a subscription. It runs on the client's
// goroutines and must not block; payload is the handler's to keep. It calls ack (once)
// when the broker may forget the message (PUBACK at QoS 1); a message never
// acknowledged is delivered again to the next connection of the session.
type MessageHandler func(topic string, payload []byte, ack func())

// Acker acknowledges an alarm on behalf of a person (the alerting core).
type Acker interface {
	Ack(ctx context.Context, alarmID, by, note string) error
}

// SchemaVersion is the "v" of every message the sink publishes.
const SchemaVersion = 1

// QoS of every publish and subscription.
const QoS = 1

// StateMessage is the retained payload on <prefix>/alarms/<id>.
type StateMessage struct {
	V            int                 `json:"v"`
	Notification string              `json:"notification"` // id of the notification that set this state
	Transition   alerting.Transition `json:"transition"`
	UpdatedAt    time.Time           `json:"updated_at"`
	Alarm        alerting.Alarm      `json:"alarm"`
}

// EventMessage is the payload on <prefix>/events: the notification with a version.
type EventMessage struct {
	V int `json:"v"`
	alerting.Notification
}

// Options are the sink's collaborators.
type Options struct {
	Acker      Acker                 // required when acks are enabled
	Clock      clockwork.Clock       // nil: the real clock
	Registerer prometheus.Registerer // nil: metrics are not registered
	Logger     *slog.Logger          // nil: slog.Default()
}

// Sink publishes notifications and takes acks. It implements alerting.Sink and
// health.Reporter.
type Sink struct {
	cfg    Config
	pub    Publisher
	acker  Acker
	secret string
	clock  clockwork.Clock
	log    *slog.Logger
	m      *metrics
	acks   chan ackReq

	events, ackTopic string

	mu       sync.Mutex
	replay   replayCache
	open     map[string][]func() // replay key → broker acks of a queued ack and its copies
	inflight int
	lastErr  error
	errAt    time.Time
	okAt     time.Time
	acked    time.Time
	failed   bool // the last delivery failed

	observe    func(result string) // tests: called with each ack's result
	subscribed func()              // tests: called once Run has subscribed
	retrying   func()              // tests: called when an ack waits to be tried again
}

// ackReq is a checked ack waiting for the Acker; its broker acks are in open[key].
type ackReq struct {
	m     AckMessage
	topic string
	key   string
}

// Retrying an ack the Acker could not record (the journal cannot write, the core is
// starting): from ackRetryFirst, doubling up to ackRetryMax, while the ack's ts is
// within the replay window.
const (
	ackRetryFirst = time.Second
	ackRetryMax   = 30 * time.Second
)

// permanentAckError reports whether the Acker's err is its final answer (the alarm is
// unknown or resolved, already acknowledged, or the ack names nobody).
func permanentAckError(err error) bool {
	var p *alerting.Permanent
	return errors.Is(err, alerting.ErrNotFound) || errors.Is(err, alerting.ErrAlreadyAcked) ||
		errors.Is(err, alerting.ErrNoPerson) || errors.As(err, &p)
}

var (
	_ alerting.Sink   = (*Sink)(nil)
	_ health.Reporter = (*Sink)(nil)
)

// New builds a sink over pub from cfg (defaults applied and validated here).
func New(cfg Config, pub Publisher, opt Options) (*Sink, error) {
	cfg.SetDefaults(cfgerr.Env{})
	var errs cfgerr.List
	cfg.Validate(&errs)
	if err := errs.Err(); err != nil {
		return nil, fmt.Errorf("mqtt sink %s: %w", cfg.Name, err)
	}
	if pub == nil {
		return nil, fmt.Errorf("mqtt sink %s: no publisher", cfg.Name)
	}
	if cfg.Ack.Enabled && opt.Acker == nil {
		return nil, fmt.Errorf("mqtt sink %s: acks are enabled but there is no acker", cfg.Name)
	}
	if opt.Clock == nil {
		opt.Clock = clockwork.NewRealClock()
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	s := &Sink{
		cfg: cfg, pub: pub, acker: opt.Acker, clock: opt.Clock,
		log:      opt.Logger,
		acks:     make(chan ackReq, cfg.Ack.Queue),
		events:   cfg.TopicPrefix + "/events",
		ackTopic: cfg.TopicPrefix + "/ack",
		replay:   replayCache{max: 10000, seen: map[string]int64{}},
		open:     map[string][]func(){},
	}
	if cfg.Ack.Enabled && cfg.Ack.Auth == AuthHMAC {
		s.secret = cfg.Ack.Secret.Reveal()
		if s.secret == "" {
			return nil, fmt.Errorf("mqtt sink %s: the ack secret is not resolved (Config.Resolve reads secret_file and secret_env)", cfg.Name)
		}
	}
	var connected func() bool
	if c, ok := pub.(interface{ Connected() bool }); ok {
		connected = c.Connected
	}
	m, err := newMetrics(cfg.Name, connected, opt.Registerer)
	if err != nil {
		return nil, fmt.Errorf("mqtt sink %s: %w", cfg.Name, err)
	}
	s.m = m
	return s, nil
}

// Name is the sink's name.
func (s *Sink) Name() string { return s.cfg.Name }

// AlarmTopic is the retained state topic of an alarm.
func (s *Sink) AlarmTopic(alarmID string) string {
	return s.cfg.TopicPrefix + "/alarms/" + EscapeLevel(alarmID)
}

// EventsTopic is the transitions topic.
func (s *Sink) EventsTopic() string { return s.events }

// AckTopic is the topic acks are taken from (with "/<user>" under it for acl auth).
func (s *Sink) AckTopic() string { return s.ackTopic }

// EscapeLevel makes s usable as one topic level: '/', '+', '#', '%' and NUL become
// %XX; an empty s becomes "%00".
func EscapeLevel(s string) string {
	if s == "" {
		return "%00"
	}
	if !strings.ContainsAny(s, "/+#%\x00") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '/', '+', '#', '%', 0:
			fmt.Fprintf(&b, "%%%02X", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// Deliver publishes the retained state of every alarm of n (an empty payload for a
// resolved one), then the event. Publishing again is harmless: states are replaced and
// events carry the notification id for receivers to drop duplicates.
func (s *Sink) Deliver(ctx context.Context, n alerting.Notification) error {
	now := s.clock.Now()
	s.mu.Lock()
	s.inflight++
	s.mu.Unlock()
	err := s.deliver(ctx, n)
	s.mu.Lock()
	s.inflight--
	s.failed = err != nil
	if err != nil {
		s.lastErr, s.errAt = err, now
	} else {
		s.okAt = now
	}
	s.mu.Unlock()
	result := "ok"
	if err != nil {
		result = "error"
		var p *alerting.Permanent
		if errors.As(err, &p) {
			result = "rejected"
		}
		s.log.Warn("mqtt delivery failed", "notification", n.ID, "err", err)
	}
	s.m.deliveries.WithLabelValues(result).Inc()
	return err
}

func (s *Sink) deliver(ctx context.Context, n alerting.Notification) error {
	// The event first: it is what staff apps announce and act on; the retained state
	// (for apps that start later) follows one round trip behind. A state that fails
	// after its event went out sends the event again on the retry: events are at least
	// once and carry their id.
	p, err := marshalEvent(n)
	if err != nil {
		return &alerting.Permanent{Err: fmt.Errorf("mqtt sink %s: notification %s: %w", s.cfg.Name, n.ID, err)}
	}
	// One message at a time, each after the previous PUBACK: sending the state and the
	// event back to back (PUBACKs awaited together) was measured 40 ms per
	// notification against a default Mosquitto, whose two small PUBACK writes meet
	// Nagle's algorithm and the client's delayed ACK (set_tcp_nodelay is off by default).
	if err := s.pub.Publish(ctx, s.events, QoS, false, p); err != nil {
		return fmt.Errorf("mqtt sink %s: notification %s event: %w", s.cfg.Name, n.ID, err)
	}
	alarms := n.Group
	if len(alarms) == 0 {
		alarms = []alerting.Alarm{n.Alarm}
	}
	for _, a := range alarms {
		var payload []byte
		if a.State != alerting.Resolved && n.Transition != alerting.ResolvedT {
			p, err := marshalState(StateMessage{V: SchemaVersion, Notification: n.ID, Transition: n.Transition, UpdatedAt: n.At, Alarm: a})
			if err != nil {
				return &alerting.Permanent{Err: fmt.Errorf("mqtt sink %s: alarm %s: %w", s.cfg.Name, a.ID, err)}
			}
			payload = p
		}
		if err := s.pub.Publish(ctx, s.AlarmTopic(a.ID), QoS, true, payload); err != nil {
			return fmt.Errorf("mqtt sink %s: alarm %s state: %w", s.cfg.Name, a.ID, err)
		}
	}
	return nil
}

// marshalState encodes m; a field value JSON cannot hold (NaN) drops the fields rather
// than the message.
func marshalState(m StateMessage) ([]byte, error) {
	b, err := json.Marshal(m)
	if err != nil {
		m.Alarm.Fields = nil
		b, err = json.Marshal(m)
	}
	return b, err
}

func marshalEvent(n alerting.Notification) ([]byte, error) {
	b, err := json.Marshal(EventMessage{V: SchemaVersion, Notification: n})
	if err != nil {
		n.Alarm.Fields = nil
		g := make([]alerting.Alarm, len(n.Group))
		for i, a := range n.Group {
			a.Fields = nil
			g[i] = a
		}
		n.Group = g
		b, err = json.Marshal(EventMessage{V: SchemaVersion, Notification: n})
	}
	return b, err
}

// Run subscribes to the ack topic and hands verified acks to the Acker until ctx ends
// (then it returns nil). It returns at once when acks are disabled.
func (s *Sink) Run(ctx context.Context) error {
	if !s.cfg.Ack.Enabled {
		return nil
	}
	filter := s.ackTopic
	if s.cfg.Ack.Auth == AuthACL {
		filter += "/+"
	}
	if err := s.pub.Subscribe(ctx, filter, QoS, s.handle); err != nil {
		return fmt.Errorf("mqtt sink %s: subscribe %s: %w", s.cfg.Name, filter, err)
	}
	s.log.Info("taking acks", "topic", filter, "auth", s.cfg.Ack.Auth)
	if s.subscribed != nil {
		s.subscribed()
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case r := <-s.acks:
			s.process(ctx, r)
		}
	}
}

// process hands r to the Acker and acknowledges its message(s) to the broker once the
// answer is final. An error that is not final is retried (ackRetryFirst, doubling)
// while r's ts stays within the replay window; then, or at shutdown, the message is
// left unacknowledged for the broker to deliver again, and forgotten here so that the
// copy is taken.
func (s *Sink) process(ctx context.Context, r ackReq) {
	wait := ackRetryFirst
	for {
		actx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := s.acker.Ack(actx, r.m.AlarmID, r.m.By, r.m.Note)
		cancel()
		switch {
		case err == nil:
			s.settle(r.key, true) // journaled: the broker may forget the message
			s.mu.Lock()
			s.acked = s.clock.Now()
			s.mu.Unlock()
			s.log.Info("alarm acknowledged over mqtt", "alarm", r.m.AlarmID, "by", r.m.By)
			s.count("accepted")
			return
		case permanentAckError(err):
			s.settle(r.key, true)
			s.reject(r.topic, r.m, fmt.Errorf("%w: %w", ErrAckFailed, err))
			return
		case ctx.Err() != nil:
			s.settle(r.key, false) // shutting down: the broker delivers it again
			return
		}
		deadline := time.Unix(r.m.TS, 0).Add(s.cfg.Ack.ReplayWindow)
		if !s.clock.Now().Add(wait).Before(deadline) {
			s.settle(r.key, false)
			s.reject(r.topic, r.m, fmt.Errorf("%w: the broker will deliver it again: %w", ErrAckUnavailable, err))
			return
		}
		s.log.Warn("mqtt ack not recorded; trying again", "alarm", r.m.AlarmID, "by", r.m.By, "retry_in", wait, "err", err)
		t := s.clock.NewTimer(wait)
		if s.retrying != nil {
			s.retrying()
		}
		select {
		case <-ctx.Done():
			t.Stop()
			s.settle(r.key, false)
			return
		case <-t.Chan():
		}
		wait = min(2*wait, ackRetryMax)
	}
}

// settle ends the ack of key: with ok its message and every copy of it that came
// meanwhile are acknowledged to the broker; without, they are not and key leaves the
// replay cache, so the broker's next delivery of it is taken.
func (s *Sink) settle(key string, ok bool) {
	s.mu.Lock()
	acks := s.open[key]
	delete(s.open, key)
	if !ok {
		delete(s.replay.seen, key)
	}
	s.mu.Unlock()
	if ok {
		for _, ack := range acks {
			ack()
		}
	}
}

// handle runs on the client's goroutine: check the ack and queue it, never block. A
// message refused by the checks is acknowledged to the broker at once (it can never be
// accepted); a copy of an ack still in the queue waits for that ack's answer; an ack
// that finds no room is left unacknowledged (the broker delivers it again).
func (s *Sink) handle(topic string, payload []byte, ack func()) {
	m, key, err := s.check(topic, payload, ack)
	if errors.Is(err, errAckCopy) {
		s.log.Info("mqtt ack came again while it is being recorded", "alarm", m.AlarmID, "by", m.By)
		return
	}
	if err != nil {
		if !errors.Is(err, ErrAckBusy) {
			ack()
		}
		s.reject(topic, m, err)
		return
	}
	select {
	case s.acks <- ackReq{m: m, topic: topic, key: key}:
	default:
		s.settle(key, false)
		s.reject(topic, m, fmt.Errorf("%w: ack queue full", ErrAckBusy))
	}
}

// errAckCopy: the message is a copy of an ack still waiting for the Acker; its broker
// ack was added to the original's.
var errAckCopy = errors.New("copy of an ack in progress")

// check parses and authenticates one ack message, and records it in the replay cache
// under the key it returns, with ack as its broker ack.
func (s *Sink) check(topic string, payload []byte, ack func()) (AckMessage, string, error) {
	m, err := ParseAck(payload)
	if err != nil {
		return m, "", err
	}
	now := s.clock.Now()
	var key string
	switch s.cfg.Ack.Auth {
	case AuthACL:
		user, ok := strings.CutPrefix(topic, s.ackTopic+"/")
		if !ok || user == "" || strings.Contains(user, "/") {
			return m, "", fmt.Errorf("%w: topic %s", ErrAckInvalid, topic)
		}
		if m.By != "" && m.By != user {
			return m, "", fmt.Errorf("%w: by %q on the topic of %q", ErrAckInvalid, m.By, user)
		}
		m.By = user
		if err := VerifyAck("", topic, m, now, s.cfg.Ack.ReplayWindow); err != nil {
			return m, "", err
		}
		h := sha256.Sum256(append([]byte(topic+"\n"), payload...))
		key = hex.EncodeToString(h[:])
	default:
		if m.By == "" {
			return m, "", fmt.Errorf("%w: by is required", ErrAckInvalid)
		}
		if err := VerifyAck(s.secret, topic, m, now, s.cfg.Ack.ReplayWindow); err != nil {
			return m, "", err
		}
		key = strings.ToLower(m.Sig)
	}
	exp := m.TS + int64(s.cfg.Ack.ReplayWindow/time.Second) + 1
	s.mu.Lock()
	defer s.mu.Unlock()
	if acks, pending := s.open[key]; pending {
		s.open[key] = append(acks, ack)
		return m, key, errAckCopy
	}
	if err := s.replay.add(key, exp, now.Unix()); err != nil {
		return m, key, err
	}
	s.open[key] = []func(){ack}
	return m, key, nil
}

func (s *Sink) reject(topic string, m AckMessage, err error) {
	reason := "invalid"
	for _, e := range []error{ErrAckJSON, ErrAckInvalid, ErrAckSignature, ErrAckStale, ErrAckReplay, ErrAckBusy, ErrAckFailed, ErrAckUnavailable} {
		if errors.Is(err, e) {
			reason = e.Error()
			break
		}
	}
	s.log.Warn("mqtt ack rejected", "topic", topic, "reason", reason, "alarm", m.AlarmID, "by", m.By, "err", err)
	s.count(reason)
}

func (s *Sink) count(result string) {
	s.m.acks.WithLabelValues(result).Inc()
	if s.observe != nil {
		s.observe(result)
	}
}

// Health is Down while the publisher reports no connection, Degraded when the last
// delivery failed, else Up; the detail has the connection, deliveries in flight, the
// ack queue, the last error, the last success and the last accepted ack.
func (s *Sink) Health() health.Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := health.Status{State: health.Up, Detail: map[string]any{
		"inflight":  s.inflight,
		"ack_queue": len(s.acks),
	}}
	if c, ok := s.pub.(interface{ Connected() bool }); ok {
		conn := c.Connected()
		st.Detail["connected"] = conn
		if !conn {
			st.State, st.Reason = health.Down, "not connected to the broker"
		}
	}
	if s.lastErr != nil {
		st.Detail["last_error"] = s.lastErr.Error()
		st.Detail["last_error_at"] = s.errAt
		if s.failed && st.State == health.Up {
			st.State, st.Reason = health.Degraded, "last delivery failed"
		}
	}
	if !s.okAt.IsZero() {
		st.Detail["last_success"] = s.okAt
	}
	if !s.acked.IsZero() {
		st.Detail["last_ack"] = s.acked
	}
	return st
}
