package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// relayMain is the floor of the alarm path: a zero-work MQTT relay that takes each
// QoS 1 message of -in and publishes it (wrapped with its topic) to -out at QoS 1,
// acknowledging the input after the broker acknowledged the output. Nothing is
// decoded, evaluated or written to disk.
func relayMain(args []string) error {
	fs := flag.NewFlagSet("relay", flag.ExitOnError)
	broker := fs.String("broker", "tcp://127.0.0.1:1883", "MQTT broker")
	in := fs.String("in", "", "topic filter to read")
	out := fs.String("out", "", "topic to publish to")
	_ = fs.Parse(args)
	o := paho.NewClientOptions().AddBroker(*broker).SetClientID(fmt.Sprintf("cgl-relay-%d", os.Getpid())).
		SetCleanSession(true).SetAutoAckDisabled(true).SetOrderMatters(false)
	c := paho.NewClient(o)
	if t := c.Connect(); !t.Wait() || t.Error() != nil {
		return fmt.Errorf("relay connect: %w", t.Error())
	}
	defer c.Disconnect(100)
	t := c.Subscribe(*in, 1, func(c paho.Client, m paho.Message) {
		b, _ := json.Marshal(struct {
			Topic   string          `json:"topic"`
			Payload json.RawMessage `json:"payload"`
		}{m.Topic(), m.Payload()})
		pt := c.Publish(*out, 1, false, b)
		go func() {
			// The floor persists nothing: what the message causes is the forwarded copy,
			// so the input is acknowledged once the broker has that copy, and not at
			// all when the forward failed (the broker delivers it again).
			if pt.Wait() && pt.Error() == nil {
				m.Ack()
			}
		}()
	})
	if !t.Wait() || t.Error() != nil {
		return fmt.Errorf("relay subscribe: %w", t.Error())
	}
	fmt.Println("subscribed")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	<-ctx.Done()
	return nil
}

// waitLine reads r until a line equal to want (the child is ready), then drains r.
func waitLine(ctx context.Context, r io.Reader, want string) error {
	sc := bufio.NewScanner(r)
	found := make(chan bool, 1)
	go func() {
		ok := false
		for sc.Scan() {
			if !ok && sc.Text() == want {
				ok = true
				found <- true
			}
		}
		if !ok {
			found <- false
		}
	}()
	select {
	case ok := <-found:
		if !ok {
			return fmt.Errorf("child ended before %q", want)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
