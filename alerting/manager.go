package alerting

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/campusguard/campusguard/cfgerr"
	"github.com/campusguard/campusguard/event"
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
	cfg.SetDefaults()
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

// Handle applies a rule trigger: a new alarm; another occurrence of an open one (a
// record of its own; notified again when staff had it in hand); a renotify (a repeat
// of an open alarm's notification, never a new alarm); the condition clearing (a
// latched alarm is marked Cleared; any other resolves). The local output is told
// first; Handle returns once the change is journaled (fsynced). Network deliveries
// start from the journal after that.
func (m *Manager) Handle(ctx context.Context, t Trigger) error {
	return m.HandleAsync(ctx, t)()
}

// HandleAsync applies a trigger as Handle does (the local output is told at once, the
// change is queued for the journal in call order) and returns the wait for its commit:
// it returns once the change is fsynced, then wakes the sinks. A caller with several
// triggers queues them all and waits for each, so they share one fsync. Nothing
// leaves for a sink before its commit is durable.
func (m *Manager) HandleAsync(ctx context.Context, t Trigger) (wait func() error) {
	if t.Rule == "" {
		return func() error { return errors.New("trigger without rule") }
	}
	start := time.Now()
	now := m.clock.Now()
	if t.At.IsZero() {
		t.At = now
	}
	if !t.Severity.Valid() {
		m.log.Warn("trigger with unknown severity, raised as critical", "rule", t.Rule, "severity", t.Severity)
		t.Severity = Critical
	}
	var c Commit
	m.mu.Lock()
	id := m.byInst[instanceKey(t.Rule, t.Key)]
	rec := m.open[id]
	switch {
	case t.Renotify:
		if rec != nil {
			m.renotify(rec, now, &c)
		}
	case t.Firing && rec == nil:
		m.fire(&t, now, &c)
	case t.Firing:
		m.occur(rec, &t, now, &c)
	case rec == nil:
		// cleared with nothing open: nothing to do
	case rec.Alarm.Latched:
		m.clear(rec, &t, now, &c)
	default:
		m.resolve(rec, "rule", t.Reason, t.At, now, &c)
	}
	w := m.enqueue(&c)
	m.mu.Unlock()
	return func() error {
		err := m.settle(&c, w)
		m.met.handleSecs.Observe(time.Since(start).Seconds())
		return err
	}
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

func (m *Manager) fire(t *Trigger, now time.Time, c *Commit) {
	a := Alarm{ID: m.newID(), Rule: t.Rule, Key: t.Key, Site: m.siteID, DeviceID: t.DeviceID,
		Severity: t.Severity, Labels: maps.Clone(t.Labels), Message: t.Message, State: Firing,
		Count: 1, FiredAt: t.At, LastAt: t.At}
	if t.Event != nil {
		a.DeviceKind = t.Event.Kind
		a.Fields = maps.Clone(t.Event.Fields)
		if a.Site == "" {
			a.Site = t.Event.Site
		}
		if a.DeviceID == "" {
			a.DeviceID = t.Event.DeviceID
		}
	}
	if d := m.dir.Device(a.DeviceID); d != nil {
		a.DeviceKind, a.Zone, a.Location = d.Kind, d.Zone, d.Location
	}
	if a.DeviceKind == "" {
		a.DeviceKind = event.Kind(t.Labels["kind"])
	}
	if a.Zone == "" {
		a.Zone = t.Labels["zone"]
	}
	a.Class = ClassOf(t, a.DeviceKind)
	a.Latched = latches(a.Class, t.Latch)
	a.Test = t.Labels["test"] == "true" || m.inTest(a.DeviceID, a.Zone, now)
	if v, ok := a.Fields["test"].(bool); ok && v {
		a.Test = true
	}
	if a.Test && !strings.HasPrefix(a.Message, testPrefix) {
		a.Message = testPrefix + a.Message // staff read it as a test, not as an emergency
	}
	rec := &AlarmRecord{Alarm: a, Transitions: 1, Tamper: a.Class.Trouble(), LastNotified: map[string]time.Time{}}
	m.mute(&rec.Alarm, now, m.fireStages())
	m.open[a.ID] = rec
	m.byInst[instanceKey(a.Rule, a.Key)] = a.ID
	m.sound(rec, now)
	m.met.alarms.WithLabelValues(string(a.Severity)).Inc()
	m.met.active.Set(float64(len(m.open)))
	m.notify(rec, Fired, now, c)
	c.History = append(c.History, m.hist(rec, string(Fired), "", t.Reason, now))
	c.AlarmSeq = m.seq
	if m.isInhibitSource(&rec.Alarm) {
		m.reevaluate(now, c)
	}
	c.Alarms = append(c.Alarms, m.snapshot(rec))
	m.publishOccurrence(rec.Alarm)
}

// testPrefix marks the message of an alarm raised in test mode.
const testPrefix = "【测试】"

// ActionOccurrence is the history record of another trigger of an open alarm.
const ActionOccurrence = "occurrence"

// occur records another trigger of an open alarm (another press of the same button,
// the condition coming back on a latched alarm). Every occurrence is a record of its
// own. When staff already had the alarm in hand (acknowledged, silenced, or its
// condition had cleared) it needs a person again: it is notified as a repeat (to the
// police as a new event for a panic), sounds the siren again (30 s after a person's
// silence, GB 50394), and goes back to firing so the duty screen asks for an
// acknowledgement. An occurrence of a firing alarm nobody acknowledged yet is
// journaled and shown; its notification is still on its way.
func (m *Manager) occur(rec *AlarmRecord, t *Trigger, now time.Time, c *Commit) {
	a := &rec.Alarm
	if t.Event != nil {
		if initial, _ := t.Event.Fields["initial"].(bool); initial {
			return // a level read at start on an alarm restored from the journal: nothing new
		}
	}
	wasCleared, wasAcked, wasSilenced := a.Cleared, a.State == Acknowledged, a.Silenced
	a.Count++
	a.LastAt = t.At
	a.Cleared = false
	if t.Message != "" {
		a.Message = t.Message
		if a.Test {
			a.Message = testPrefix + a.Message
		}
	}
	if t.Event != nil && t.Event.Fields != nil {
		a.Fields = maps.Clone(t.Event.Fields)
	}
	rec.Transitions++
	note := fmt.Sprintf("#%d", a.Count)
	if wasAcked {
		a.State = Firing
		a.Escalation = 0
		a.PendingSince = now
	}
	m.sound(rec, now)
	if wasCleared || wasAcked || wasSilenced {
		m.notifyOccurrence(rec, now, c)
	} else {
		m.met.transitions.WithLabelValues(ActionOccurrence).Inc()
	}
	c.History = append(c.History, m.hist(rec, ActionOccurrence, "", note, now))
	c.Alarms = append(c.Alarms, m.snapshot(rec))
	m.publishOccurrence(*a)
}

// renotify repeats an open, unacknowledged alarm's notification to its routes (a
// rule's renotify interval). It never raises an alarm, sounds a siren or reports to
// the police: only a new trigger does.
func (m *Manager) renotify(rec *AlarmRecord, now time.Time, c *Commit) {
	a := &rec.Alarm
	if a.State != Firing || Muted(a) {
		return
	}
	rec.Transitions++
	n := Notification{ID: fmt.Sprintf("%s/%d", a.ID, rec.Transitions), Transition: Refired, Alarm: *a, Count: 1, At: now}
	seen := map[string]bool{}
	for _, r := range m.root.routes(a, now, m.sch) {
		for _, s := range r.sinks {
			if !seen[s] && !m.isMandatory(s) {
				seen[s] = true
				c.Deliveries = append(c.Deliveries, m.delivery(s, n, now))
			}
		}
	}
	c.Alarms = append(c.Alarms, m.snapshot(rec))
}

func (m *Manager) isMandatory(sink string) bool {
	for _, s := range m.mand {
		if s == sink {
			return true
		}
	}
	return false
}

func (m *Manager) clear(rec *AlarmRecord, t *Trigger, now time.Time, c *Commit) {
	if rec.Alarm.Cleared {
		return
	}
	rec.Alarm.Cleared = true
	rec.Alarm.Reason = t.Reason
	rec.Transitions++
	m.notify(rec, ConditionEnd, now, c)
	c.History = append(c.History, m.hist(rec, string(ConditionEnd), "", t.Reason, now))
	c.Alarms = append(c.Alarms, m.snapshot(rec))
	m.publish(rec.Alarm)
}

func (m *Manager) resolve(rec *AlarmRecord, by, reason string, at, now time.Time, c *Commit) {
	a := &rec.Alarm
	a.State = Resolved
	a.ResolvedAt = at
	a.ResolvedBy = by
	a.Reason = reason
	rec.Transitions++
	m.quiet(rec, now, by != "rule")
	m.notify(rec, ResolvedT, now, c)
	c.History = append(c.History, m.hist(rec, string(ResolvedT), by, reason, now))
	delete(m.open, a.ID)
	if m.byInst[instanceKey(a.Rule, a.Key)] == a.ID {
		delete(m.byInst, instanceKey(a.Rule, a.Key))
	}
	m.met.active.Set(float64(len(m.open)))
	if m.isInhibitSource(a) {
		m.reevaluate(now, c)
	}
	c.Alarms = append(c.Alarms, m.snapshot(rec))
	m.publish(*a)
}

func (m *Manager) hist(rec *AlarmRecord, action, by, note string, now time.Time) HistoryRecord {
	a := &rec.Alarm
	return HistoryRecord{At: now, AlarmID: a.ID, Action: action, By: by, Note: note, State: a.State,
		Severity: a.Severity, DeviceID: a.DeviceID, Zone: a.Zone}
}

func (m *Manager) snapshot(rec *AlarmRecord) AlarmRecord {
	r := *rec
	r.LastNotified = maps.Clone(rec.LastNotified)
	return r
}

// sound starts the local output for an alarm that should be heard: panic alarms
// always (GB 50394), others when not muted and either of the configured severities or
// signalled by the local output's table (LocalRouter); not again within ResoundAfter
// of staff silencing it.
func (m *Manager) sound(rec *AlarmRecord, now time.Time) {
	if m.local == nil {
		return
	}
	a := &rec.Alarm
	if !AlwaysSounds(a.Class) && (Muted(a) || !m.signals(a)) {
		return
	}
	if !Resounds(rec.QuietAt, now) {
		return
	}
	rec.Sounded = true
	m.local.Sound(*a)
}

// quiet stops the local output for an alarm. Only a person's silence (ack, reset)
// arms the 30 s re-sound rule; an alarm clearing by itself does not.
func (m *Manager) quiet(rec *AlarmRecord, now time.Time, person bool) {
	if m.local == nil || !rec.Sounded {
		return
	}
	rec.Sounded = false
	if person {
		rec.QuietAt = now
		m.local.Silence(rec.Alarm)
		return
	}
	m.local.Off(rec.Alarm)
}

// armed reports a zone's arming state now: an override in force, else its arming
// schedule, else armed unless an operator disarmed it (see armedAt). Call with m.mu
// held.
func (m *Manager) armed(zone string) bool {
	if zone == "" {
		return true
	}
	return m.armedAt(zone, m.clock.Now())
}

// reevaluate recomputes the suppression of every open alarm after a silence or an
// inhibiting alarm changed. An alarm still firing and never notified is notified once
// it is no longer muted.
func (m *Manager) reevaluate(now time.Time, c *Commit) {
	for _, id := range m.openIDs() {
		rec := m.open[id]
		if !m.mute(&rec.Alarm, now, m.muteStages()) {
			continue
		}
		a := &rec.Alarm
		if !Muted(a) && !rec.Notified && a.State == Firing && !a.Cleared {
			rec.Transitions++
			m.notify(rec, Fired, now, c)
			m.sound(rec, now)
		}
		c.Alarms = append(c.Alarms, m.snapshot(rec))
		m.publish(*a)
	}
}

func (m *Manager) openIDs() []string {
	ids := slices.Collect(maps.Keys(m.open))
	sort.Strings(ids)
	return ids
}

// notify turns one transition into deliveries: to the routes' sinks (unless the alarm
// is muted), into groups for non-critical alarms on grouping routes, and — for panic
// alarms — to every mandatory sink whatever the mutes and routes.
func (m *Manager) notify(rec *AlarmRecord, tr Transition, now time.Time, c *Commit) {
	m.notifyN(rec, tr, false, now, c)
}

// notifyOccurrence notifies a new trigger of an open alarm (Refired, marked as an
// occurrence: the police link reports it as a new event).
func (m *Manager) notifyOccurrence(rec *AlarmRecord, now time.Time, c *Commit) {
	m.notifyN(rec, Refired, true, now, c)
}

func (m *Manager) notifyN(rec *AlarmRecord, tr Transition, occurrence bool, now time.Time, c *Commit) {
	a := rec.Alarm
	n := Notification{ID: fmt.Sprintf("%s/%d", a.ID, rec.Transitions), Transition: tr, Alarm: a, Count: 1, At: now, Occurrence: occurrence,
		Quiet: occurrence && !Resounds(rec.QuietAt, now)}
	sent := map[string]bool{}
	routed := !Muted(&a) && (rec.Notified || tr == Fired || tr == Refired)
	if routed {
		for _, r := range m.root.routes(&a, now, m.sch) {
			grouped := len(r.groupBy) > 0 && a.Severity != Critical && (tr == Fired || tr == Refired || tr == ResolvedT)
			var fresh []string
			for _, s := range r.sinks {
				if !overLink(a.Class) && m.isMandatory(s) {
					continue // a report about the police link does not go over it
				}
				if !sent[s] {
					sent[s] = true
					fresh = append(fresh, s)
				}
			}
			if len(fresh) == 0 {
				continue
			}
			if grouped {
				m.addToGroup(r, fresh, n, now, rec)
			} else {
				for _, s := range fresh {
					c.Deliveries = append(c.Deliveries, m.delivery(s, n, now))
				}
			}
			if tr == Fired || tr == Refired {
				rec.LastNotified[r.path] = now
			}
		}
		if tr == Fired || tr == Refired {
			rec.Notified = true
		}
	}
	if mandatoryReport(a.Class) {
		for _, s := range m.mand {
			if !sent[s] {
				sent[s] = true
				c.Deliveries = append(c.Deliveries, m.delivery(s, n, now))
			}
		}
	}
	m.met.transitions.WithLabelValues(string(tr)).Inc()
}

func (m *Manager) delivery(sink string, n Notification, now time.Time) Delivery {
	prio := n.Alarm.Severity.Rank()
	if m.ordered[sink] {
		prio = 0 // one priority: the sink takes its deliveries in commit order
	}
	return Delivery{Sink: sink, Priority: prio, Notification: n, State: Pending, CreatedAt: now}
}

// enqueue queues c in the journal (call with m.mu held, so commits keep the order of
// the changes); the empty commit needs no wait.
func (m *Manager) enqueue(c *Commit) func() error {
	if c.Empty() {
		return nil
	}
	return m.store.Enqueue(*c)
}

// settle waits for the commit, then wakes the sink workers of its deliveries. A
// failed commit is kept and retried on the next tick (newer alarm records win).
func (m *Manager) settle(c *Commit, wait func() error) error {
	if wait == nil {
		return nil
	}
	if err := wait(); err != nil {
		m.mu.Lock()
		m.failed = append(m.failed, *c)
		m.lastErr = err
		m.mu.Unlock()
		m.met.commitErrors.Inc()
		// The alarm is kept in memory and its commit retried; meanwhile its
		// notifications go out from memory so the police and staff still hear of it.
		bySink := map[string][]Delivery{}
		for _, d := range c.Deliveries {
			bySink[d.Sink] = append(bySink[d.Sink], d)
		}
		for sink, ds := range bySink {
			if w := m.workers[sink]; w != nil {
				w.addMem(ds)
			}
		}
		return fmt.Errorf("journal: %w", err)
	}
	m.mu.Lock()
	if len(m.failed) == 0 {
		m.lastErr = nil
	}
	m.mu.Unlock()
	m.wake(c.Deliveries)
	return nil
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

func (m *Manager) wake(ds []Delivery) {
	for _, d := range ds {
		if d.State != "" && d.State != Pending {
			continue
		}
		if w, ok := m.workers[d.Sink]; ok {
			w.backlog.Add(1)
			m.met.backlog.WithLabelValues(d.Sink).Set(float64(w.backlog.Load()))
			select {
			case w.wake <- struct{}{}:
			default:
			}
		}
	}
}

// Ack acknowledges an open alarm: staff have it. The siren for it stops; escalation
// stops.
func (m *Manager) Ack(ctx context.Context, alarmID, by, note string) error {
	if by == "" {
		return ErrNoPerson
	}
	now := m.clock.Now()
	var c Commit
	m.mu.Lock()
	rec := m.open[alarmID]
	switch {
	case rec == nil:
		m.mu.Unlock()
		return fmt.Errorf("ack %s: %w", alarmID, ErrNotFound)
	case rec.Alarm.State == Acknowledged:
		m.mu.Unlock()
		return fmt.Errorf("ack %s: %w", alarmID, ErrAlreadyAcked)
	}
	a := &rec.Alarm
	a.State = Acknowledged
	a.AckedAt, a.AckedBy, a.AckNote = now, by, note
	rec.Transitions++
	m.quiet(rec, now, true)
	m.notify(rec, Acked, now, &c)
	c.History = append(c.History, m.hist(rec, string(Acked), by, note, now))
	c.Alarms = append(c.Alarms, m.snapshot(rec))
	m.publish(*a)
	wait := m.enqueue(&c)
	m.mu.Unlock()
	return m.settle(&c, wait)
}

// Resolve is a person's reset of an open alarm (the only way a latched alarm ends).
func (m *Manager) Resolve(ctx context.Context, alarmID, by, note string) error {
	if by == "" {
		return ErrNoPerson
	}
	now := m.clock.Now()
	var c Commit
	m.mu.Lock()
	rec := m.open[alarmID]
	if rec == nil {
		m.mu.Unlock()
		return fmt.Errorf("resolve %s: %w", alarmID, ErrNotFound)
	}
	m.resolve(rec, by, note, now, now, &c)
	a := rec.Alarm
	wait := m.enqueue(&c)
	m.mu.Unlock()
	if m.onReset != nil {
		m.onReset(a)
	}
	return m.settle(&c, wait)
}

// Arm arms a zone. Arming state is journaled and restored after a power cut. A zone
// with an arming schedule stays armed until its schedule next changes (at most
// arming.max_override); use SetArming for a bounded override with a reason.
func (m *Manager) Arm(ctx context.Context, zone, by string) error {
	return m.setArmed(ctx, zone, by, true)
}

// Disarm disarms a zone: its non-panic, non-tamper alarms are journaled and shown but
// not notified. Disarming never disarms the zone's panic devices (GB 50394: emergency
// zones are active 24 hours) nor its tamper and line-fault alarms; a zone of panic
// buttons only is refused (ErrPanicZone), and so is a zone with an arming schedule
// (it needs SetArming with a reason).
func (m *Manager) Disarm(ctx context.Context, zone, by string) error {
	return m.setArmed(ctx, zone, by, false)
}

func (m *Manager) setArmed(ctx context.Context, zone, by string, armed bool) error {
	return m.SetArming(ctx, ArmRequest{Zone: zone, By: by, Armed: armed})
}

// Arming returns every zone's stored arming state (zones not listed are armed).
func (m *Manager) Arming() []ZoneArming {
	m.mu.Lock()
	out := slices.Collect(maps.Values(m.arming))
	m.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Zone < out[j].Zone })
	return out
}

// Armed reports whether zone is armed.
func (m *Manager) Armed(zone string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.armed(zone)
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
