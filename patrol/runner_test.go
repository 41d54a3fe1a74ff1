package patrol

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	bolt "go.etcd.io/bbolt"

	"github.com/campusguard/campusguard/event"
	"github.com/campusguard/campusguard/health"
)

// boltStore is a real bbolt file, as the journal keeps patrol state.
type boltStore struct{ db *bolt.DB }

var bucket = []byte("state")

func openBolt(t *testing.T, path string) *boltStore {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucketIfNotExists(bucket); return err }); err != nil {
		t.Fatal(err)
	}
	return &boltStore{db: db}
}

func (s *boltStore) PutState(name string, b []byte) error {
	return s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucket).Put([]byte(name), b) })
}

func (s *boltStore) GetState(name string) ([]byte, error) {
	var out []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucket).Get([]byte(name)); v != nil {
			out = append([]byte{}, v...)
		}
		return nil
	})
	return out, err
}

func (s *boltStore) DeleteState(name string) error {
	return s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucket).Delete([]byte(name)) })
}

// harness is a runner on a real bus with a fake clock.
type harness struct {
	t      *testing.T
	clock  *clockwork.FakeClock
	bus    *event.Bus
	in     *event.Subscription
	out    *event.Subscription
	runner *Runner
	cancel context.CancelFunc
	done   chan error
	mu     sync.Mutex
	res    []RunResult
}

func startRunner(t *testing.T, store Store, clock *clockwork.FakeClock, reg prometheus.Registerer) *harness {
	t.Helper()
	tr, err := New(testConfig(), Options{Site: "s01", Location: shanghai})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, clock: clock, bus: event.NewBus(clock.Now), done: make(chan error, 1)}
	h.in = h.bus.Subscribe("patrol", 64, event.Block)
	h.out = h.bus.Subscribe("rules", 256, event.Block)
	h.runner, err = NewRunner(tr, RunnerOptions{Clock: clock, Store: store, Publisher: h.bus, Registerer: reg,
		Logger:   slog.New(slog.DiscardHandler),
		OnResult: func(r RunResult) { h.mu.Lock(); h.res = append(h.res, r); h.mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.done <- h.runner.Run(ctx, h.in.C()) }()
	return h
}

func (h *harness) stop() {
	h.cancel()
	if err := <-h.done; err != nil {
		h.t.Error(err)
	}
}

// scan publishes a scan at the fake clock's time and waits for the events it causes.
func (h *harness) scan(card, cp string, want ...string) {
	h.t.Helper()
	now := h.clock.Now()
	if _, err := h.bus.Publish(context.Background(), event.Event{Site: "s01", DeviceID: "patrol-reader-1", Kind: event.KindPatrol,
		Type: event.TypeScan, Fields: event.Fields{"card": card, "checkpoint": cp}, DeviceTime: now, ReceivedAt: now, Source: "mqtt"}); err != nil {
		h.t.Fatal(err)
	}
	h.expect(append([]string{event.TypeScan}, want...)...) // the scan itself comes back on the bus
}

// expect reads the next events from the bus and compares their types.
func (h *harness) expect(types ...string) []event.Event {
	h.t.Helper()
	var got []event.Event
	for _, want := range types {
		select {
		case e := <-h.out.C():
			got = append(got, e)
			if e.Type != want {
				h.t.Fatalf("event %d: %s, want %s (so far %v)", len(got), e, want, got)
			}
		case <-time.After(5 * time.Second): // only a failure waits this long
			h.t.Fatalf("no %s event (got %v)", want, got)
		}
	}
	return got
}

// idle waits until the runner has finished its step and waits on its timer again.
func (h *harness) idle() {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.clock.BlockUntilContext(ctx, 1); err != nil {
		h.t.Fatalf("runner not waiting: %v", err)
	}
}

// advanceTo moves the fake clock once the runner waits on its timer.
func (h *harness) advanceTo(t time.Time) {
	h.t.Helper()
	h.idle()
	h.clock.Advance(t.Sub(h.clock.Now()))
}

func TestRunnerRestartMidRun(t *testing.T) {
	store := openBolt(t, filepath.Join(t.TempDir(), "journal.db"))
	clock := clockwork.NewFakeClockAt(at("21:59"))
	reg := prometheus.NewRegistry()
	h := startRunner(t, store, clock, reg)

	h.advanceTo(at("22:01"))
	h.scan(zhang, "CP-01", TypePatrolStarted, TypeCheckpointOK)
	h.advanceTo(at("22:06"))
	h.scan(zhang, "CP-02", TypeCheckpointOK)
	if st := h.runner.Health(); st.State != health.Up || st.Detail["active_runs"] != 1 {
		t.Errorf("health %+v", st)
	}
	if n := testutil.ToFloat64(h.runner.m.scans.WithLabelValues(ScanAccepted)); n != 2 {
		t.Errorf("accepted scans %v", n)
	}
	h.stop()
	if st := h.runner.Health(); st.State != health.Down {
		t.Errorf("stopped runner health %+v", st)
	}

	// The daemon restarts (a new tracker, runner and bus on the same file); the guard goes on.
	clock.Advance(2 * time.Minute)
	h2 := startRunner(t, store, clock, nil)
	defer h2.stop()
	if a := h2.runner.Active(); len(a) != 1 || a[0].Checkpoints[1].Status != StatusOK || a[0].Status != RunInProgress {
		t.Fatalf("restored runs %+v", a)
	}
	h2.advanceTo(at("22:11"))
	h2.scan(zhang, "CP-03", TypeCheckpointOK)
	h2.advanceTo(at("22:18")) // CP-04 due 22:16 ±2m
	evs := h2.expect(TypeCheckpointMissed, TypePatrolIncomplete)
	h2.idle()
	if evs[0].Fields["checkpoint"] != "CP-04" || evs[0].DeviceID != "patrol:night" {
		t.Errorf("missed %v", evs[0])
	}
	res, err := LoadDay(store, "2026-11-20")
	if err != nil || len(res) != 1 || res[0].Status != RunIncomplete || res[0].Checkpoints[3].Status != StatusMissed {
		t.Fatalf("stored results %+v %v", res, err)
	}
	h2.mu.Lock()
	if len(h2.res) != 1 || h2.res[0].Run != "night@2026-11-20T22:00" {
		t.Errorf("OnResult %+v", h2.res)
	}
	h2.mu.Unlock()
}

func TestRunnerNotStartedAfterDowntime(t *testing.T) {
	store := openBolt(t, filepath.Join(t.TempDir(), "journal.db"))
	clock := clockwork.NewFakeClockAt(at("21:00"))
	h := startRunner(t, store, clock, nil)
	h.advanceTo(at("21:30"))
	h.stop()
	// Down from 21:30 to 23:00: the 22:00 patrol was due and nobody started it.
	clock.Advance(90 * time.Minute)
	h2 := startRunner(t, store, clock, nil)
	defer h2.stop()
	evs := h2.expect(TypePatrolNotStarted)
	if evs[0].Fields["run"] != "night@2026-11-20T22:00" {
		t.Errorf("%v", evs[0])
	}
}

type failStore struct{ Store }

func (failStore) PutState(string, []byte) error { return errors.New("disk full") }

func TestRunnerHealthOnStoreError(t *testing.T) {
	clock := clockwork.NewFakeClockAt(at("22:00"))
	h := startRunner(t, failStore{openBolt(t, filepath.Join(t.TempDir(), "j.db"))}, clock, nil)
	defer h.stop()
	h.scan(zhang, "CP-01", TypePatrolStarted, TypeCheckpointOK)
	h.idle()
	if st := h.runner.Health(); st.State != health.Degraded || st.Reason != "disk full" {
		t.Errorf("health %+v", st)
	}
}

func TestSaveResultsRetention(t *testing.T) {
	store := openBolt(t, filepath.Join(t.TempDir(), "j.db"))
	mk := func(day, run string) RunResult { return RunResult{Run: run, Day: day, Status: RunCompleted} }
	if err := SaveResults(store, []RunResult{mk("2026-08-22", "a"), mk("2026-11-19", "b")}, at("12:00"), 90*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	if r, _ := LoadDay(store, "2026-08-22"); len(r) != 1 {
		t.Fatalf("day kept %v", r)
	}
	// A day later the 2026-08-22 results fall out of a 90-day retention (cutoff 2026-08-23).
	if err := SaveResults(store, []RunResult{mk("2026-11-20", "c"), mk("2026-11-20", "c")}, at("+1 12:00"), 90*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	if r, _ := LoadDay(store, "2026-08-22"); len(r) != 0 {
		t.Errorf("old day not dropped: %v", r)
	}
	if r, _ := LoadDay(store, "2026-11-20"); len(r) != 1 {
		t.Errorf("a run stored twice: %v", r)
	}
}
