package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	"github.com/influxdata/influxdb-client-go/v2/api"
	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/cfgerr"
	"github.com/campusguard/campusguard/event"
	"github.com/campusguard/campusguard/health"
	"github.com/campusguard/campusguard/site"
	"github.com/campusguard/campusguard/telemetry/spool"
)

// Spool priority classes: events are dropped first, alarm history last.
const (
	classEvent  spool.Class = 0 // device events
	classStatus spool.Class = 1 // device health, patrol results, gateway stats
	classAlarm  spool.Class = 2 // alarm transitions
	numClasses              = 3
)

// Directory looks devices up for their zone tag; *site.Directory implements it.
type Directory interface {
	Device(id string) *site.Device
}

// Options are the forwarder's collaborators.
type Options struct {
	Clock      clockwork.Clock       // default: the real clock
	Registerer prometheus.Registerer // nil: metrics not registered
	Logger     *slog.Logger          // default slog.Default()
	Site       string                // site tag for points that name none
	Directory  Directory             // zone lookup (nil: no zone tags unless given)

	// Written, when set, is called after each batch InfluxDB answered with points
	// kept (all of them, or the good part of a batch with bad points), with the
	// number kept, once the forwarder has accounted for it: counters updated and a
	// spooled batch committed. Spooled, when set, is called after each batch was
	// put into the spool (or failed to be), with its number of points. Both are
	// for observers such as tests; they run on the forwarder's goroutines, so
	// they must return quickly. Default nil.
	Written func(points int)
	Spooled func(points int)
}

type batch struct {
	class spool.Class
	buf   []byte
	n     int
	done  chan error // alarm deliveries wait for the outcome
}

type dirBox struct{ d Directory }

// Forwarder writes telemetry to InfluxDB with an on-disk spool. Create it with New,
// start it with Run (once).
type Forwarder struct {
	cfg   Config
	clock clockwork.Clock
	log   *slog.Logger
	enc   *encoder
	dir   atomic.Pointer[dirBox]

	client influxdb2.Client
	wapi   api.WriteAPIBlocking
	spool  *spool.Spool
	m      *metrics

	pool sync.Pool // *batch for events and status

	mu     sync.Mutex // guards status
	status *batch

	stopMu  sync.RWMutex // submitters hold it shared; shutdown takes it to set stopped
	stopped bool
	running atomic.Bool

	live   chan *batch
	urgent chan *batch
	kick   chan struct{}

	uniq       atomic.Uint64
	connected  atomic.Bool
	retryAfter atomic.Int64 // ns, from the last 429/503
	written    atomic.Uint64
	dropped    atomic.Uint64

	onWritten func(points int) // Options.Written
	onSpooled func(points int) // Options.Spooled

	errMu    sync.Mutex
	lastErr  string
	spoolErr error
}

// New builds a forwarder and opens its spool (which keeps what an earlier run left).
// cfg must have been defaulted, validated and had its secrets resolved.
func New(cfg Config, o Options) (*Forwarder, error) {
	if o.Clock == nil {
		o.Clock = clockwork.NewRealClock()
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if cfg.BatchSize <= 0 || cfg.FlushInterval <= 0 || cfg.Timeout <= 0 || cfg.DrainRate <= 0 {
		cfg.SetDefaults(cfgerr.Env{})
	}
	if cfg.SpoolDir == "" {
		return nil, errors.New("telemetry: no spool_dir")
	}
	f := &Forwarder{
		cfg:    cfg,
		clock:  o.Clock,
		log:    o.Logger,
		live:   make(chan *batch, DefaultQueueBatches),
		urgent: make(chan *batch, 64),
		kick:   make(chan struct{}, 1),

		onWritten: o.Written,
		onSpooled: o.Spooled,
	}
	f.dir.Store(&dirBox{o.Directory})
	f.enc = newEncoder(cfg.MeasurementPrefix, o.Site, f.zone)
	f.m = newMetrics(o.Registerer, f)

	tlsCfg, err := cfg.TLS.Config()
	if err != nil {
		return nil, fmt.Errorf("telemetry: %w", err)
	}
	opts := influxdb2.DefaultOptions().
		SetHTTPRequestTimeout(uint(cfg.Timeout/time.Second) + 5).
		SetUseGZip(cfg.GZip).
		SetApplicationName("campusguard")
	opts.SetTLSConfig(tlsCfg)
	f.client = influxdb2.NewClientWithOptions(cfg.URL, cfg.Token.Reveal(), opts)
	f.wapi = f.client.WriteAPIBlocking(cfg.Org, cfg.Bucket)

	f.spool, err = spool.Open(cfg.SpoolDir, spool.Options{
		MaxBytes: cfg.SpoolMaxBytes,
		Classes:  numClasses,
		Now:      f.clock.Now,
		Logger:   f.log,
		OnDrop: func(c spool.Class, records, points int, reason string) {
			f.drop(reason, points)
			f.log.Warn("telemetry spool dropped batches", "class", c, "batches", records, "points", points, "reason", reason)
		},
	})
	if err != nil {
		f.client.Close()
		return nil, fmt.Errorf("telemetry: %w", err)
	}
	if st := f.spool.Stats(); st.Points > 0 {
		f.log.Info("telemetry spool holds points from an earlier run", "points", st.Points, "bytes", st.Bytes)
	}
	return f, nil
}

// SetDirectory replaces the device directory (after a config reload).
func (f *Forwarder) SetDirectory(d Directory) { f.dir.Store(&dirBox{d}) }

func (f *Forwarder) zone(device string) string {
	b := f.dir.Load()
	if b == nil || b.d == nil || device == "" {
		return ""
	}
	if d := b.d.Device(device); d != nil {
		return d.Zone
	}
	return ""
}

// Run forwards events from in (a DropOldest bus subscription) and everything recorded
// through the other methods, until ctx ends. On the way out it puts whatever was not
// written into the spool and closes it. Run may be called once.
func (f *Forwarder) Run(ctx context.Context, in <-chan event.Event) error {
	if !f.running.CompareAndSwap(false, true) {
		return errors.New("telemetry: Run called twice")
	}
	wctx, wcancel := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() { f.writer(wctx) })
	wg.Go(func() { f.drainer(wctx) })

	ev := f.newBatch(classEvent)
	add := func(e *event.Event) {
		ev.buf = f.enc.appendEvent(ev.buf, e, f.clock.Now)
		ev.n++
		if ev.n >= f.cfg.BatchSize {
			f.submit(ev)
			ev = f.newBatch(classEvent)
		}
	}
	tick := f.clock.NewTicker(f.cfg.FlushInterval)
	defer tick.Stop()
loop:
	for {
		select {
		case e, ok := <-in:
			if !ok {
				in = nil
				continue
			}
			add(&e)
		case <-tick.Chan():
			if ev.n > 0 {
				f.submit(ev)
				ev = f.newBatch(classEvent)
			}
			f.flushStatus()
			if err := f.spool.Sync(); err != nil {
				f.setSpoolErr(err)
			}
		case <-ctx.Done():
			break loop
		}
	}
	// Take what is already queued, then hand everything over.
	for in != nil {
		select {
		case e, ok := <-in:
			if !ok {
				in = nil
				break
			}
			add(&e)
			continue
		default:
		}
		break
	}
	if ev.n > 0 {
		f.submit(ev)
	}
	f.flushStatus()

	f.stopMu.Lock()
	f.stopped = true
	f.stopMu.Unlock()
	wcancel() // aborts a write in flight: its batch goes to the spool
	wg.Wait()
	for {
		select {
		case b := <-f.urgent:
			f.toSpool(b)
			continue
		case b := <-f.live:
			f.toSpool(b)
			continue
		default:
		}
		break
	}
	f.connected.Store(false)
	err := f.spool.Close()
	f.client.Close()
	if err != nil {
		return fmt.Errorf("telemetry: %w", err)
	}
	return nil
}

// Name is the sink name alerting routes alarm history to.
func (f *Forwarder) Name() string { return "influx" }

// Deliver writes an alarm transition (one point per alarm of a group). It returns nil
// once the points are in InfluxDB or fsynced in the spool, an *alerting.Permanent when
// InfluxDB rejects them as bad, and another error (the pipeline retries) when neither
// worked. Delivering the same notification again overwrites the same points.
func (f *Forwarder) Deliver(ctx context.Context, n alerting.Notification) error {
	alarms := n.Group
	if len(alarms) == 0 {
		alarms = []alerting.Alarm{n.Alarm}
	}
	b := &batch{class: classAlarm, done: make(chan error, 1)}
	now := f.clock.Now()
	for i := range alarms {
		b.buf = f.enc.appendAlarm(b.buf, &n, &alarms[i], now)
		b.n++
	}
	f.submit(b)
	select {
	case err := <-b.done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("telemetry: alarm %s: %w", n.ID, ctx.Err())
	}
}

func (f *Forwarder) setErr(err error) {
	f.errMu.Lock()
	f.lastErr = err.Error()
	f.errMu.Unlock()
}

func (f *Forwarder) setSpoolErr(err error) {
	f.errMu.Lock()
	f.spoolErr = err
	f.errMu.Unlock()
}

func (f *Forwarder) drop(reason string, points int) {
	if points <= 0 {
		return
	}
	f.dropped.Add(uint64(points))
	f.m.dropped.WithLabelValues(reason).Add(float64(points))
}

// Health reports the link and the spool: up when connected with an empty spool,
// degraded while spooling or draining (with the spool's size and age), down when the
// spool cannot be written.
func (f *Forwarder) Health() health.Status {
	st := f.spool.Stats()
	connected := f.connected.Load()
	f.errMu.Lock()
	lastErr, spoolErr := f.lastErr, f.spoolErr
	f.errMu.Unlock()
	d := map[string]any{
		"connected":      connected,
		"spool_bytes":    st.Bytes,
		"spool_points":   st.Points,
		"points_written": f.written.Load(),
		"points_dropped": f.dropped.Load(),
	}
	age := time.Duration(0)
	if !st.Oldest.IsZero() {
		age = f.clock.Since(st.Oldest)
		d["spool_age_s"] = age.Seconds()
	}
	switch {
	case spoolErr != nil:
		return health.Status{State: health.Down, Reason: "spool: " + spoolErr.Error(), Detail: d}
	case !connected:
		reason := "InfluxDB not reachable, spooling"
		if lastErr != "" {
			d["last_error"] = lastErr
		}
		return health.Status{State: health.Degraded, Reason: reason, Detail: d}
	case st.Points > 0:
		return health.Status{State: health.Degraded,
			Reason: fmt.Sprintf("draining spool: %d points, oldest %s", st.Points, age.Round(time.Second)), Detail: d}
	}
	return health.Status{State: health.Up, Detail: d}
}
