package telemetry

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	"github.com/influxdata/influxdb-client-go/v2/api"
	http2 "github.com/influxdata/influxdb-client-go/v2/api/http"
	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/campusguard/campusguard/alerting"
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

// Reconnect backoff while InfluxDB is unreachable.
const (
	minBackoff = 500 * time.Millisecond
	maxBackoff = 15 * time.Second
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
		cfg.SetDefaults("")
	}
	if cfg.SpoolDir == "" {
		return nil, errors.New("telemetry: no spool_dir")
	}
	f := &Forwarder{
		cfg:    cfg,
		clock:  o.Clock,
		log:    o.Logger.With("component", "telemetry"),
		live:   make(chan *batch, DefaultQueueBatches),
		urgent: make(chan *batch, 64),
		kick:   make(chan struct{}, 1),
	}
	f.dir.Store(&dirBox{o.Directory})
	f.enc = newEncoder(cfg.MeasurementPrefix, o.Site, f.zone)
	f.m = newMetrics(o.Registerer, f)

	tlsCfg, err := tlsConfig(cfg)
	if err != nil {
		return nil, err
	}
	opts := influxdb2.DefaultOptions().
		SetHTTPRequestTimeout(uint(cfg.Timeout/time.Second) + 5).
		SetUseGZip(cfg.GZip).
		SetApplicationName("campusguard")
	if tlsCfg != nil {
		opts.SetTLSConfig(tlsCfg)
	}
	f.client = influxdb2.NewClientWithOptions(cfg.URL, cfg.Token, opts)
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

func tlsConfig(cfg Config) (*tls.Config, error) {
	if cfg.CAFile == "" && !cfg.InsecureSkipVerify {
		return nil, nil
	}
	t := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: cfg.InsecureSkipVerify} //nolint:gosec // operator's explicit choice
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("telemetry ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("telemetry ca_file %s: no PEM certificates", cfg.CAFile)
		}
		t.RootCAs = pool
	}
	return t, nil
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

func (f *Forwarder) newBatch(c spool.Class) *batch {
	if b, ok := f.pool.Get().(*batch); ok {
		b.class, b.n, b.buf = c, 0, b.buf[:0]
		return b
	}
	return &batch{class: c, buf: make([]byte, 0, 64*1024)}
}

func (f *Forwarder) release(b *batch) {
	if b.done != nil || cap(b.buf) > 16<<20 {
		return
	}
	f.pool.Put(b)
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

// submit hands a batch to the writer without waiting: when the writer's queue is full
// (InfluxDB slow) the batch goes to the spool instead.
func (f *Forwarder) submit(b *batch) {
	f.stopMu.RLock()
	if !f.stopped {
		q := f.live
		if b.class == classAlarm {
			q = f.urgent
		}
		select {
		case q <- b:
			f.stopMu.RUnlock()
			return
		default:
		}
	}
	f.stopMu.RUnlock()
	f.toSpool(b)
}

func (f *Forwarder) flushStatus() {
	f.mu.Lock()
	b := f.status
	f.status = nil
	f.mu.Unlock()
	if b != nil && b.n > 0 {
		f.submit(b)
	}
}

// addStatus appends one status point through fn.
func (f *Forwarder) addStatus(fn func([]byte) []byte) {
	f.mu.Lock()
	if f.status == nil {
		f.status = f.newBatch(classStatus)
	}
	b := f.status
	b.buf = fn(b.buf)
	b.n++
	full := b.n >= f.cfg.BatchSize
	if full {
		f.status = nil
	}
	f.mu.Unlock()
	if full {
		f.submit(b)
	}
}

// RecordDeviceHealth queues a device health snapshot (never blocks).
func (f *Forwarder) RecordDeviceHealth(h DeviceHealth) {
	now, u := f.clock.Now(), f.uniq.Add(1)
	f.addStatus(func(b []byte) []byte { return f.enc.appendDeviceHealth(b, &h, now, u) })
}

// RecordPatrol queues a patrol result (never blocks).
func (f *Forwarder) RecordPatrol(p PatrolResult) {
	now := f.clock.Now()
	f.addStatus(func(b []byte) []byte { return f.enc.appendPatrol(b, &p, now) })
}

// RecordGateway queues the gateway's stats, with the forwarder's own added (fields
// telemetry_spool_bytes, telemetry_spool_points, telemetry_points_written,
// telemetry_points_dropped). Never blocks.
func (f *Forwarder) RecordGateway(g GatewayStats) {
	now, u := f.clock.Now(), f.uniq.Add(1)
	st := f.spool.Stats()
	extra := map[string]float64{
		"telemetry_spool_bytes":    float64(st.Bytes),
		"telemetry_spool_points":   float64(st.Points),
		"telemetry_points_written": float64(f.written.Load()),
		"telemetry_points_dropped": float64(f.dropped.Load()),
	}
	f.addStatus(func(b []byte) []byte { return f.enc.appendGateway(b, &g, extra, now, u) })
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

// finish reports a batch's outcome to whoever waits for it and recycles it.
func (f *Forwarder) finish(b *batch, err error) {
	if b.done != nil {
		b.done <- err
		return
	}
	f.release(b)
}

// toSpool puts a batch into the spool (fsynced for alarms).
func (f *Forwarder) toSpool(b *batch) {
	err := f.spool.Append(b.class, b.n, b.buf)
	if err == nil && b.class == classAlarm {
		err = f.spool.Sync()
	}
	switch {
	case errors.Is(err, spool.ErrTooLarge):
		// counted by OnDrop
		err = fmt.Errorf("telemetry: %w", err)
	case errors.Is(err, spool.ErrClosed):
		f.drop("stopped", b.n)
		err = errors.New("telemetry: forwarder stopped")
	case err != nil:
		f.drop("spool_error", b.n)
		f.setSpoolErr(err)
		f.log.Error("telemetry spool write failed, batch lost", "points", b.n, "err", err)
	default:
		f.setSpoolErr(nil)
	}
	f.finish(b, err)
	select {
	case f.kick <- struct{}{}:
	default:
	}
}

// writer sends live batches while InfluxDB answers, and spools them while it does not.
func (f *Forwarder) writer(ctx context.Context) {
	for {
		var b *batch
		select {
		case b = <-f.urgent:
		default:
			select {
			case b = <-f.urgent:
			case b = <-f.live:
			case <-ctx.Done():
				return
			}
		}
		if !f.connected.Load() {
			f.toSpool(b)
			continue
		}
		switch out, err := f.write(ctx, b.buf, b.n); out {
		case sent:
			f.finish(b, nil)
		case rejected:
			f.finish(b, &alerting.Permanent{Err: err})
		default:
			f.toSpool(b)
		}
	}
}

// drainer watches the link: while InfluxDB is unreachable it probes (with the oldest
// spooled batch, or a ping) with backoff; while it is reachable it sends spooled batches
// in order at DrainRate.
func (f *Forwarder) drainer(ctx context.Context) {
	backoff := minBackoff
	interval := time.Duration(float64(time.Second) / f.cfg.DrainRate)
	for ctx.Err() == nil {
		if !f.connected.Load() {
			if f.probe(ctx) {
				backoff = minBackoff
				continue
			}
			wait := max(backoff, time.Duration(f.retryAfter.Swap(0)))
			backoff = min(backoff*2, maxBackoff)
			f.sleep(ctx, wait)
			continue
		}
		rec, ok, err := f.spool.Peek()
		if err != nil {
			f.setSpoolErr(err)
			f.sleep(ctx, time.Second)
			continue
		}
		if !ok {
			select {
			case <-f.kick:
			case <-ctx.Done():
			}
			continue
		}
		f.sendSpooled(ctx, rec)
		f.sleep(ctx, interval)
	}
}

func (f *Forwarder) sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := f.clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.Chan():
	case <-ctx.Done():
	}
}

// probe tests the link; true when InfluxDB answered.
func (f *Forwarder) probe(ctx context.Context) bool {
	rec, ok, err := f.spool.Peek()
	if err != nil {
		f.setSpoolErr(err)
	}
	if ok {
		return f.sendSpooled(ctx, rec) != failed
	}
	pctx, cancel := context.WithTimeout(ctx, f.cfg.Timeout)
	defer cancel()
	if _, err := f.client.Ping(pctx); err != nil {
		f.setErr(fmt.Errorf("ping %s: %w", f.cfg.URL, err))
		return false
	}
	f.setConnected(true)
	return true
}

// sendSpooled writes one spooled record and commits it when InfluxDB took it (or
// rejected it for good).
func (f *Forwarder) sendSpooled(ctx context.Context, rec spool.Record) outcome {
	out, _ := f.write(ctx, rec.Data, rec.Points)
	if out != failed {
		if err := f.spool.Commit(rec); err != nil {
			f.setSpoolErr(err)
		}
	}
	return out
}

type outcome int

const (
	sent     outcome = iota // InfluxDB took the batch
	rejected                // InfluxDB refused (some of) its points for good
	failed                  // not written: keep it and retry
)

var droppedRe = regexp.MustCompile(`dropped=(\d+)`)

// write sends one batch and classifies the outcome, keeping the link state, metrics
// and logs. When InfluxDB refuses a batch as a whole for a bad point (a field type
// conflict inside the batch), the batch is split in halves and each half written, so
// only the bad points are dropped. Writing a half twice is harmless: points are unique
// and overwrite themselves.
func (f *Forwarder) write(ctx context.Context, data []byte, points int) (outcome, error) {
	out, err, bad := f.post(ctx, data, points)
	if out != rejected {
		return out, err
	}
	if bad < 0 && points > 1 {
		if i := splitLines(data, points/2); i > 0 && i < len(data) {
			o1, err1 := f.write(ctx, data[:i], points/2)
			if o1 == failed {
				return failed, err1
			}
			o2, err2 := f.write(ctx, data[i:], points-points/2)
			switch {
			case o2 == failed:
				return failed, err2
			case o1 == rejected:
				return rejected, err1
			case o2 == rejected:
				return rejected, err2
			}
			return sent, nil
		}
	}
	if bad < 0 {
		bad = points
	}
	bad = min(bad, points)
	f.written.Add(uint64(points - bad))
	f.m.written.Add(float64(points - bad))
	f.drop("rejected", bad)
	f.log.Error("InfluxDB rejected points, dropped", "dropped", bad, "err", err, "point", badPoint(err.Error(), data))
	return rejected, err
}

// splitLines returns the offset after the n-th line of data.
func splitLines(data []byte, n int) int {
	off := 0
	for range n {
		i := bytes.IndexByte(data[off:], '\n')
		if i < 0 {
			return len(data)
		}
		off += i + 1
	}
	return off
}

// post is one write request. For a rejection, bad is the number of points InfluxDB
// says it dropped, or -1 when it refused the whole batch without saying.
func (f *Forwarder) post(ctx context.Context, data []byte, points int) (outcome, error, int) {
	wctx, cancel := context.WithTimeout(ctx, f.cfg.Timeout)
	err := f.wapi.WriteRecord(wctx, string(data))
	cancel()
	if err == nil {
		f.written.Add(uint64(points))
		f.m.written.Add(float64(points))
		f.setConnected(true)
		return sent, nil, 0
	}
	code := 0
	var he *http2.Error
	if errors.As(err, &he) {
		code = he.StatusCode
		if he.RetryAfter > 0 {
			f.retryAfter.Store(int64(time.Duration(he.RetryAfter) * time.Second))
		}
	}
	label := "network"
	if code != 0 {
		label = strconv.Itoa(code)
	}
	f.m.failed.WithLabelValues(label).Inc()
	err = fmt.Errorf("influx write %s: %w", f.cfg.URL, err)
	switch code {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity:
		// Bad points: never taken, whatever we do.
		f.setConnected(true)
		msg := err.Error()
		if m := droppedRe.FindStringSubmatch(msg); m != nil {
			n, _ := strconv.Atoi(m[1]) // a partial write: the good points are in
			return rejected, err, n
		}
		if c := strings.Count(msg, "unable to parse"); c > 0 && strings.Contains(msg, "partial write") {
			return rejected, err, c
		}
		return rejected, err, -1
	}
	if ctx.Err() == nil {
		f.setErr(err)
		f.setConnected(false)
		if code == http.StatusUnauthorized || code == http.StatusForbidden || code == http.StatusNotFound {
			f.log.Error("InfluxDB refuses the writes: check url, org, bucket and token; spooling meanwhile", "status", code, "err", err)
		}
	}
	return failed, err, 0
}

// badPoint picks the point to log for a rejection: the line InfluxDB quotes, else the
// batch's first line.
func badPoint(msg string, data []byte) string {
	if i := strings.Index(msg, "unable to parse '"); i >= 0 {
		rest := msg[i+len("unable to parse '"):]
		if j := strings.Index(rest, "': "); j >= 0 {
			return rest[:j]
		}
	}
	line := string(data)
	if i := strings.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	if len(line) > 1024 {
		line = line[:1024]
	}
	return line
}

func (f *Forwarder) setConnected(up bool) {
	if f.connected.Swap(up) != up {
		if up {
			f.log.Info("InfluxDB reachable", "url", f.cfg.URL)
		} else {
			f.errMu.Lock()
			last := f.lastErr
			f.errMu.Unlock()
			f.log.Warn("InfluxDB unreachable, spooling telemetry", "url", f.cfg.URL, "err", last)
		}
		select {
		case f.kick <- struct{}{}:
		default:
		}
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
