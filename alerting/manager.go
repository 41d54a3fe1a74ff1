package alerting

import (
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/campusguard/campusguard/cfgerr"
	"github.com/campusguard/campusguard/site"
)

// Errors of the operations API.
var (
	ErrNotFound     = errors.New("no such open alarm")
	ErrAlreadyAcked = errors.New("alarm already acknowledged")
	ErrNoPerson     = errors.New("who did it is required")
	ErrUnknownZone  = errors.New("unknown zone")
)

// LocalOutput is the on-site sound and light (siren, strobe). The Manager calls it
// before and in parallel with the journal commit, so the siren never waits for the
// disk: implementations must return at once (no disk, no network, no lock held long).
type LocalOutput interface {
	// Sound starts (or restarts) the on-site alarm for a: it fired, or fired again.
	Sound(a Alarm)
	// Silence stops the on-site alarm for a because a person acknowledged or reset it:
	// only this arms the 30 s re-sound rule (GB 50394).
	Silence(a Alarm)
	// Off stops the on-site alarm for a without a person: its condition cleared, it
	// resolved by rule, or it is no longer one that sounds. The next trigger sounds at
	// once.
	Off(a Alarm)
}

// MandatorySink is implemented by sinks that must receive every panic alarm whatever
// the silences, inhibition, arming and routing (the police link, GB 50394).
type MandatorySink interface {
	Mandatory() bool
}

// Options are what New needs. Store is required; the others may be nil.
type Options struct {
	Config    Config // SetDefaults is applied by New
	Store     Store
	Directory *site.Directory // device location, zone and kind; the site id
	Sinks     []Sink
	Local     LocalOutput
	Schedules Schedules
	Clock     clockwork.Clock
	// TickEvery is how often Run checks escalations, silence expiry, group flushes and
	// repeats (default 1s).
	TickEvery  time.Duration
	Registerer prometheus.Registerer // nil: metrics not registered
	Logger     *slog.Logger
	// OnReset is called after a person reset an alarm (Resolve), with the alarm as
	// reset: the daemon re-arms the rule instance so the next press raises a new
	// alarm. It must not block.
	OnReset func(a Alarm)
}

// Manager owns the alarms: their lifecycle, silences, inhibition, arming, grouping,
// routing, escalation, and the per-sink delivery workers. Safe for concurrent use.
type Manager struct {
	// armingPass lets one arming pass run at a time: a pass returns only after the
	// journal took what a concurrent one changed (the schedule's own goroutine and a
	// caller's pass see one order).
	armingPass sync.Mutex

	cfg        Config
	root       *node
	store      Store
	dir        *site.Directory
	siteID     string
	local      LocalOutput
	sch        Schedules
	clock      clockwork.Clock
	tickEvery  time.Duration
	log        *slog.Logger
	static     []staticSilence
	requireAck map[Severity]bool
	sounding   map[Severity]bool

	workers map[string]*worker
	names   []string
	mand    []string

	mu       sync.Mutex
	seq      uint64
	open     map[string]*AlarmRecord
	byInst   map[string]string
	silences map[string]*Silence
	arming   map[string]ZoneArming
	arm      armingState // arming schedules and overrides (arming.go)
	groups   map[string]*group
	failed   []Commit // commits that failed, retried on tick
	retrying int      // failed commits being retried right now
	subs     map[*Subscription]struct{}
	lastErr  error
	resound  []string // alarms sounding when the gateway stopped: sounded again by Run
	onReset  func(a Alarm)
	tests    map[string]TestWindow // devices and zones in test mode, by "device:ID" / "zone:ID"
	ordered  map[string]bool       // sinks that take their deliveries in commit order
	// memDone holds deliveries made from memory while their commit had failed (sink
	// and notification id): the retried commit records them as delivered.
	memDone map[string]time.Time

	met metrics
}

// New builds a Manager and restores its state from the store: open alarms, silences,
// arming, pending groups. Deliveries pending in the store resume when Run starts.
func New(o Options) (*Manager, error) {
	if o.Store == nil {
		return nil, errors.New("alerting: a store is required")
	}
	cfg := o.Config
	cfg.SetDefaults(cfgerr.Env{})
	root, err := compileRoute(&cfg.Routes, "routes", nil)
	if err != nil {
		return nil, fmt.Errorf("alerting: %w", err)
	}
	if o.Clock == nil {
		o.Clock = clockwork.NewRealClock()
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.TickEvery <= 0 {
		o.TickEvery = time.Second
	}
	m := &Manager{cfg: cfg, root: root, store: o.Store, dir: o.Directory, local: o.Local, sch: o.Schedules,
		clock: o.Clock, tickEvery: o.TickEvery, log: o.Logger, workers: map[string]*worker{},
		requireAck: map[Severity]bool{}, sounding: map[Severity]bool{},
		open: map[string]*AlarmRecord{}, byInst: map[string]string{}, silences: map[string]*Silence{},
		arming: map[string]ZoneArming{}, groups: map[string]*group{}, subs: map[*Subscription]struct{}{},
		onReset: o.OnReset, memDone: map[string]time.Time{}, tests: map[string]TestWindow{}, ordered: map[string]bool{}, met: newMetrics(o.Registerer)}
	if o.Directory != nil && o.Directory.Site != nil {
		m.siteID = o.Directory.Site.ID
	}
	for _, s := range cfg.Escalation.RequireAck {
		m.requireAck[s] = true
	}
	for _, s := range cfg.Local.Severities {
		m.sounding[s] = true
	}
	for _, s := range cfg.Silences {
		ss := staticSilence{StaticSilence: s}
		ss.start, _ = time.Parse(time.RFC3339, s.Start)
		ss.end, _ = time.Parse(time.RFC3339, s.End)
		m.static = append(m.static, ss)
	}
	mandatory := map[string]bool{}
	for _, n := range cfg.MandatorySinks {
		mandatory[n] = true
	}
	for _, s := range o.Sinks {
		name := s.Name()
		if _, dup := m.workers[name]; dup {
			return nil, fmt.Errorf("alerting: two sinks named %q", name)
		}
		w := &worker{m: m, sink: s, name: name, wake: make(chan struct{}, 1), dl: newDeliverer(s, m.clock, cfg.Delivery)}
		if os, ok := s.(OrderedSink); ok && os.InOrder() {
			m.ordered[name] = true
		}
		if ms, ok := s.(MandatorySink); ok && ms.Mandatory() {
			mandatory[name] = true
		}
		m.workers[name] = w
		m.names = append(m.names, name)
	}
	for n := range mandatory {
		if _, ok := m.workers[n]; ok {
			m.mand = append(m.mand, n)
		} else {
			m.log.Warn("alerting: mandatory sink is not configured", "sink", n)
		}
	}
	sort.Strings(m.mand)
	var cerrs cfgerr.List
	cfg.ValidateSinks(m.names, &cerrs)
	if err := cerrs.Err(); err != nil {
		return nil, fmt.Errorf("alerting: %w", err)
	}
	if err := m.restore(); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *Manager) restore() error {
	m.seq = m.store.AlarmSeq()
	recs, err := m.store.OpenAlarms()
	if err != nil {
		return fmt.Errorf("alerting: restore alarms: %w", err)
	}
	for i := range recs {
		r := &recs[i]
		if r.LastNotified == nil {
			r.LastNotified = map[string]time.Time{}
		}
		if r.Alarm.State != Resolved {
			m.open[r.Alarm.ID] = r
			m.byInst[instanceKey(r.Alarm.Rule, r.Alarm.Key)] = r.Alarm.ID
			if r.Sounded && r.Alarm.State == Firing {
				m.resound = append(m.resound, r.Alarm.ID)
			}
		}
		m.restoreGroup(r)
	}
	sils, err := m.store.Silences()
	if err != nil {
		return fmt.Errorf("alerting: restore silences: %w", err)
	}
	now := m.clock.Now()
	for i := range sils {
		if !sils[i].Expired(now) {
			s := sils[i]
			m.silences[s.ID] = &s
		}
	}
	if err := m.restoreTests(); err != nil {
		return fmt.Errorf("alerting: restore test windows: %w", err)
	}
	arm, err := m.store.Arming()
	if err != nil {
		return fmt.Errorf("alerting: restore arming: %w", err)
	}
	for _, a := range arm {
		m.arming[a.Zone] = a
	}
	counts, err := m.store.PendingCounts()
	if err != nil {
		return fmt.Errorf("alerting: pending deliveries: %w", err)
	}
	for sink, n := range counts {
		if w, ok := m.workers[sink]; ok {
			w.backlog.Store(int64(n))
			m.met.backlog.WithLabelValues(sink).Set(float64(n))
		} else {
			m.log.Warn("alerting: deliveries pending for a sink that is not configured", "sink", sink, "pending", n)
		}
	}
	m.met.active.Set(float64(len(m.open)))
	return nil
}

func (m *Manager) findNode(path string) *node {
	var find func(n *node) *node
	find = func(n *node) *node {
		if n.path == path {
			return n
		}
		for _, c := range n.children {
			if f := find(c); f != nil {
				return f
			}
		}
		return nil
	}
	return find(m.root)
}

// SetDirectory replaces the site's devices after a config reload: alarms raised from
// now on take their location, zone and kind from dir.
func (m *Manager) SetDirectory(dir *site.Directory) {
	m.mu.Lock()
	m.dir = dir
	m.mu.Unlock()
}

func (m *Manager) newID() string {
	m.seq++
	site := m.siteID
	if site == "" {
		site = "cg"
	}
	return fmt.Sprintf("%s-%s-%06d", site, m.store.Epoch(), m.seq)
}

// IsOpen reports whether the rule instance has an open alarm.
func (m *Manager) IsOpen(rule, key string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.byInst[instanceKey(rule, key)]
	return ok
}

// Failing reports whether a journal commit is waiting for a retry: some alarm change
// is in memory only. Inputs stop acknowledging their sources until it is not.
func (m *Manager) Failing() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.failed) > 0 || m.retrying > 0
}

// Active returns the open alarms, most urgent first, then oldest first.
func (m *Manager) Active() []Alarm {
	m.mu.Lock()
	out := make([]Alarm, 0, len(m.open))
	for _, r := range m.open {
		out = append(out, r.Alarm)
	}
	m.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if ri, rj := out[i].Severity.Rank(), out[j].Severity.Rank(); ri != rj {
			return ri < rj
		}
		if !out[i].FiredAt.Equal(out[j].FiredAt) {
			return out[i].FiredAt.Before(out[j].FiredAt)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// Alarm returns the open alarm with id.
func (m *Manager) Alarm(id string) (Alarm, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r := m.open[id]; r != nil {
		return r.Alarm, true
	}
	return Alarm{}, false
}
