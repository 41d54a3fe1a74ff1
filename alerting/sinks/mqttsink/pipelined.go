package mqttsink

import (
	"context"
	"fmt"
)

// AsyncPublisher is a Publisher that can put several messages on the wire before the
// first PUBACK comes back: PublishAsync sends in call order and returns a wait for
// the broker's acknowledgement. A notification's retained state and its event then
// cost one round trip, not two, and stay in order on the connection.
type AsyncPublisher interface {
	PublishAsync(topic string, qos byte, retained bool, payload []byte) (wait func(ctx context.Context) error)
}

var _ AsyncPublisher = (*PahoClient)(nil)

// PublishAsync sends payload now (in call order) and returns a wait for its PUBACK.
func (p *PahoClient) PublishAsync(topic string, qos byte, retained bool, payload []byte) func(ctx context.Context) error {
	if !p.c.IsConnectionOpen() {
		err := fmt.Errorf("mqtt %s: publish %s: %w", p.broker, topic, ErrNotConnected)
		return func(context.Context) error { return err }
	}
	t := p.c.Publish(topic, qos, retained, payload)
	return func(ctx context.Context) error { return p.wait(ctx, t, "publish "+topic) }
}

// publishAll sends msgs in order and waits for every acknowledgement: pipelined on an
// AsyncPublisher, one after another otherwise. It returns the first error.
func (s *Sink) publishAll(ctx context.Context, msgs []outMsg) error {
	ap, ok := s.pub.(AsyncPublisher)
	if !ok {
		for _, m := range msgs {
			if err := s.pub.Publish(ctx, m.topic, QoS, m.retained, m.payload); err != nil {
				return fmt.Errorf("mqtt sink %s: %s: %w", s.cfg.Name, m.what, err)
			}
		}
		return nil
	}
	waits := make([]func(context.Context) error, len(msgs))
	for i, m := range msgs {
		waits[i] = ap.PublishAsync(m.topic, QoS, m.retained, m.payload)
	}
	var first error
	for i, w := range waits {
		if err := w(ctx); err != nil && first == nil {
			first = fmt.Errorf("mqtt sink %s: %s: %w", s.cfg.Name, msgs[i].what, err)
		}
	}
	return first
}

// outMsg is one message of a notification.
type outMsg struct {
	topic    string
	retained bool
	payload  []byte
	what     string // for errors: "alarm <id> state", "notification <id> event"
}
