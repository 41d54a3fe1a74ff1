package devhealth

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/campusguard/campusguard/event"
	"github.com/jonboulle/clockwork"
)

// DefaultInterval is how often the Runner checks for silent devices.
const DefaultInterval = 5 * time.Second

// Runner feeds a Tracker from an event stream, checks it every Interval and
// publishes the offline/online events it returns.
type Runner struct {
	Tracker   *Tracker
	Publisher event.Publisher
	Clock     clockwork.Clock // nil: real clock
	Interval  time.Duration   // 0: DefaultInterval
	Logger    *slog.Logger    // nil: slog.Default()
}

// Run consumes events (a bus subscription's C()) until ctx ends or events is closed.
// Publishing happens on a goroutine of its own, so the runner keeps draining its
// subscription while the bus waits for room in other queues (publishing from the
// consuming goroutine could deadlock a Block subscription). Run returns after that
// goroutine has finished.
func (r *Runner) Run(ctx context.Context, events <-chan event.Event) error {
	clk := r.Clock
	if clk == nil {
		clk = clockwork.NewRealClock()
	}
	iv := r.Interval
	if iv <= 0 {
		iv = DefaultInterval
	}
	log := r.Logger
	if log == nil {
		log = slog.Default()
	}

	ob := &outbox{wake: make(chan struct{}, 1)}
	pctx, pcancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		ob.drain(pctx, r.Publisher, log)
	}()
	defer func() {
		pcancel()
		wg.Wait()
	}()

	tk := clk.NewTicker(iv)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-events:
			if !ok {
				return nil
			}
			ob.add(r.Tracker.Observe(ev))
		case <-tk.Chan():
			out := r.Tracker.Check(clk.Now())
			for _, e := range out {
				log.Warn("device offline", "device", e.DeviceID, "kind", e.Kind, "silent_s", e.Fields["silent_s"])
			}
			ob.add(out)
		}
	}
}

// outbox is an ordered queue of events to publish; it grows by at most one event per
// device state change.
type outbox struct {
	mu   sync.Mutex
	q    []event.Event
	wake chan struct{}
}

func (o *outbox) add(evs []event.Event) {
	if len(evs) == 0 {
		return
	}
	o.mu.Lock()
	o.q = append(o.q, evs...)
	o.mu.Unlock()
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

func (o *outbox) drain(ctx context.Context, pub event.Publisher, log *slog.Logger) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-o.wake:
		}
		for {
			o.mu.Lock()
			if len(o.q) == 0 {
				o.mu.Unlock()
				break
			}
			e := o.q[0]
			o.q = o.q[1:]
			o.mu.Unlock()
			if _, err := pub.Publish(ctx, e); err != nil {
				if ctx.Err() != nil {
					return
				}
				log.Error("devhealth publish", "device", e.DeviceID, "type", e.Type, "err", err)
			}
		}
	}
}
