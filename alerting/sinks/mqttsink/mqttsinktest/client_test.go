package mqttsinktest

import (
	"context"
	"errors"
	"testing"

	"github.com/campusguard/campusguard/alerting/sinks/mqttsink"
)

func TestClientPublishes(t *testing.T) {
	c := New()
	ctx := context.Background()
	pubs := []Message{
		{Topic: "p/alarms/a1", QoS: 1, Retained: true, Payload: []byte("fired")},
		{Topic: "p/events", QoS: 1, Payload: []byte("n-1")},
		{Topic: "p/alarms/a1", QoS: 1, Retained: true, Payload: nil},
	}
	for _, m := range pubs {
		if err := c.Publish(ctx, m.Topic, m.QoS, m.Retained, m.Payload); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		topic string
		n     int
	}{
		{"p/alarms/a1", 2},
		{"p/events", 1},
		{"p/other", 0},
	}
	for _, tt := range tests {
		if got := c.PublishedTo(tt.topic); len(got) != tt.n {
			t.Errorf("%s: %d messages, want %d", tt.topic, len(got), tt.n)
		}
	}
	if _, ok := c.Retained("p/alarms/a1"); ok {
		t.Error("an empty retained publish did not clear the state")
	}
	if m := c.Take(t); m.Topic != "p/alarms/a1" || string(m.Payload) != "fired" || !m.Retained {
		t.Fatalf("first %+v", m)
	}
	if m, err := c.AwaitPublished(ctx, "p/events", nil); err != nil || string(m.Payload) != "n-1" {
		t.Fatalf("await %+v %v", m, err)
	}
}

func TestClientFailures(t *testing.T) {
	c := New()
	ctx := context.Background()
	boom := errors.New("no PUBACK")
	tests := []struct {
		name      string
		set       func()
		want      error
		connected bool
	}{
		{"refused", func() { c.Fail(boom) }, boom, true},
		{"disconnected", c.Disconnect, mqttsink.ErrNotConnected, false},
		{"reconnected", c.Reconnect, nil, true},
	}
	for _, tt := range tests {
		tt.set()
		if err := c.Publish(ctx, "p/events", 1, false, nil); !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
			t.Errorf("%s: publish %v, want %v", tt.name, err, tt.want)
		}
		if c.Connected() != tt.connected {
			t.Errorf("%s: connected %v", tt.name, c.Connected())
		}
	}
	if n := len(c.Published()); n != 1 {
		t.Fatalf("%d recorded, want only the acknowledged one", n)
	}
}

func TestClientDelivers(t *testing.T) {
	c := New()
	ctx := context.Background()
	if _, err := c.Send("p/ack", []byte("x")); err == nil {
		t.Fatal("delivered without a subscription")
	}
	var got []string
	acks := map[string]func(){}
	if err := c.Subscribe(ctx, "p/ack/+", 1, func(topic string, payload []byte, ack func()) {
		got = append(got, topic+" "+string(payload))
		acks[topic] = ack
	}); err != nil {
		t.Fatal(err)
	}
	if err := c.AwaitSubscribed(ctx, "p/ack/wang"); err != nil {
		t.Fatal(err)
	}
	d := c.Deliver(t, "p/ack/wang", []byte("a1"))
	if d.IsAcked() || len(got) != 1 || got[0] != "p/ack/wang a1" {
		t.Fatalf("delivery %v acked %v", got, d.IsAcked())
	}
	acks["p/ack/wang"]()
	acks["p/ack/wang"]() // a second ack is a no-op
	<-d.Acked()
	if ds := c.Deliveries(); len(ds) != 1 || !ds[0].IsAcked() {
		t.Fatalf("deliveries %+v", ds)
	}
}
