package telemetry

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/cfgerr"
	"github.com/campusguard/campusguard/event"
	"github.com/campusguard/campusguard/health"
	"github.com/campusguard/campusguard/internal/testenv"
	"github.com/campusguard/campusguard/secret"
	"github.com/campusguard/campusguard/site"
)

var dbSeq atomic.Int64

func testDB(t testing.TB, srv *testenv.Influx) string {
	name := fmt.Sprintf("cg_%s_%d_%d", strings.ToLower(strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())), os.Getpid(), dbSeq.Add(1))
	srv.CreateDB(name)
	return name
}

func testConfig(srv *testenv.Influx, db, spoolDir string) Config {
	c := Config{Enabled: true, URL: srv.URL, Bucket: db + "/autogen", Token: secret.Inline("user:password"),
		BatchSize: 100, FlushInterval: 20 * time.Millisecond, Timeout: 2 * time.Second, SpoolDir: spoolDir,
		DrainRate: 200}
	c.SetDefaults(cfgerr.Env{})
	return c
}

func quietLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.Default()
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

type running struct {
	f    *Forwarder
	in   chan event.Event
	stop context.CancelFunc
	done chan error

	progress progress // wakes up after each batch written or spooled
}

func startForwarder(t testing.TB, cfg Config, reg prometheus.Registerer, dir Directory) *running {
	t.Helper()
	p := newProgress()
	f, err := New(cfg, Options{Registerer: reg, Logger: quietLogger(), Site: "s01", Directory: dir,
		Written: p.notify, Spooled: p.notify})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{f: f, in: make(chan event.Event, 1024), stop: cancel, done: make(chan error, 1), progress: p}
	go func() { r.done <- f.Run(ctx, r.in) }()
	t.Cleanup(func() { r.shutdown(t) })
	return r
}

func (r *running) shutdown(t testing.TB) {
	if r.stop == nil {
		return
	}
	r.stop()
	r.stop = nil
	if err := <-r.done; err != nil {
		t.Errorf("Run: %v", err)
	}
}

// progress wakes a waiter whenever the forwarder wrote a batch to InfluxDB or put one
// into its spool: the events that change what the tests wait for.
type progress chan struct{}

func newProgress() progress { return make(progress, 1) }

func (p progress) notify(int) {
	select {
	case p <- struct{}{}:
	default: // a wake-up is already pending
	}
}

// await checks cond (a question to the server or the forwarder) now and again after
// each batch the forwarder wrote or spooled, until it holds, for at most d.
func await(t testing.TB, r *running, d time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		ok, state := cond()
		if ok {
			return
		}
		select {
		case <-r.progress:
		case <-deadline.C:
			if ok, state = cond(); ok {
				t.Fatalf("%s: holds, but no write or spool signal announced it within %s", what, d)
			}
			t.Fatalf("%s: not within %s (last: %s)", what, d, state)
		}
	}
}

func awaitCount(t testing.TB, r *running, srv *testenv.Influx, db, q string, want int64) {
	t.Helper()
	await(t, r, 60*time.Second, q, func() (bool, string) {
		n, err := srv.Count(db, q)
		if err != nil {
			return false, err.Error()
		}
		if n > want {
			t.Fatalf("%s: %d points, want %d", q, n, want)
		}
		return n == want, fmt.Sprintf("%d of %d", n, want)
	})
}

func TestIntegrationSchema(t *testing.T) {
	srv := testenv.StartInflux(t)
	db := testDB(t, srv)
	dir := site.NewDirectory(&site.Site{ID: "s01"}, []site.Device{{ID: "btn-gate", Zone: "gate"}, {ID: "cam-2", Zone: "kitchen"}})
	r := startForwarder(t, testConfig(srv, db, t.TempDir()), prometheus.NewRegistry(), dir)

	now := time.Now().Truncate(time.Millisecond)
	// Two events of one device with the same type in the same millisecond: both stay.
	r.in <- event.Event{Seq: 1, Site: "s01", DeviceID: "btn-gate", Kind: event.KindPanic, Type: event.TypePressed, Source: "gpio", ReceivedAt: now}
	r.in <- event.Event{Seq: 2, Site: "s01", DeviceID: "btn-gate", Kind: event.KindPanic, Type: event.TypePressed, Source: "gpio", ReceivedAt: now}
	r.in <- event.Event{Seq: 3, Site: "s01", DeviceID: "cam-2", Kind: event.KindKitchenCamera, Type: event.TypeDetection,
		Source: "mqtt", DeviceTime: now.Add(-2 * time.Second), ReceivedAt: now,
		Fields: event.Fields{"detection": "no_chef_hat", "confidence": 0.91, "region": "灶台区"}}
	r.f.RecordDeviceHealth(DeviceHealth{At: now, DeviceID: "cam-2", Kind: event.KindKitchenCamera, Online: true,
		LastSeen: now.Add(-time.Minute), SupplyV: ptr(12.1)})
	r.f.RecordPatrol(PatrolResult{At: now, Route: "night-1", Checkpoint: "CP-07", Result: "late", Run: "r1", Guard: "A1B2"})
	r.f.RecordGateway(GatewayStats{At: now, Uptime: time.Hour, Queues: map[string]int{"telemetry": 3}})
	n := alerting.Notification{ID: "n-1", Transition: alerting.Fired, At: now, Count: 1,
		Alarm: alerting.Alarm{ID: "a-1", Rule: "panic", Site: "s01", DeviceID: "btn-gate", DeviceKind: event.KindPanic,
			Severity: alerting.Critical, State: alerting.Firing, Message: "门卫室紧急按钮报警", Count: 1}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.f.Deliver(ctx, n); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	if err := r.f.Deliver(ctx, n); err != nil { // a retry by the pipeline: overwrites, no second point
		t.Fatalf("Deliver again: %v", err)
	}

	awaitCount(t, r, srv, db, "SELECT count(seq) FROM cg_event", 3)
	awaitCount(t, r, srv, db, "SELECT count(online) FROM cg_device", 1)
	awaitCount(t, r, srv, db, "SELECT count(deviation_s) FROM cg_patrol", 1)
	awaitCount(t, r, srv, db, "SELECT count(uptime_s) FROM cg_gateway", 1)
	awaitCount(t, r, srv, db, "SELECT count(count) FROM cg_alarm", 1)

	tagKeys := func(m string) []string {
		res, err := srv.Query(db, "SHOW TAG KEYS FROM "+m)
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, s := range res.Series {
			for _, v := range s.Values {
				keys = append(keys, fmt.Sprint(v[0]))
			}
		}
		slices.Sort(keys)
		return keys
	}
	wantTags := map[string]string{
		"cg_event":   "[device kind site source type zone]",
		"cg_device":  "[device kind site zone]",
		"cg_patrol":  "[checkpoint result route site]",
		"cg_alarm":   "[device device_kind rule severity site state transition zone]",
		"cg_gateway": "[site]",
	}
	for m, want := range wantTags {
		if got := fmt.Sprint(tagKeys(m)); got != want {
			t.Errorf("%s tags %s, want %s", m, got, want)
		}
	}

	// The camera event: device time used (trusted), fields typed, zone from the directory.
	res, err := srv.Query(db, `SELECT "detection","confidence","region","skew_ms","zone" FROM cg_event WHERE device='cam-2'`)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Series) != 1 || len(res.Series[0].Values) != 1 {
		t.Fatalf("cam-2 rows: %+v", res)
	}
	row := res.Series[0].Values[0]
	wantTS := now.Add(-2*time.Second).UnixMilli()*1e6 + 3
	if fmt.Sprint(row) != fmt.Sprintf("[%d no_chef_hat 0.91 灶台区 2000 kitchen]", wantTS) {
		t.Errorf("cam-2 row %v", row)
	}
	// Free text stays a field.
	res, err = srv.Query(db, `SELECT "message" FROM cg_alarm`)
	if err != nil || fmt.Sprint(res.Series[0].Values[0][1]) != "门卫室紧急按钮报警" {
		t.Errorf("alarm message: %+v %v", res, err)
	}
	await(t, r, 10*time.Second, "health up", func() (bool, string) {
		h := r.f.Health()
		return h.State == health.Up, fmt.Sprint(h)
	})
}

func TestIntegrationBadPointsAreDropped(t *testing.T) {
	srv := testenv.StartInflux(t)
	db := testDB(t, srv)
	reg := prometheus.NewRegistry()
	cfg := testConfig(srv, db, t.TempDir())
	cfg.FlushInterval = time.Hour // one batch of exactly BatchSize points
	cfg.BatchSize = 3
	r := startForwarder(t, cfg, reg, nil)
	now := time.Now()
	// "x" is a string, then a bool: InfluxDB refuses the second (field type conflict).
	r.in <- event.Event{Seq: 1, DeviceID: "d1", Kind: event.KindSystem, Type: "state", ReceivedAt: now, Fields: event.Fields{"x": "a"}}
	r.in <- event.Event{Seq: 2, DeviceID: "d1", Kind: event.KindSystem, Type: "state", ReceivedAt: now, Fields: event.Fields{"x": true}}
	r.in <- event.Event{Seq: 3, DeviceID: "d1", Kind: event.KindSystem, Type: "state", ReceivedAt: now}
	awaitCount(t, r, srv, db, "SELECT count(seq) FROM cg_event", 2)
	await(t, r, 10*time.Second, "drop counted", func() (bool, string) {
		d := testutil.ToFloat64(r.f.m.dropped.WithLabelValues("rejected"))
		return d == 1, fmt.Sprint(d)
	})
	if got := testutil.ToFloat64(r.f.m.failed.WithLabelValues("400")); got < 1 {
		t.Errorf("batches_failed_total{code=400} = %v", got)
	}
	if st := r.f.spool.Stats(); st.Points != 0 {
		t.Errorf("a rejected batch was spooled: %+v", st)
	}
	if !r.f.connected.Load() {
		t.Error("a 400 is not a dead link")
	}
}

// TestIntegrationOutageAndRestarts: InfluxDB stops while events keep coming; the
// forwarder spools, is itself restarted while spooling, and once InfluxDB is back every
// point arrives exactly once.
func TestIntegrationOutageAndRestarts(t *testing.T) {
	srv := testenv.StartOwnInflux(t)
	db := testDB(t, srv)
	spoolDir := t.TempDir()
	cfg := testConfig(srv, db, spoolDir)
	reg := prometheus.NewRegistry()
	r := startForwarder(t, cfg, reg, nil)

	var seq uint64
	send := func(r *running, n int) {
		for range n {
			seq++
			r.in <- event.Event{Seq: seq, Site: "s01", DeviceID: fmt.Sprintf("d%d", seq%7), Kind: event.KindAntiFall,
				Type: event.TypeState, ReceivedAt: time.Now(), Fields: event.Fields{"n": float64(seq)}}
		}
	}
	send(r, 500)
	awaitCount(t, r, srv, db, "SELECT count(seq) FROM cg_event", 500)

	srv.Stop()
	send(r, 700)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	alarm := alerting.Notification{ID: "n-outage", Transition: alerting.Fired, At: time.Now(), Count: 1,
		Alarm: alerting.Alarm{ID: "a-9", Rule: "panic", DeviceID: "btn-gate", Severity: alerting.Critical, State: alerting.Firing}}
	if err := r.f.Deliver(ctx, alarm); err != nil { // durable in the spool: nil
		t.Fatalf("Deliver while down: %v", err)
	}
	await(t, r, 30*time.Second, "spooled", func() (bool, string) {
		st := r.f.spool.Stats()
		return st.Points >= 701, fmt.Sprintf("%+v", st)
	})
	h := r.f.Health()
	if h.State != health.Degraded || h.Detail["connected"] != false {
		t.Errorf("health while down: %+v", h)
	}
	if v := testutil.ToFloat64(r.f.m.dropped.WithLabelValues("spool_full")); v != 0 {
		t.Errorf("dropped %v", v)
	}

	// Restart the forwarder while spooling: the spool survives.
	r.shutdown(t)
	r = startForwarder(t, cfg, prometheus.NewRegistry(), nil)
	send(r, 300)
	await(t, r, 30*time.Second, "spooled after restart", func() (bool, string) {
		st := r.f.spool.Stats()
		return st.Points >= 1001, fmt.Sprintf("%+v", st)
	})

	srv.Restart()
	send(r, 200) // live data while the spool drains
	awaitCount(t, r, srv, db, "SELECT count(seq) FROM cg_event", 1700)
	awaitCount(t, r, srv, db, "SELECT count(count) FROM cg_alarm", 1)
	n, err := srv.Count(db, "SELECT count(distinct(seq)) FROM cg_event")
	if err != nil || n != 1700 {
		t.Fatalf("distinct seq %d (%v), want 1700", n, err)
	}
	await(t, r, 30*time.Second, "spool empty, health up", func() (bool, string) {
		h := r.f.Health()
		return h.State == health.Up && r.f.spool.Stats().Records == 0, fmt.Sprint(h)
	})
	// Nothing arrives twice, even after things settle.
	r.shutdown(t)
	awaitCount(t, r, srv, db, "SELECT count(seq) FROM cg_event", 1700)
}
