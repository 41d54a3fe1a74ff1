package alerting

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

type delayErr struct{ d time.Duration }

func (e delayErr) Error() string             { return fmt.Sprintf("busy, retry after %s", e.d) }
func (e delayErr) RetryDelay() time.Duration { return e.d }

// scriptSink answers each Deliver with the next error of its script.
type scriptSink struct {
	errs  []error
	calls int
	wake  chan struct{}
}

func (s *scriptSink) Name() string { return "script" }
func (s *scriptSink) Deliver(ctx context.Context, _ Notification) error {
	if _, ok := ctx.Deadline(); !ok {
		return errors.New("no timeout on the attempt")
	}
	err := s.errs[s.calls%len(s.errs)]
	s.calls++
	return err
}
func (s *scriptSink) Via(id string) string  { return "via-" + id }
func (s *scriptSink) Wake() <-chan struct{} { return s.wake }

func TestClassify(t *testing.T) {
	tests := []struct {
		name  string
		err   error
		want  verdict
		least time.Duration
	}{
		{"nil", nil, delivered, 0},
		{"permanent", &Permanent{Err: errors.New("400")}, rejected, 0},
		{"wrapped permanent", fmt.Errorf("webhook: %w", &Permanent{Err: errors.New("bad key")}), rejected, 0},
		{"plain", errors.New("timeout"), retryable, 0},
		{"retry after", fmt.Errorf("webhook: %w", delayErr{5 * time.Second}), retryable, 5 * time.Second},
		{"negative retry after", delayErr{-time.Second}, retryable, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, least := classify(tc.err)
			if v != tc.want || least != tc.least {
				t.Fatalf("classify = %v %s, want %v %s", v, least, tc.want, tc.least)
			}
		})
	}
}

// The wait before each next attempt after each answer: doubling from backoff_min,
// capped at backoff_max, at least the receiver's RetryDelay (capped too), and from
// backoff_min again after a delivery or a rejection.
func TestDelivererBackoff(t *testing.T) {
	busy := errors.New("busy")
	tests := []struct {
		name  string
		errs  []error
		waits []time.Duration // the wait after each attempt (0: none, it succeeded)
	}{
		{"doubling, capped", []error{busy, busy, busy, busy, busy},
			[]time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 8 * time.Second}},
		{"success resets", []error{busy, busy, nil, busy},
			[]time.Duration{time.Second, 2 * time.Second, 0, time.Second}},
		{"rejection resets", []error{busy, &Permanent{Err: busy}, busy},
			[]time.Duration{time.Second, 0, time.Second}},
		{"retry after is a least delay", []error{delayErr{5 * time.Second}, busy, busy},
			[]time.Duration{5 * time.Second, 2 * time.Second, 4 * time.Second}},
		{"retry after is capped", []error{delayErr{time.Hour}},
			[]time.Duration{8 * time.Second}},
		{"retry after shorter than the back-off", []error{busy, busy, delayErr{time.Second}},
			[]time.Duration{time.Second, 2 * time.Second, 4 * time.Second}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			clk := clockwork.NewFakeClock()
			sink := &scriptSink{errs: tc.errs}
			dl := newDeliverer(sink, clk, DeliveryConfig{Timeout: time.Second, BackoffMin: time.Second, BackoffMax: 8 * time.Second})
			for i, want := range tc.waits {
				v, _ := dl.attempt(ctx, Notification{ID: "n"})
				if v != retryable {
					if want != 0 {
						t.Fatalf("attempt %d: %v, want a retry", i, v)
					}
					continue
				}
				if got := dl.delay(); got != want {
					t.Fatalf("attempt %d: delay %s, want %s", i, got, want)
				}
				done := make(chan bool)
				go func() { done <- dl.pause(ctx) }()
				if err := clk.BlockUntilContext(ctx, 1); err != nil {
					t.Fatal(err)
				}
				clk.Advance(want - time.Nanosecond)
				select {
				case <-done:
					t.Fatalf("attempt %d: the pause ended before %s", i, want)
				default:
				}
				clk.Advance(time.Nanosecond)
				if !<-done {
					t.Fatalf("attempt %d: pause reported the end", i)
				}
			}
		})
	}
}

// The sink's Waker cuts the pause short and starts the back-off again; a cancelled
// context ends it.
func TestDelivererWakeAndCancel(t *testing.T) {
	clk := clockwork.NewFakeClock()
	sink := &scriptSink{errs: []error{errors.New("busy")}, wake: make(chan struct{}, 1)}
	dl := newDeliverer(sink, clk, DeliveryConfig{Timeout: time.Second, BackoffMin: time.Second, BackoffMax: time.Minute})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for range 3 {
		dl.attempt(ctx, Notification{ID: "n"})
	}
	dl.bo.next(0)
	dl.bo.next(0)
	sink.wake <- struct{}{}
	if !dl.pause(ctx) {
		t.Fatal("pause reported the end")
	}
	if got := dl.delay(); got != time.Second {
		t.Fatalf("delay after a wake %s, want backoff_min", got)
	}
	cancel()
	if dl.pause(ctx) {
		t.Fatal("pause went on after the context ended")
	}
}

// apply records each verdict in the delivery.
func TestDelivererApply(t *testing.T) {
	now := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	dl := newDeliverer(&scriptSink{}, clockwork.NewFakeClock(), DeliveryConfig{})
	tests := []struct {
		v    verdict
		err  error
		want Delivery
	}{
		{delivered, nil, Delivery{State: Delivered, DoneAt: now, Via: "via-n1"}},
		{rejected, &Permanent{Err: errors.New("400")}, Delivery{State: Rejected, DoneAt: now, LastError: "permanent: 400"}},
		{retryable, errors.New("busy"), Delivery{State: Pending, LastError: "busy"}},
	}
	for _, tc := range tests {
		d := Delivery{State: Pending, Notification: Notification{ID: "n1"}}
		dl.apply(&d, tc.v, tc.err, now)
		tc.want.Notification = d.Notification
		if d.State != tc.want.State || !d.DoneAt.Equal(tc.want.DoneAt) || d.LastError != tc.want.LastError || d.Via != tc.want.Via {
			t.Errorf("verdict %v: %+v, want %+v", tc.v, d, tc.want)
		}
	}
}
