package patrol

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/campusguard/campusguard/event"
	"github.com/campusguard/campusguard/health"
)

// RunnerOptions configures a Runner.
type RunnerOptions struct {
	Clock      clockwork.Clock // nil: the real clock
	Store      Store           // required: state and results
	Publisher  event.Publisher // required
	Registerer prometheus.Registerer
	Logger     *slog.Logger
	// OnResult is called (on the runner's goroutine, after the result is stored) for
	// every finished run: the telemetry adapter writes it to InfluxDB. Keep it short.
	OnResult func(RunResult)
}

// Runner drives a Tracker: scans from a bus subscription, Tick at NextDeadline,
// events to the Publisher, state and results to the Store.
type Runner struct {
	mu  sync.Mutex // guards tr and the health fields
	tr  *Tracker
	opt RunnerOptions
	log *slog.Logger
	m   *metrics

	kick chan struct{}

	running   bool
	lastErr   string
	lastErrAt time.Time
	lastScan  time.Time
}

// NewRunner restores the tracker's state from the store (a run in progress continues)
// and returns the runner. Run starts it.
func NewRunner(tr *Tracker, opt RunnerOptions) (*Runner, error) {
	if tr == nil || opt.Store == nil || opt.Publisher == nil {
		return nil, errors.New("patrol runner: tracker, store and publisher are required")
	}
	if opt.Clock == nil {
		opt.Clock = clockwork.NewRealClock()
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	r := &Runner{tr: tr, opt: opt, log: opt.Logger, kick: make(chan struct{}, 1)}
	m, err := newMetrics(opt.Registerer)
	if err != nil {
		return nil, err
	}
	r.m = m
	b, err := opt.Store.GetState(StateKey)
	if err != nil {
		return nil, fmt.Errorf("patrol runner: %w", err)
	}
	dropped, err := tr.RestoreState(b)
	if err != nil {
		// A damaged snapshot must not stop the gateway: start fresh and say so.
		r.log.Error("patrol state not restored, starting fresh", "err", err)
		r.setErr(err)
	}
	for _, id := range dropped {
		r.log.Warn("patrol run dropped on restore: its plan changed or is gone", "run", id)
	}
	if n := len(tr.runs); n > 0 {
		r.log.Info("patrol runs restored", "runs", n)
	}
	return r, nil
}

// Apply swaps in a new config; runs of unchanged plans continue.
func (r *Runner) Apply(cfg Config) error {
	r.mu.Lock()
	dropped, err := r.tr.Apply(cfg)
	r.mu.Unlock()
	if err != nil {
		return err
	}
	for _, id := range dropped {
		r.log.Warn("patrol run dropped: its plan changed or was removed", "run", id)
	}
	select {
	case r.kick <- struct{}{}:
	default:
	}
	return nil
}

// Active returns the runs in progress (for the console and the live report).
func (r *Runner) Active() []RunResult {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.tr.Active()
}

// Run consumes scans from in until ctx ends or in is closed. It ticks the tracker at
// once (judging what passed while the daemon was down) and at every deadline.
func (r *Runner) Run(ctx context.Context, in <-chan event.Event) error {
	r.mu.Lock()
	r.running = true
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.running = false
		r.mu.Unlock()
	}()
	r.step(ctx, func(now time.Time) []event.Event { return r.tr.Tick(now) })
	for {
		r.mu.Lock()
		next, ok := r.tr.NextDeadline()
		r.mu.Unlock()
		var timerC <-chan time.Time
		var timer clockwork.Timer
		if ok {
			d := next.Sub(r.opt.Clock.Now())
			if d < 0 {
				d = 0
			}
			timer = r.opt.Clock.NewTimer(d)
			timerC = timer.Chan()
			if !r.opt.Clock.Now().Before(next) {
				// The clock passed next while the timer was armed (a fake clock
				// advanced in between): due now.
				// Drop the armed timer too: a fake clock would otherwise count it as a
				// waiter while this step runs.
				stopTimer(timer)
				timer = nil
				due := make(chan time.Time, 1)
				due <- next
				timerC = due
			}
		}
		select {
		case <-ctx.Done():
			stopTimer(timer)
			return nil
		case <-r.kick:
			stopTimer(timer)
		case <-timerC:
			r.step(ctx, func(now time.Time) []event.Event { return r.tr.Tick(now) })
		case ev, open := <-in:
			stopTimer(timer)
			if !open {
				return nil
			}
			if ev.Kind != event.KindPatrol || ev.Type != event.TypeScan || ev.Source == Source {
				continue
			}
			r.step(ctx, func(now time.Time) []event.Event {
				out := r.tr.Scan(now, ev)
				r.m.scans.WithLabelValues(r.tr.LastScan()).Inc()
				r.lastScan = now
				return out
			})
		}
	}
}

func stopTimer(t clockwork.Timer) {
	if t != nil {
		t.Stop()
	}
}

// step runs f on the tracker, publishes its events, stores the finished runs and the
// state. When a publish fails the state is not saved: after a restart the deadlines
// are judged again rather than lost.
func (r *Runner) step(ctx context.Context, f func(now time.Time) []event.Event) {
	now := r.opt.Clock.Now()
	r.mu.Lock()
	out := f(now)
	results := r.tr.DrainResults()
	state, serr := r.tr.MarshalState()
	active := len(r.tr.runs)
	retention := r.tr.c.cfg.Retention
	r.mu.Unlock()
	r.m.active.Set(float64(active))

	published := true
	for _, e := range out {
		if _, err := r.opt.Publisher.Publish(ctx, e); err != nil {
			published = false
			r.log.Error("patrol event not published", "type", e.Type, "err", err)
			r.setErr(fmt.Errorf("publish %s: %w", e.Type, err))
			continue
		}
		r.m.events.WithLabelValues(e.Type).Inc()
		r.log.Debug("patrol event", "event", e.String())
	}
	if len(results) > 0 {
		if err := SaveResults(r.opt.Store, results, now, retention); err != nil {
			r.log.Error("patrol results not stored", "err", err)
			r.m.storeErrors.Inc()
			r.setErr(err)
		}
		for _, res := range results {
			r.m.runs.WithLabelValues(res.Status).Inc()
			if r.opt.OnResult != nil {
				r.opt.OnResult(res)
			}
		}
	}
	if !published {
		return
	}
	if serr == nil {
		serr = r.opt.Store.PutState(StateKey, state)
	}
	if serr != nil {
		r.log.Error("patrol state not saved", "err", serr)
		r.m.storeErrors.Inc()
		r.setErr(serr)
		return
	}
	if len(out) > 0 || len(results) > 0 {
		r.clearErr()
	}
}

func (r *Runner) setErr(err error) {
	r.mu.Lock()
	r.lastErr = err.Error()
	r.lastErrAt = r.opt.Clock.Now()
	r.mu.Unlock()
}

func (r *Runner) clearErr() {
	r.mu.Lock()
	r.lastErr = ""
	r.mu.Unlock()
}

// Health is Down when the runner is not running, Degraded while its last store or
// publish failed, else Up.
func (r *Runner) Health() health.Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := health.Status{State: health.Up, Detail: map[string]any{
		"active_runs": len(r.tr.runs),
		"plans":       len(r.tr.c.plans),
	}}
	if !r.lastScan.IsZero() {
		st.Detail["last_scan"] = r.lastScan
	}
	switch {
	case !r.running:
		st.State, st.Reason = health.Down, "not running"
	case r.lastErr != "":
		st.State, st.Reason = health.Degraded, r.lastErr
		st.Detail["since"] = r.lastErrAt
	}
	return st
}
