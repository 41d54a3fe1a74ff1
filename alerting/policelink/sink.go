package policelink

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/alerting/policelink/dc09"
	"github.com/campusguard/campusguard/event"
	"github.com/campusguard/campusguard/internal/cfgerr"
	"github.com/campusguard/campusguard/internal/health"
	"github.com/campusguard/campusguard/internal/site"
)

// DeviceID is the DeviceID of the events the sink publishes.
const DeviceID = "policelink"

// Event types the sink publishes (Kind system, DeviceID "policelink").
const (
	TypePathFail     = "path_fail"       // a path failed: fields path, receiver, error
	TypePathRestore  = "path_restore"    // a failed path answers again: fields path, receiver
	TypeReportReject = "report_rejected" // the receiver answered DUH, or no mapping: fields notification, alarm, rule, receiver, error
)

// Publisher hands events to the rest of the gateway; *event.Bus satisfies it.
type Publisher interface {
	Publish(ctx context.Context, e event.Event) (event.Event, error)
}

// Options are the sink's collaborators; every field may be left zero.
type Options struct {
	Clock      clockwork.Clock       // nil: the real clock
	Registerer prometheus.Registerer // nil: metrics are not registered
	Logger     *slog.Logger          // nil: slog.Default()
	// Publisher receives path_fail, path_restore and report_rejected events, so that
	// rules raise staff alarms on them (nil: they are only logged).
	Publisher Publisher
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
	pub   Publisher
	store Store
	dir   *site.Directory
	site  string
	loc   *time.Location
	pad   io.Reader
	m     *metrics
	paths []*path // main, then backup
	rcvs  []*receiver
	kick  chan struct{}

	saveMu sync.Mutex // orders saves
	mu     sync.Mutex
	seq    dc09.Sequence
	ids    map[string]int
	order  []string
	// pending link reports (path failure/restore, periodic test), oldest first.
	pending    []*linkReport
	events     []event.Event // to publish from Run
	retryAt    time.Time     // when pending reports are tried again
	lastTest   time.Time
	nextTest   time.Time
	running    bool
	deliveries uint64
	rejected   uint64
}

var (
	_ alerting.Sink   = (*Sink)(nil)
	_ health.Reporter = (*Sink)(nil)
)

// New builds the sink: it applies defaults, validates cfg, parses the key and loads
// the sequence state from opt.Store. cfg should have been through ResolveSecrets.
func New(cfg Config, opt Options) (*Sink, error) {
	cfg.SetDefaults()
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
		cfg: cfg, key: key, clock: opt.Clock, log: opt.Logger.With("sink", cfg.Name),
		pub: opt.Publisher, store: opt.Store, dir: opt.Directory, site: opt.Site, loc: opt.Location,
		pad: opt.Pad, m: m, kick: make(chan struct{}, 1), ids: map[string]int{},
	}
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

// Close drops the receiver connections. Deliver may still be called (it reconnects).
func (s *Sink) Close() {
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
	rep, send, err := s.cfg.ReportFor(n, s.dir)
	if err != nil {
		err = fmt.Errorf("policelink %s: notification %s: %w", s.cfg.Name, n.ID, err)
		s.reject(ctx, n, "", err)
		return &alerting.Permanent{Err: err}
	}
	if !send {
		return nil
	}
	msg, err := s.cfg.message(rep, s.seqFor(n.ID), s.key != nil)
	if err != nil {
		err = fmt.Errorf("policelink %s: notification %s: %w", s.cfg.Name, n.ID, err)
		s.reject(ctx, n, "", err)
		return &alerting.Permanent{Err: err}
	}
	kind := "alarm"
	if rep.Test {
		kind = "test"
	}
	res, err := s.send(ctx, msg, kind, s.deliveryOrder())
	if err != nil {
		err = fmt.Errorf("policelink %s: notification %s seq %04d: %w", s.cfg.Name, n.ID, msg.Seq, err)
		if res.out == outDUH {
			s.reject(ctx, n, res.rcv.String(), err)
			return &alerting.Permanent{Err: err}
		}
		s.log.Warn("policelink: report not delivered", "notification", n.ID, "err", err)
		return err
	}
	s.mu.Lock()
	s.deliveries++
	s.mu.Unlock()
	s.log.Info("policelink: report acknowledged", "notification", n.ID, "alarm", n.Alarm.ID,
		"data", msg.Data, "seq", msg.Seq, "receiver", res.rcv.String(), "rtt", res.rtt)
	return nil
}

// reject logs a notification the link will never deliver and publishes a
// report_rejected event so that staff see it.
func (s *Sink) reject(ctx context.Context, n alerting.Notification, rcv string, err error) {
	s.mu.Lock()
	s.rejected++
	s.mu.Unlock()
	s.log.Error("policelink: report rejected", "notification", n.ID, "alarm", n.Alarm.ID, "receiver", rcv, "err", err)
	s.publish(ctx, s.newEvent(TypeReportReject, event.Fields{
		"notification": n.ID, "alarm": n.Alarm.ID, "rule": n.Alarm.Rule, "device": n.Alarm.DeviceID,
		"receiver": rcv, "error": err.Error(),
	}))
}

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
	if !s.running {
		st.Detail["supervision"] = "not running"
	}
	return st
}

// errNoReceiver is returned when ctx ended before any receiver was tried.
var errNoReceiver = errors.New("no receiver tried")

// Mandatory marks the police link as a sink every panic alarm reaches, whatever the
// routes, silences or arming say (GB 50394: a panic zone is never disarmed).
func (s *Sink) Mandatory() bool { return true }
