package mqttsinktest

import (
	"context"
	"testing"
)

// Acker is an mqttsink.Acker the test answers call by call: each Ack waits for the
// test's reply (or its context's end).
type Acker struct {
	// Calls has every Ack call, for a test that selects on it.
	Calls chan AckCall
}

// AckCall is one Ack call waiting for its answer on Reply.
type AckCall struct {
	AlarmID, By, Note string
	Reply             chan error
}

// NewAcker returns an Acker with room for 16 calls not yet taken.
func NewAcker() *Acker { return &Acker{Calls: make(chan AckCall, 16)} }

// Ack hands the call to the test and returns its reply.
func (a *Acker) Ack(ctx context.Context, alarmID, by, note string) error {
	c := AckCall{AlarmID: alarmID, By: by, Note: note, Reply: make(chan error, 1)}
	select {
	case a.Calls <- c:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-c.Reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Next waits for the next call; it fails t when none comes within Guard.
func (a *Acker) Next(t testing.TB) AckCall {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Guard)
	defer cancel()
	select {
	case c := <-a.Calls:
		return c
	case <-ctx.Done():
		t.Fatal("the Acker was not called")
		return AckCall{}
	}
}
