package mqttsink

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/campusguard/campusguard/mqtttopic"
)

// ErrNotConnected is returned by PahoClient.Publish while the broker is unreachable: the
// alerting pipeline retries later, rather than paho queueing messages in memory.
var ErrNotConnected = errors.New("not connected to the broker")

// PahoClient is a small paho-backed Publisher for the sink's own connection. It
// reconnects by itself, subscribes again after every connect, and fails publishes at
// once while disconnected.
//
// Its session is persistent (clean session off, under the configured client id) and
// messages are acknowledged by hand: a message the handler has not acknowledged stays
// with the broker, which delivers it again to the next connection of the same client
// id (after a reconnect or a restart of the gateway). Acks published while the gateway
// was away are delivered when it comes back.
type PahoClient struct {
	c      mqtt.Client
	broker string // scheme://host, for errors
	log    *slog.Logger

	mu     sync.Mutex
	subs   map[string]sub
	parked []mqtt.Message // arrived before a subscription took them (at most maxParked)
}

// maxParked bounds the messages kept for a handler not registered yet (the persistent
// session delivers its messages at once on connect, maybe before Subscribe).
const maxParked = 1024

type sub struct {
	qos byte
	h   MessageHandler
}

var _ Publisher = (*PahoClient)(nil)

// NewPahoClient builds a client from cfg (SetDefaults applied, secrets resolved); call
// Connect to start it.
func NewPahoClient(cfg ClientConfig, log *slog.Logger) (*PahoClient, error) {
	if log == nil {
		log = slog.Default()
	}
	u, err := url.Parse(cfg.URL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("mqtt %q: not a broker URL", cfg.URL)
	}
	pc := &PahoClient{broker: u.Scheme + "://" + u.Host, log: log, subs: map[string]sub{}}
	o := mqtt.NewClientOptions().AddBroker(cfg.URL).SetClientID(cfg.ClientID).
		SetKeepAlive(cfg.KeepAlive).SetConnectTimeout(cfg.ConnectTimeout).
		SetAutoReconnect(true).SetConnectRetry(true).
		SetConnectRetryInterval(2 * time.Second).SetMaxReconnectInterval(30 * time.Second).
		SetCleanSession(false).SetAutoAckDisabled(true).SetOrderMatters(false).
		// Every message goes to one handler that dispatches on the subscriptions: a
		// message the broker delivers again right after a connect, before the client
		// has subscribed again, still finds its handler.
		SetDefaultPublishHandler(pc.dispatch).
		SetOnConnectHandler(pc.onConnect).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			log.Warn("mqtt connection lost", "broker", pc.broker, "err", err)
		})
	if cfg.Username != "" {
		o.SetUsername(cfg.Username)
	}
	if pw := cfg.Password.Reveal(); pw != "" {
		o.SetPassword(pw)
	}
	tc, err := cfg.TLS.Config()
	if err != nil {
		return nil, fmt.Errorf("mqtt %s: %w", pc.broker, err)
	}
	o.SetTLSConfig(tc)
	pc.c = mqtt.NewClient(o)
	return pc, nil
}

// Connect starts the client. It returns once the first connection is up, or with
// ctx's error when ctx ends first; the client keeps trying in the background either
// way, until Close.
func (p *PahoClient) Connect(ctx context.Context) error {
	return p.wait(ctx, p.c.Connect(), "connect")
}

// Close disconnects (waiting up to 250 ms for work in flight).
func (p *PahoClient) Close() { p.c.Disconnect(250) }

// Connected reports whether the connection to the broker is up.
func (p *PahoClient) Connected() bool { return p.c.IsConnectionOpen() }

// Publish sends payload and, for QoS 1, waits for the broker's PUBACK (or ctx).
func (p *PahoClient) Publish(ctx context.Context, topic string, qos byte, retained bool, payload []byte) error {
	if !p.c.IsConnectionOpen() {
		return fmt.Errorf("mqtt %s: publish %s: %w", p.broker, topic, ErrNotConnected)
	}
	return p.wait(ctx, p.c.Publish(topic, qos, retained, payload), "publish "+topic)
}

// Subscribe registers h for topic (a filter) and subscribes now when connected; the
// client subscribes again after every reconnect. h runs on paho's goroutines and must
// not block; the payload is the caller's to keep. h must call ack once the broker may
// forget the message (PUBACK at QoS 1).
func (p *PahoClient) Subscribe(ctx context.Context, topic string, qos byte, h MessageHandler) error {
	p.mu.Lock()
	p.subs[topic] = sub{qos: qos, h: h}
	var mine []mqtt.Message
	kept := p.parked[:0]
	for _, m := range p.parked {
		if mqtttopic.Match(topic, m.Topic()) {
			mine = append(mine, m)
		} else {
			kept = append(kept, m)
		}
	}
	p.parked = kept
	p.mu.Unlock()
	for _, m := range mine {
		h(m.Topic(), append([]byte(nil), m.Payload()...), m.Ack)
	}
	if !p.c.IsConnectionOpen() {
		return nil // onConnect subscribes
	}
	return p.wait(ctx, p.c.Subscribe(topic, qos, nil), "subscribe "+topic)
}

// dispatch hands a message to the handler of the first subscription that matches its
// topic. A message no handler takes yet (the session's subscriptions outlive a
// restart, Subscribe may come after Connect) is kept for the next Subscribe, and left
// unacknowledged: if no handler ever takes it, the broker delivers it again.
func (p *PahoClient) dispatch(_ mqtt.Client, m mqtt.Message) {
	p.mu.Lock()
	var h MessageHandler
	for f, s := range p.subs {
		if mqtttopic.Match(f, m.Topic()) {
			h = s.h
			break
		}
	}
	if h == nil {
		if len(p.parked) < maxParked {
			p.parked = append(p.parked, m)
		}
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	h(m.Topic(), append([]byte(nil), m.Payload()...), m.Ack)
}

func (p *PahoClient) onConnect(c mqtt.Client) {
	p.log.Info("mqtt connected", "broker", p.broker)
	p.mu.Lock()
	subs := make(map[string]sub, len(p.subs))
	for t, s := range p.subs {
		subs[t] = s
	}
	p.mu.Unlock()
	for t, s := range subs {
		tok := c.Subscribe(t, s.qos, nil)
		if tok.WaitTimeout(10*time.Second) && tok.Error() != nil {
			p.log.Error("mqtt subscribe failed", "broker", p.broker, "topic", t, "err", tok.Error())
		}
	}
}

func (p *PahoClient) wait(ctx context.Context, t mqtt.Token, what string) error {
	select {
	case <-t.Done():
		if err := t.Error(); err != nil {
			return fmt.Errorf("mqtt %s: %s: %w", p.broker, what, err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("mqtt %s: %s: %w", p.broker, what, ctx.Err())
	}
}
