// Package journal is campusguard's durable alarm journal: an embedded, crash-safe
// bbolt store on the gateway that holds every alarm, its append-only history (who
// acknowledged, silenced, reset, when), each sink's delivery records (pending →
// delivered / rejected), silences, zone arming state, and small named state blobs other
// components keep across restarts (rule engine snapshot, patrol runs).
//
// Writes are group commits: Enqueue queues a Commit in call order and the first
// waiter writes every queued commit in one bbolt transaction (one fsync pair), so
// concurrent alarms share the cost of the disk. Delivery updates from the sink workers
// (UpdateDeliveryLater) do not wait for the disk: they ride on the next group commit,
// an alarm's usually, or are written on their own after LazyFlushAfter, so a worker's
// bookkeeping never puts a transaction of its own in front of an alarm. Records older than the retention period are removed by Compact
// (run hourly by Run); the store reports Degraded health when its data nears MaxSize.
//
// # Why one package
//
// Its single job is the journal file, about 1,600 lines. Writes (journal.go, lazy.go),
// queries (query.go), retention (compact.go) and the disk reserve (reserve.go) all use
// the same buckets and key encodings, and pending deliveries are read together with the
// lazy updates not yet written. Splitting the queries or the compaction out would
// export that layout to a second package; the retention policy (Retention and the
// record classes) is the one pure seam, too small to stand alone.
package journal

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"
	bolt "go.etcd.io/bbolt"

	"github.com/campusguard/campusguard/alerting"
)

// Defaults.
const (
	DefaultRetention    = 90 * 24 * time.Hour
	DefaultMaxSize      = 256 << 20
	DefaultCompactEvery = time.Hour
	// NearFull is the fraction of MaxSize at which health turns Degraded.
	NearFull = 0.9
)

var (
	bMeta      = []byte("meta")
	bAlarms    = []byte("alarms")     // id → AlarmRecord
	bOpen      = []byte("open")       // id → nil (alarms not resolved)
	bAlarmTime = []byte("alarm_time") // firedAt(8) id → nil
	bHistory   = []byte("history")    // seq(8) → HistoryRecord
	bAlarmHist = []byte("alarm_hist") // id 0 seq(8) → nil
	bDeliv     = []byte("deliveries") // sink/ seq(8) → Delivery
	bPending   = []byte("pending")    // sink/ prio(1) seq(8) → nil
	bAlarmDlv  = []byte("alarm_dlv")  // id 0 sink 0 seq(8) → nil
	bSilences  = []byte("silences")   // id → Silence
	bArming    = []byte("arming")     // zone → ZoneArming
	bState     = []byte("state")      // name → bytes

	kEpoch    = []byte("epoch")
	kAlarmSeq = []byte("alarm_seq")
	kFormat   = []byte("format")
)

const formatVersion = "1"

// Options configures Open. Zero values take the defaults.
type Options struct {
	Retention    time.Duration // keep history and resolved alarms this long (default 90 days)
	MaxSize      int64         // size bound in bytes (default 256 MiB); health warns near it
	CompactEvery time.Duration // how often Run compacts (default 1 h)
	// Reserve is the disk space kept beside the file for a full disk (bytes; 0 =
	// DefaultReserve, negative = none).
	Reserve    int64
	Clock      clockwork.Clock
	Registerer prometheus.Registerer // nil: metrics not registered
	Logger     *slog.Logger
}

// Journal is the durable store. Safe for concurrent use.
type Journal struct {
	db    *bolt.DB
	page  int64 // page size, read once at open (db.Info races with a remap)
	path  string
	opt   Options
	clock clockwork.Clock
	log   *slog.Logger
	epoch string

	alarmSeq atomic.Uint64
	txns     atomic.Uint64

	qmu       sync.Mutex
	queue     []*queued
	flushing  bool
	lazy      map[lazyKey]lazyEntry // delivery updates waiting for a group commit
	lazyGen   uint64
	lazyTimer *time.Timer
	closed    bool

	hmu         sync.Mutex
	lastErr     error
	lastErrAt   time.Time
	lastCompact time.Time
	reserveUsed bool // the disk filled up and the reserve was given back

	m metrics
}

type queued struct {
	c    alerting.Commit
	done chan struct{}
	err  error
}

type metrics struct {
	commits     prometheus.Counter
	groups      prometheus.Counter
	commitSecs  prometheus.Histogram
	errors      prometheus.Counter
	usedBytes   prometheus.Gauge
	fileBytes   prometheus.Gauge
	compacted   prometheus.Counter
	deliveryUpd prometheus.Counter
	reserveUsed prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) metrics {
	m := metrics{
		commits: prometheus.NewCounter(prometheus.CounterOpts{Name: "campusguard_journal_commits_total",
			Help: "Commits written to the alarm journal."}),
		groups: prometheus.NewCounter(prometheus.CounterOpts{Name: "campusguard_journal_transactions_total",
			Help: "Group-commit transactions (fsyncs) of the alarm journal."}),
		commitSecs: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "campusguard_journal_commit_seconds",
			Help:    "Time to write and fsync one group commit.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 14)}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{Name: "campusguard_journal_errors_total",
			Help: "Failed journal writes."}),
		usedBytes: prometheus.NewGauge(prometheus.GaugeOpts{Name: "campusguard_journal_used_bytes",
			Help: "Bytes of the journal file holding data (file size minus free pages)."}),
		fileBytes: prometheus.NewGauge(prometheus.GaugeOpts{Name: "campusguard_journal_file_bytes",
			Help: "Size of the journal file."}),
		compacted: prometheus.NewCounter(prometheus.CounterOpts{Name: "campusguard_journal_compacted_records_total",
			Help: "Records removed by retention."}),
		deliveryUpd: prometheus.NewCounter(prometheus.CounterOpts{Name: "campusguard_journal_delivery_updates_total",
			Help: "Delivery record updates written."}),
		reserveUsed: prometheus.NewGauge(prometheus.GaugeOpts{Name: "campusguard_journal_reserve_used",
			Help: "1 when the disk filled up and the journal gave back its disk reserve to keep recording."}),
	}
	if reg != nil {
		reg.MustRegister(m.commits, m.groups, m.commitSecs, m.errors, m.usedBytes, m.fileBytes, m.compacted, m.deliveryUpd, m.reserveUsed)
	}
	return m
}

// Open opens (creating if needed) the journal at path.
func Open(path string, opt Options) (*Journal, error) {
	if opt.Retention <= 0 {
		opt.Retention = DefaultRetention
	}
	if opt.MaxSize <= 0 {
		opt.MaxSize = DefaultMaxSize
	}
	if opt.CompactEvery <= 0 {
		opt.CompactEvery = DefaultCompactEvery
	}
	if opt.Reserve == 0 {
		opt.Reserve = DefaultReserve
	}
	if opt.Clock == nil {
		opt.Clock = clockwork.NewRealClock()
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second, FreelistType: bolt.FreelistMapType, NoFreelistSync: true})
	if err != nil {
		return nil, fmt.Errorf("journal %s: %w", path, err)
	}
	j := &Journal{db: db, page: int64(db.Info().PageSize), path: path, opt: opt, clock: opt.Clock, log: opt.Logger, m: newMetrics(opt.Registerer)}
	j.makeReserve()
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bMeta, bAlarms, bOpen, bAlarmTime, bHistory, bAlarmHist, bDeliv, bPending, bAlarmDlv, bSilences, bArming, bState} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bMeta)
		if f := meta.Get(kFormat); f != nil && string(f) != formatVersion {
			return fmt.Errorf("unknown journal format %q", f)
		}
		if err := meta.Put(kFormat, []byte(formatVersion)); err != nil {
			return err
		}
		if e := meta.Get(kEpoch); e != nil {
			j.epoch = string(e)
		} else {
			var rnd [2]byte
			_, _ = rand.Read(rnd[:])
			j.epoch = strconv.FormatInt(opt.Clock.Now().Unix(), 36) + hex.EncodeToString(rnd[:])
			if err := meta.Put(kEpoch, []byte(j.epoch)); err != nil {
				return err
			}
		}
		if v := meta.Get(kAlarmSeq); len(v) == 8 {
			j.alarmSeq.Store(binary.BigEndian.Uint64(v))
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("journal %s: %w", path, err)
	}
	j.updateSize()
	return j, nil
}

// Close writes the delivery updates still queued and closes the database. Pending
// Enqueue waiters must have returned.
func (j *Journal) Close() error {
	j.qmu.Lock()
	n := len(j.lazy)
	j.qmu.Unlock()
	if n > 0 {
		if err := j.Commit(alerting.Commit{}); err != nil {
			j.log.Warn("journal: delivery updates not written at close; they are sent again", "err", err)
		}
	}
	j.qmu.Lock()
	j.closed = true
	if j.lazyTimer != nil {
		j.lazyTimer.Stop()
		j.lazyTimer = nil
	}
	j.qmu.Unlock()
	if err := j.db.Close(); err != nil {
		return fmt.Errorf("journal %s: %w", j.path, err)
	}
	return nil
}

// Path is the database file.
func (j *Journal) Path() string { return j.path }

// Epoch is the journal's creation id (see alerting.Store).
func (j *Journal) Epoch() string { return j.epoch }

// AlarmSeq is the highest alarm number committed.
func (j *Journal) AlarmSeq() uint64 { return j.alarmSeq.Load() }

// Transactions counts the group-commit transactions (each one fsync pair) written
// since Open.
func (j *Journal) Transactions() uint64 { return j.txns.Load() }

// Enqueue queues c for the next group commit (see alerting.Store). Commits are written
// in Enqueue order; the returned wait blocks until c is fsynced or failed.
func (j *Journal) Enqueue(c alerting.Commit) func() error {
	q := &queued{c: c, done: make(chan struct{})}
	j.qmu.Lock()
	j.queue = append(j.queue, q)
	j.qmu.Unlock()
	return func() error { return j.wait(q) }
}

// Commit writes c and waits until it is durable.
func (j *Journal) Commit(c alerting.Commit) error { return j.Enqueue(c)() }

// wait makes the caller the group-commit leader when nobody is writing; the leader
// writes batches until the queue is empty, so a queued commit is never stranded.
func (j *Journal) wait(q *queued) error {
	j.qmu.Lock()
	if j.flushing {
		j.qmu.Unlock()
		<-q.done
		return q.err
	}
	j.flushing = true
	for len(j.queue) > 0 {
		batch := j.queue
		j.queue = nil
		lazy := j.takeLazy()
		j.qmu.Unlock()
		var err error
		if len(lazy) > 0 || !allEmpty(batch) {
			err = j.write(batch, lazy)
		}
		j.lazyWritten(lazy, err)
		for _, b := range batch {
			b.err = err
			close(b.done)
		}
		j.qmu.Lock()
	}
	j.flushing = false
	j.qmu.Unlock()
	<-q.done
	return q.err
}

func allEmpty(batch []*queued) bool {
	for _, q := range batch {
		if !q.c.Empty() {
			return false
		}
	}
	return true
}

func (j *Journal) write(batch []*queued, lazy []lazyEntry) error {
	err := j.writeOnce(batch, lazy)
	if err != nil && j.useReserve(err) {
		err = j.writeOnce(batch, lazy)
	}
	return err
}

func (j *Journal) writeOnce(batch []*queued, lazy []lazyEntry) error {
	start := time.Now()
	var maxSeq uint64
	err := j.db.Update(func(tx *bolt.Tx) error {
		for _, q := range batch {
			if err := applyCommit(tx, &q.c); err != nil {
				return err
			}
			maxSeq = max(maxSeq, q.c.AlarmSeq)
		}
		for i := range lazy {
			if err := applyUpdate(tx, &lazy[i].d); err != nil {
				return err
			}
		}
		if maxSeq > 0 {
			meta := tx.Bucket(bMeta)
			if v := meta.Get(kAlarmSeq); len(v) == 8 && binary.BigEndian.Uint64(v) >= maxSeq {
				return nil
			}
			return meta.Put(kAlarmSeq, u64(maxSeq))
		}
		return nil
	})
	j.m.commitSecs.Observe(time.Since(start).Seconds())
	if err != nil {
		err = fmt.Errorf("journal %s: commit: %w", j.path, err)
		j.m.errors.Inc()
		j.setErr(err)
		return err
	}
	j.setErr(nil)
	j.m.groups.Inc()
	j.txns.Add(1)
	j.m.commits.Add(float64(len(batch)))
	for {
		cur := j.alarmSeq.Load()
		if maxSeq <= cur || j.alarmSeq.CompareAndSwap(cur, maxSeq) {
			break
		}
	}
	return nil
}

func (j *Journal) setErr(err error) {
	j.hmu.Lock()
	j.lastErr = err
	if err != nil {
		j.lastErrAt = j.clock.Now()
	}
	j.hmu.Unlock()
}

func applyCommit(tx *bolt.Tx, c *alerting.Commit) error {
	for i := range c.Alarms {
		if err := putAlarm(tx, &c.Alarms[i]); err != nil {
			return err
		}
	}
	hist := tx.Bucket(bHistory)
	for i := range c.History {
		h := c.History[i]
		seq, err := hist.NextSequence()
		if err != nil {
			return err
		}
		h.Seq = seq
		if err := putJSON(hist, u64(seq), &h); err != nil {
			return err
		}
		if h.AlarmID != "" {
			if err := tx.Bucket(bAlarmHist).Put(join(h.AlarmID, u64(seq)), nil); err != nil {
				return err
			}
		}
	}
	for i := range c.Deliveries {
		d := c.Deliveries[i]
		db, err := tx.Bucket(bDeliv).CreateBucketIfNotExists([]byte(d.Sink))
		if err != nil {
			return err
		}
		pb, err := tx.Bucket(bPending).CreateBucketIfNotExists([]byte(d.Sink))
		if err != nil {
			return err
		}
		seq, err := db.NextSequence()
		if err != nil {
			return err
		}
		d.Seq = seq
		if d.State == "" {
			d.State = alerting.Pending
		}
		if err := putJSON(db, u64(seq), &d); err != nil {
			return err
		}
		if d.State == alerting.Pending {
			if err := pb.Put(pendingKey(d.Priority, seq), nil); err != nil {
				return err
			}
		}
		if err := tx.Bucket(bAlarmDlv).Put(join(d.Notification.Alarm.ID, []byte(d.Sink), u64(seq)), nil); err != nil {
			return err
		}
	}
	for i := range c.Updates {
		if err := applyUpdate(tx, &c.Updates[i]); err != nil {
			return err
		}
	}
	for i := range c.Silences {
		if err := putJSON(tx.Bucket(bSilences), []byte(c.Silences[i].ID), &c.Silences[i]); err != nil {
			return err
		}
	}
	for i := range c.Arming {
		if err := putJSON(tx.Bucket(bArming), []byte(c.Arming[i].Zone), &c.Arming[i]); err != nil {
			return err
		}
	}
	st := tx.Bucket(bState)
	for k, v := range c.State {
		if k == "" {
			continue // bbolt refuses empty keys; one bad name must not fail the group
		}
		var err error
		if v == nil {
			err = st.Delete([]byte(k))
		} else {
			err = st.Put([]byte(k), v)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func putAlarm(tx *bolt.Tx, r *alerting.AlarmRecord) error {
	id := []byte(r.Alarm.ID)
	if len(id) == 0 {
		return errors.New("alarm without id")
	}
	// A retried older commit never overwrites a newer state of the alarm.
	if old := tx.Bucket(bAlarms).Get(id); old != nil {
		var v struct {
			Transitions int `json:"transitions"`
		}
		if json.Unmarshal(old, &v) == nil && v.Transitions > r.Transitions {
			return nil
		}
	}
	if err := putJSON(tx.Bucket(bAlarms), id, r); err != nil {
		return err
	}
	if !r.Pending() {
		if err := tx.Bucket(bOpen).Delete(id); err != nil {
			return err
		}
	} else if err := tx.Bucket(bOpen).Put(id, nil); err != nil {
		return err
	}
	return tx.Bucket(bAlarmTime).Put(timeKey(r.Alarm.FiredAt, id), nil)
}

// UpdateDelivery stores a delivery's new state and waits until it is durable; a
// delivery that is no longer pending leaves its sink's queue. It goes through the
// group commit with the queued lazy updates (UpdateDeliveryLater), newest state wins.
func (j *Journal) UpdateDelivery(d alerting.Delivery) error {
	j.UpdateDeliveryLater(d)
	return j.Commit(alerting.Commit{})
}

// applyUpdate stores a delivery's new state. An update of a record retention already
// removed is dropped: it must not fail the other commits of its group.
func applyUpdate(tx *bolt.Tx, d *alerting.Delivery) error {
	db := tx.Bucket(bDeliv).Bucket([]byte(d.Sink))
	if db == nil || db.Get(u64(d.Seq)) == nil {
		return nil
	}
	if err := putJSON(db, u64(d.Seq), d); err != nil {
		return err
	}
	if d.State != alerting.Pending {
		if pb := tx.Bucket(bPending).Bucket([]byte(d.Sink)); pb != nil {
			return pb.Delete(pendingKey(d.Priority, d.Seq))
		}
	}
	return nil
}

// NextPending returns sink's first pending delivery: critical first, then by commit
// order.
// Updates queued by UpdateDeliveryLater count: a delivery they finished is skipped, a
// retried one is returned as updated.
func (j *Journal) NextPending(sink string) (d alerting.Delivery, ok bool, err error) {
	ds, err := j.Pending(sink, 1)
	if err != nil || len(ds) == 0 {
		return d, false, err
	}
	return ds[0], true, nil
}

// Pending returns up to limit of sink's pending deliveries in the order NextPending
// hands them out (critical first, then commit order), with the queued lazy updates
// applied.
func (j *Journal) Pending(sink string, limit int) ([]alerting.Delivery, error) {
	// The queued updates are read before the transaction opens: an update written
	// after this point is then either in the snapshot or in the transaction's view.
	over := j.lazyOf(sink)
	var out []alerting.Delivery
	err := j.db.View(func(tx *bolt.Tx) error {
		pb := tx.Bucket(bPending).Bucket([]byte(sink))
		if pb == nil {
			return nil
		}
		c := pb.Cursor()
		for k, _ := c.First(); k != nil && len(out) < limit; k, _ = c.Next() {
			if len(k) != 9 {
				return fmt.Errorf("bad pending key %x", k)
			}
			seq := binary.BigEndian.Uint64(k[1:])
			if u, ok := over[seq]; ok {
				if u.State == alerting.Pending {
					out = append(out, u)
				}
				continue
			}
			v := tx.Bucket(bDeliv).Bucket([]byte(sink)).Get(k[1:])
			if v == nil {
				return fmt.Errorf("pending %s/%x without record", sink, k[1:])
			}
			var d alerting.Delivery
			if err := json.Unmarshal(v, &d); err != nil {
				return fmt.Errorf("pending %s/%x: %w", sink, k[1:], err)
			}
			out = append(out, d)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("journal %s: %w", j.path, err)
	}
	return out, nil
}

// PendingCounts returns the number of pending deliveries per sink (sinks with none are
// left out).
func (j *Journal) PendingCounts() (map[string]int, error) {
	out := map[string]int{}
	err := j.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bPending).ForEachBucket(func(k []byte) error {
			n := 0
			c := tx.Bucket(bPending).Bucket(k).Cursor()
			for key, _ := c.First(); key != nil; key, _ = c.Next() {
				n++
			}
			if n > 0 {
				out[string(k)] = n
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("journal %s: %w", j.path, err)
	}
	return out, nil
}

// OpenAlarms returns every alarm record still pending (not resolved, or resolved with
// group notifications not yet sent), in firing order.
func (j *Journal) OpenAlarms() ([]alerting.AlarmRecord, error) {
	var out []alerting.AlarmRecord
	err := j.db.View(func(tx *bolt.Tx) error {
		al := tx.Bucket(bAlarms)
		return tx.Bucket(bOpen).ForEach(func(k, _ []byte) error {
			var r alerting.AlarmRecord
			if err := json.Unmarshal(al.Get(k), &r); err != nil {
				return fmt.Errorf("alarm %s: %w", k, err)
			}
			out = append(out, r)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("journal %s: %w", j.path, err)
	}
	sortRecords(out)
	return out, nil
}

// Silences returns every stored silence.
func (j *Journal) Silences() ([]alerting.Silence, error) {
	var out []alerting.Silence
	err := j.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bSilences).ForEach(func(k, v []byte) error {
			var s alerting.Silence
			if err := json.Unmarshal(v, &s); err != nil {
				return fmt.Errorf("silence %s: %w", k, err)
			}
			out = append(out, s)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("journal %s: %w", j.path, err)
	}
	return out, nil
}

// Arming returns the stored arming state of every zone that has one.
func (j *Journal) Arming() ([]alerting.ZoneArming, error) {
	var out []alerting.ZoneArming
	err := j.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bArming).ForEach(func(k, v []byte) error {
			var a alerting.ZoneArming
			if err := json.Unmarshal(v, &a); err != nil {
				return fmt.Errorf("arming %s: %w", k, err)
			}
			out = append(out, a)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("journal %s: %w", j.path, err)
	}
	return out, nil
}

// PutState stores a small named blob durably (rule engine snapshot, patrol runs).
func (j *Journal) PutState(name string, b []byte) error {
	if name == "" {
		return errors.New("journal: state name is empty")
	}
	if b == nil {
		b = []byte{}
	}
	return j.Commit(alerting.Commit{State: map[string][]byte{name: b}})
}

// DeleteState removes a named blob.
func (j *Journal) DeleteState(name string) error {
	return j.Commit(alerting.Commit{State: map[string][]byte{name: nil}})
}

// GetState returns a named blob (a copy), or nil, nil when it is absent.
func (j *Journal) GetState(name string) ([]byte, error) {
	var out []byte
	err := j.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bState).Get([]byte(name)); v != nil {
			out = bytes.Clone(v)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("journal %s: %w", j.path, err)
	}
	return out, nil
}

func putJSON(b *bolt.Bucket, k []byte, v any) error {
	buf, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(k, buf)
}

func u64(v uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	return b[:]
}

func pendingKey(prio int, seq uint64) []byte {
	if prio < 0 {
		prio = 0
	}
	if prio > 255 {
		prio = 255
	}
	k := make([]byte, 9)
	k[0] = byte(prio)
	binary.BigEndian.PutUint64(k[1:], seq)
	return k
}

func timeKey(t time.Time, id []byte) []byte {
	k := make([]byte, 8, 8+len(id))
	binary.BigEndian.PutUint64(k, uint64(t.UnixNano()))
	return append(k, id...)
}

// join builds id 0 part 0 part...; the last part is appended raw.
func join(id string, parts ...[]byte) []byte {
	k := []byte(id)
	for _, p := range parts {
		k = append(k, 0)
		k = append(k, p...)
	}
	return k
}
