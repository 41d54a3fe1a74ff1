// Package mqttsinktest is an in-memory MQTT client for the alarm sink's tests
// (mqttsink.Publisher): it records what the sink publishes, per topic, with QoS and
// retain flag; it answers a publish with a broker's PUBACK, a failure or a lost
// connection, as the test chooses; and it hands the sink's subscriptions messages as a
// broker would, recording the manual acknowledgement of each. Every wait is on a
// signal, never on time.
package mqttsinktest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/campusguard/campusguard/alerting/sinks/mqttsink"
	"github.com/campusguard/campusguard/mqtttopic"
)

// Guard bounds the waits of the testing.TB helpers (Take, Deliver): a guard against a
// hang, not a timing assertion.
const Guard = 10 * time.Second

// Message is one publish the client took.
type Message struct {
	Topic    string
	QoS      byte
	Retained bool
	Payload  []byte
}

// Delivery is a message the client handed to a subscription; the subscriber
// acknowledges it (the broker's PUBACK) when it may be forgotten.
type Delivery struct {
	Topic   string
	Payload []byte

	acked chan struct{}
	once  sync.Once
}

// Acked is closed once the subscriber acknowledged the message.
func (d *Delivery) Acked() <-chan struct{} { return d.acked }

// IsAcked reports whether the subscriber acknowledged the message.
func (d *Delivery) IsAcked() bool {
	select {
	case <-d.acked:
		return true
	default:
		return false
	}
}

// Client is an in-memory mqttsink.Publisher, connected and acknowledging every
// publish until told otherwise (Fail, Disconnect).
type Client struct {
	mu         sync.Mutex
	pubs       []Message
	taken      int                                // publishes handed out by Next
	subs       map[string]mqttsink.MessageHandler // filter → handler
	order      []string                           // filters in subscription order
	deliveries []*Delivery
	fail       error // what Publish returns instead of a PUBACK
	connected  bool
	changed    chan struct{}
}

var _ mqttsink.Publisher = (*Client)(nil)

// New returns a connected Client with no subscriptions.
func New() *Client {
	return &Client{subs: map[string]mqttsink.MessageHandler{}, connected: true, changed: make(chan struct{})}
}

// signal wakes the waiters; c.mu is held.
func (c *Client) signal() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// Publish records the message and returns as the broker's PUBACK would: nil, or the
// failure set by Fail or Disconnect (then nothing is recorded).
func (c *Client) Publish(ctx context.Context, topic string, qos byte, retained bool, payload []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail != nil {
		return fmt.Errorf("mqttsinktest: publish %s: %w", topic, c.fail)
	}
	c.pubs = append(c.pubs, Message{Topic: topic, QoS: qos, Retained: retained, Payload: append([]byte(nil), payload...)})
	c.signal()
	return nil
}

// Subscribe records h for filter; a later Subscribe of the same filter replaces it.
func (c *Client) Subscribe(_ context.Context, filter string, _ byte, h mqttsink.MessageHandler) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.subs[filter]; !ok {
		c.order = append(c.order, filter)
	}
	c.subs[filter] = h
	c.signal()
	return nil
}

// Connected reports the connection state (the sink's health reads it).
func (c *Client) Connected() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.connected
}

// Fail makes every later Publish fail with err, the connection staying up (a PUBACK
// that never comes, a refused publish); nil acknowledges publishes again.
func (c *Client) Fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fail = err
}

// Disconnect drops the connection: Connected is false and every Publish fails with
// mqttsink.ErrNotConnected until Reconnect.
func (c *Client) Disconnect() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.connected, c.fail = false, mqttsink.ErrNotConnected
}

// Reconnect brings the connection back: publishes are acknowledged again.
func (c *Client) Reconnect() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.connected, c.fail = true, nil
}

// Published returns every message published so far, in order.
func (c *Client) Published() []Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Message(nil), c.pubs...)
}

// PublishedTo returns the messages published on topic, in order.
func (c *Client) PublishedTo(topic string) []Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []Message
	for _, m := range c.pubs {
		if m.Topic == topic {
			out = append(out, m)
		}
	}
	return out
}

// Retained returns the retained payload of topic as a broker keeps it (the last
// retained publish; an empty one clears it), and whether there is one.
func (c *Client) Retained(topic string) ([]byte, bool) {
	var last []byte
	for _, m := range c.PublishedTo(topic) {
		if m.Retained {
			last = m.Payload
		}
	}
	return last, len(last) > 0
}

// wait returns once cond (called with c.mu held) is true, or with ctx's error.
func (c *Client) wait(ctx context.Context, cond func() bool) error {
	for {
		c.mu.Lock()
		if cond() {
			c.mu.Unlock()
			return nil
		}
		ch := c.changed
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Next waits for the first publish not yet handed out and hands it out.
func (c *Client) Next(ctx context.Context) (Message, error) {
	if err := c.wait(ctx, func() bool { return c.taken < len(c.pubs) }); err != nil {
		return Message{}, fmt.Errorf("mqttsinktest: await a publish: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.pubs[c.taken]
	c.taken++
	return m, nil
}

// Take is Next for a test: it fails t when nothing is published within Guard.
func (c *Client) Take(t testing.TB) Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Guard)
	defer cancel()
	m, err := c.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// AwaitPublished waits until a message on topic satisfies match (nil: any) and
// returns it.
func (c *Client) AwaitPublished(ctx context.Context, topic string, match func(Message) bool) (Message, error) {
	var found Message
	err := c.wait(ctx, func() bool {
		for _, m := range c.pubs {
			if m.Topic == topic && (match == nil || match(m)) {
				found = m
				return true
			}
		}
		return false
	})
	if err != nil {
		return Message{}, fmt.Errorf("mqttsinktest: await a publish on %s: %w", topic, err)
	}
	return found, nil
}

// handler returns the handler of the last subscription whose filter matches topic;
// c.mu is held.
func (c *Client) handler(topic string) mqttsink.MessageHandler {
	var h mqttsink.MessageHandler
	for _, f := range c.order {
		if mqtttopic.Match(f, topic) {
			h = c.subs[f]
		}
	}
	return h
}

// AwaitSubscribed waits until a subscription takes messages on topic.
func (c *Client) AwaitSubscribed(ctx context.Context, topic string) error {
	if err := c.wait(ctx, func() bool { return c.handler(topic) != nil }); err != nil {
		return fmt.Errorf("mqttsinktest: await a subscription to %s: %w", topic, err)
	}
	return nil
}

// Send hands payload on topic to the matching subscription, as the broker delivers
// a message, and returns the delivery, whose Acked says when the subscriber
// acknowledged it. Without a matching subscription it returns an error.
func (c *Client) Send(topic string, payload []byte) (*Delivery, error) {
	c.mu.Lock()
	h := c.handler(topic)
	d := &Delivery{Topic: topic, Payload: append([]byte(nil), payload...), acked: make(chan struct{})}
	if h != nil {
		c.deliveries = append(c.deliveries, d)
	}
	c.mu.Unlock()
	if h == nil {
		return nil, fmt.Errorf("mqttsinktest: no subscription takes %s", topic)
	}
	h(topic, append([]byte(nil), payload...), func() {
		d.once.Do(func() {
			close(d.acked)
			c.mu.Lock()
			c.signal()
			c.mu.Unlock()
		})
	})
	return d, nil
}

// Deliver is Send for a test: it fails t when no subscription takes topic.
func (c *Client) Deliver(t testing.TB, topic string, payload []byte) *Delivery {
	t.Helper()
	d, err := c.Send(topic, payload)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// Deliveries returns every message handed to a subscription, in order.
func (c *Client) Deliveries() []*Delivery {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*Delivery(nil), c.deliveries...)
}
