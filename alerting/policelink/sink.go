package policelink

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/alerting/policelink/dc09"
	"github.com/campusguard/campusguard/cfgerr"
	"github.com/campusguard/campusguard/event"
	"github.com/campusguard/campusguard/health"
	"github.com/campusguard/campusguard/site"
)

// DeviceID is the DeviceID of the events the sink publishes.
const DeviceID = "policelink"

// Event types the sink publishes (Kind system, DeviceID "policelink"). Every event
// has a field reason: a short Chinese and English sentence for staff.
const (
	// TypePathFail: a path failed. Fields path ("main" or "backup"), receiver (its
	// addresses), error, reason.
	TypePathFail = "path_fail"
	// TypePathRestore: a failed path answers again. Fields path, receiver, reason.
	TypePathRestore = "path_restore"
	// TypeReportReject: a report the receiving centre refuses. Fields notification,
	// alarm, rule, device (empty for the link's own reports), receiver, path (of the
	// receiver, when one answered), error, reason, and cause: "duh" (the receiver
	// cannot process it: the notification is journaled as rejected), "no_mapping"
	// (journaled as rejected), or "nak" (NAKs the clock does not explain: account,
	// key or key_encoding; the notification stays pending and is retried, and this
	// event is published once until a receiver acknowledges again).
	TypeReportReject = "report_rejected"
)

// Causes of a report_rejected event (field cause).
const (
	CauseDUH       = "duh"
	CauseNoMapping = "no_mapping"
	CauseNAK       = "nak"
)

// Reasons (field reason) of the events: Chinese for the duty room, English for the installer.
const (
	ReasonRejected  = "报警中心拒收报告，请核对账号、密钥和密钥格式 / " + DiagRejected
	ReasonDUH       = "报警中心无法处理报告，请核对账号、事件代码和密钥 / " + DiagDUH
	ReasonNoMapping = "告警没有对应的报警联网映射 / no police-link mapping matches the alarm: add one to policelink.mappings"
)

func reasonPathFail(path string) string {
	if path == "main" {
		return "报警联网主通道中断 / the main transmission path to the receiving centre failed"
	}
	return "报警联网备用通道中断 / the backup transmission path to the receiving centre failed"
}

func reasonPathRestore(path string) string {
	if path == "main" {
		return "报警联网主通道恢复 / the main transmission path to the receiving centre is restored"
	}
	return "报警联网备用通道恢复 / the backup transmission path to the receiving centre is restored"
}

// Waker is what a sink offers the alerting worker that retries its deliveries:
// Wake's channel receives a value when deliveries that failed are worth retrying at
// once (a failed transmission path answers again), so the worker need not sleep
// out its backoff. Defined here as the police link implements it; the consumer
// declares the same interface.
type Waker interface {
	Wake() <-chan struct{}
}

// Options are the sink's collaborators; every field may be left zero.
type Options struct {
	Clock      clockwork.Clock       // nil: the real clock
	Registerer prometheus.Registerer // nil: metrics are not registered
	Logger     *slog.Logger          // nil: slog.Default()
	// Publisher receives path_fail, path_restore and report_rejected events, so that
	// rules raise staff alarms on them (nil: they are only logged).
	Publisher event.Publisher
	// Store keeps the sequence numbers and the periodic-test schedule across restarts
	// (the journal; nil: in memory only).
	Store Store
	// Directory gives the police zone numbers of devices and zones (nil: only the
	// mappings' numbers are used).
	Directory *site.Directory
	// Site is the site id of published events (default: Directory's site id).
	Site string
	// Location is the time zone of periodic_test.at (default: Directory's site, else Local).
	Location *time.Location
	// Pad is the source of encryption pad bytes (nil: crypto/rand; tests pass dc09.FixedPad).
	Pad io.Reader
}

// Sink is the police link: it delivers alarm notifications over SIA DC-09 to the
// main and backup paths, and (in Run) supervises the paths, reports their failure
// and recovery and sends the periodic test. It implements alerting.Sink and
// health.Reporter and is safe for concurrent use.
type Sink struct {
	cfg   Config
	key   *dc09.Key
	clock clockwork.Clock
	log   *slog.Logger
	pub   event.Publisher
	store Store
	dir   atomic.Pointer[site.Directory] // the live site: SetDirectory swaps it at a reload
	site  string
	loc   *time.Location
	pad   io.Reader
	m     *metrics
	paths []*path // main, then backup
	// pendingSaved is len(pending) when the state was last saved.
	pendingSaved int
	// via remembers which receiver acknowledged each of the last notifications.
	via      map[string]string
	viaOrder []string
	rcvs     []*receiver
	kick     chan struct{}
	wake     chan struct{} // Wake: a failed path answers again

	saveMu   sync.Mutex // orders saves
	mu       sync.Mutex
	seq      seqState
	accounts map[string]int // last sequence numbers of other accounts, as loaded
	ids      map[string]int
	order    []string
	// pending link reports (path failure/restore, periodic test), oldest first.
	pending    []*linkReport
	events     []event.Event // to publish from Run
	retryAt    time.Time     // when pending reports are tried again
	lastTest   time.Time
	nextTest   time.Time
	running    bool
	deliveries uint64
	rejected   uint64
	// nakRejected is set once a report_rejected event for NAK rejections was
	// published, until a receiver acknowledges again.
	nakRejected bool
}

var (
	_ alerting.Sink   = (*Sink)(nil)
	_ health.Reporter = (*Sink)(nil)
	_ Waker           = (*Sink)(nil)
)

// New builds the sink: it applies defaults, validates cfg, parses the key and loads
// the sequence state from opt.Store. cfg should have been through Resolve.
func New(cfg Config, opt Options) (*Sink, error) {
	cfg.SetDefaults(cfgerr.Env{})
	cfg.Enabled = true
	var errs cfgerr.List
	cfg.Validate(&errs)
	if err := errs.Err(); err != nil {
		return nil, fmt.Errorf("policelink %s: %w", cfg.Name, err)
	}
	key, err := cfg.ParseKey()
	if err != nil {
		return nil, fmt.Errorf("policelink %s: key: %w", cfg.Name, err)
	}
	if opt.Clock == nil {
		opt.Clock = clockwork.NewRealClock()
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Site == "" && opt.Directory != nil && opt.Directory.Site != nil {
		opt.Site = opt.Directory.Site.ID
	}
	if opt.Location == nil {
		opt.Location = time.Local
		if opt.Directory != nil && opt.Directory.Site != nil {
			opt.Location = opt.Directory.Site.Location()
		}
	}
	m, err := newMetrics(cfg.Name, opt.Registerer)
	if err != nil {
		return nil, fmt.Errorf("policelink %s: %w", cfg.Name, err)
	}
	s := &Sink{
		cfg: cfg, key: key, clock: opt.Clock, log: opt.Logger,
		pub: opt.Publisher, store: opt.Store, site: opt.Site, loc: opt.Location,
		pad: opt.Pad, m: m, kick: make(chan struct{}, 1), wake: make(chan struct{}, 1), ids: map[string]int{}, via: map[string]string{},
	}
	s.dir.Store(opt.Directory)
	s.paths = append(s.paths, s.newPath("main", 1, cfg.Main))
	if cfg.Backup != nil {
		s.paths = append(s.paths, s.newPath("backup", 2, *cfg.Backup))
	}
	for _, p := range s.paths {
		s.rcvs = append(s.rcvs, p.rcvs...)
		m.pathUp.WithLabelValues(p.name)
	}
	if err := s.load(); err != nil {
		return nil, fmt.Errorf("policelink %s: %w", cfg.Name, err)
	}
	return s, nil
}

// Name is the sink's name (default "police").
func (s *Sink) Name() string { return s.cfg.Name }

// Close drops the receiver connections and writes the last sequence number issued,
// so that a clean restart continues without a gap. Deliver may still be called (it
// reconnects and reserves numbers anew).
func (s *Sink) Close() {
	s.release()
	for _, r := range s.rcvs {
		r.link.Close()
	}
}

// Deliver reports n: it returns nil when a receiver acknowledged it (or when n is a
// transition the link does not carry), a *alerting.Permanent when the receiver
// answered DUH or no mapping matches the alarm (and publishes a report_rejected
// event), and another error when no receiver answered. A retry of the same n.ID
// reuses its DC-09 sequence number.
func (s *Sink) Deliver(ctx context.Context, n alerting.Notification) error {
	rep, send, err := s.cfg.ReportFor(n, s.dir.Load())
	if err != nil {
		err = fmt.Errorf("policelink %s: notification %s: %w", s.cfg.Name, n.ID, err)
		s.reject(ctx, n, nil, CauseNoMapping, err)
		return &alerting.Permanent{Err: err}
	}
	if !send {
		return nil
	}
	msg, err := s.cfg.message(rep, s.seqFor(n.ID), s.key != nil)
	if err != nil {
		err = fmt.Errorf("policelink %s: notification %s: %w", s.cfg.Name, n.ID, err)
		s.reject(ctx, n, nil, CauseNoMapping, err)
		return &alerting.Permanent{Err: err}
	}
	kind := "alarm"
	if rep.Test {
		kind = "test"
	}
	res, err := s.send(ctx, msg, kind, s.deliveryOrder())
	if err != nil {
		err = fmt.Errorf("policelink %s: notification %s seq %04d: %w", s.cfg.Name, n.ID, msg.Seq, err)
		switch res.out {
		case outDUH:
			s.reject(ctx, n, res.rcv, CauseDUH, err)
			return &alerting.Permanent{Err: err}
		case outReject:
			s.rejectNAK(ctx, n, res.rcv, err)
		}
		s.log.Warn("policelink: report not delivered", "notification", n.ID, "err", err)
		return err
	}
	s.mu.Lock()
	s.deliveries++
	s.nakRejected = false
	s.via[n.ID] = res.rcv.String()
	s.viaOrder = append(s.viaOrder, n.ID)
	for len(s.viaOrder) > maxIDs {
		delete(s.via, s.viaOrder[0])
		s.viaOrder = s.viaOrder[1:]
	}
	s.mu.Unlock()
	s.log.Info("policelink: report acknowledged", "notification", n.ID, "alarm", n.Alarm.ID,
		"data", msg.Data, "seq", msg.Seq, "receiver", res.rcv.String(), "rtt", res.rtt)
	return nil
}

// reject logs a notification the link will never deliver and publishes a
// report_rejected event so that staff see it.
func (s *Sink) reject(ctx context.Context, n alerting.Notification, r *receiver, cause string, err error) {
	s.mu.Lock()
	s.rejected++
	s.mu.Unlock()
	s.log.Error("policelink: report rejected", "notification", n.ID, "alarm", n.Alarm.ID, "receiver", rcvName(r), "err", err)
	s.publish(ctx, s.rejectEvent(n, r, cause, err))
}

// rejectNAK publishes the report_rejected event of a delivery that receivers
// refused with NAKs the clock does not explain, once until a receiver acknowledges
// again. The notification stays pending: it goes out when the account or key is put
// right (a restart with the fixed config), or over a receiver that takes it.
func (s *Sink) rejectNAK(ctx context.Context, n alerting.Notification, r *receiver, err error) {
	s.mu.Lock()
	first := !s.nakRejected
	s.nakRejected = true
	s.mu.Unlock()
	if first {
		s.publish(ctx, s.rejectEvent(n, r, CauseNAK, err))
	}
}

func (s *Sink) rejectEvent(n alerting.Notification, r *receiver, cause string, err error) event.Event {
	reason := ReasonNoMapping
	switch cause {
	case CauseDUH:
		reason = ReasonDUH
	case CauseNAK:
		reason = ReasonRejected
	}
	f := event.Fields{
		"notification": n.ID, "alarm": n.Alarm.ID, "rule": n.Alarm.Rule, "device": n.Alarm.DeviceID,
		"receiver": rcvName(r), "error": err.Error(), "reason": reason, "cause": cause,
	}
	if r != nil {
		f["path"] = r.path.name
	}
	return s.newEvent(TypeReportReject, f)
}

func rcvName(r *receiver) string {
	if r == nil {
		return ""
	}
	return r.String()
}

// Wake implements Waker: the channel receives a value when a failed transmission
// path answers again (buffered, one value; a wake-up nobody waited for is kept
// until taken).
func (s *Sink) Wake() <-chan struct{} { return s.wake }

func (s *Sink) newEvent(typ string, f event.Fields) event.Event {
	return event.Event{Site: s.site, DeviceID: DeviceID, Kind: event.KindSystem, Type: typ,
		Fields: f, ReceivedAt: s.clock.Now(), Source: DeviceID}
}

// publish hands e to the publisher (logging a failure).
func (s *Sink) publish(ctx context.Context, e event.Event) {
	if s.pub == nil {
		return
	}
	if _, err := s.pub.Publish(ctx, e); err != nil {
		s.log.Error("policelink: publishing event", "type", e.Type, "err", err)
	}
}

// Health is Up while the main path answers, Degraded while it is unchecked or down
// with the backup up (or the backup is down), Down when no path answers.
func (s *Sink) Health() health.Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := health.Status{State: health.Up, Detail: map[string]any{
		"account": s.cfg.Account, "protocol": s.cfg.Protocol, "transport": s.cfg.Transport,
		"encrypted": s.key != nil, "delivered": s.deliveries, "rejected": s.rejected,
		"pending_link_reports": len(s.pending),
	}}
	if !s.nextTest.IsZero() {
		st.Detail["next_periodic_test"] = s.nextTest
	}
	if !s.lastTest.IsZero() {
		st.Detail["last_periodic_test"] = s.lastTest
	}
	paths := map[string]any{}
	anyUp := false
	for _, p := range s.paths {
		paths[p.name] = p.detail()
		anyUp = anyUp || p.state == stateUp
	}
	st.Detail["paths"] = paths
	main := s.paths[0]
	switch {
	case !anyUp && main.state == stateDown:
		st.State, st.Reason = health.Down, "no path answers: "+main.lastErr
	case main.state == stateDown:
		st.State, st.Reason = health.Degraded, "main path down, reporting over the backup path: "+main.lastErr
	case main.state == stateUnknown:
		st.State, st.Reason = health.Degraded, "main path not checked yet"
	case len(s.paths) > 1 && s.paths[1].state == stateDown:
		st.State, st.Reason = health.Degraded, "backup path down: "+s.paths[1].lastErr
	}
	for _, r := range s.rcvs {
		if r.rejection == "" {
			continue
		}
		if st.State == health.Up {
			st.State = health.Degraded
		}
		st.Reason = r.String() + ": " + r.rejection + joinReason(st.Reason)
		break
	}
	if !s.running {
		st.Detail["supervision"] = "not running"
	}
	return st
}

func joinReason(r string) string {
	if r == "" {
		return ""
	}
	return "; " + r
}

// errNoReceiver is returned when ctx ended before any receiver was tried.
var errNoReceiver = errors.New("no receiver tried")

// InOrder asks the alerting core to hand this sink its deliveries strictly in commit
// order, whatever their severity: the receiving centre must see an account's reports
// in the order they happened (a restore after its alarm, a tamper before the panic
// that followed it). The core's worker otherwise takes critical deliveries first.
func (s *Sink) InOrder() bool { return true }

// Mandatory marks the police link as a sink every panic alarm reaches, whatever the
// routes, silences or arming say (GB 50394: a panic zone is never disarmed).
func (s *Sink) Mandatory() bool { return true }

// SetDirectory takes the devices and zones of a reloaded site: reports from now on
// carry the zone numbers it gives.
func (s *Sink) SetDirectory(dir *site.Directory) { s.dir.Store(dir) }

// Via names the receiver (path, role and address) that acknowledged notification id
// ("" when unknown): the duty console shows by which path the police got an alarm.
func (s *Sink) Via(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.via[id]
}
