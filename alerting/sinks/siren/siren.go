// Package siren is the alert sink for the on-site sounders and strobes (现场声光告警).
//
// Routes in the config map alarms (by zone, building, device kind and severity) to
// output ids, each with a pattern (steady, or pulsed with on/off times) and a maximum
// on-time. The sink keeps, per output, the set of alarms that want it on (reference
// counting): the output stays on until every one of them is silenced, acknowledged
// (with silence_on_ack) or resolved, or until its max on-time runs out.
//
// Two paths drive it, and both are idempotent per alarm id and trigger count:
//
//   - the direct path, Sound / Silence / Release, which the alerting core calls at once,
//     before the journal commit (the siren must not wait for the disk); Local adapts
//     it to the core's LocalOutput hook (Sound, a person's Silence, and Off without a
//     person; methods without results);
//   - the journaled path, Deliver, which the pipeline calls with each notification.
//
// A new trigger of an alarm (a higher Alarm.Count, or an alarm not seen before) sounds
// the output again, restarting its max on-time. Whether a new trigger of an alarm a
// person silenced sounds at all is not the sink's to decide: the 30 s re-sound rule
// (GB 50394) belongs to the alarm (alerting.Resounds). On the direct path the core
// calls Sound only when the rule lets the alarm sound; on the journaled path the
// notification says so (alerting.Notification.Quiet), and the sink keeps such a
// trigger of a silenced alarm quiet (campusguard_siren_resound_suppressed_total).
//
// An output goes off in one of two ways, and the sink tells its Output which: Silence
// when a person silenced, acknowledged (with silence_on_ack) or reset the last alarm
// holding it, and Off otherwise (every alarm holding it resolved or was released,
// max_on ran out, the sink closes).
//
// The package does not import periph: it drives outputs through the Output interface,
// which the daemon adapts to the GPIO driver's outputs.
package siren

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/cfgerr"
	"github.com/campusguard/campusguard/health"
	"github.com/campusguard/campusguard/site"
)

// Output is one sounder or strobe. Sound starts p (replacing whatever plays) and turns
// the output off by itself after maxOn. Silence turns it off because a person
// silenced it; Off turns it off without a person. All must return quickly
// (they are called with the sink's lock held, on the alarm path): a driver plays
// pulses on its own goroutine.
type Output interface {
	Sound(p Pattern, maxOn time.Duration) error
	Silence() error
	Off() error
}

// Speaker is an Output with a voice player (a sounder that plays recorded or
// synthesised prompts): it plays a route's voice prompt when the route sounds it. Say
// must return quickly, like Sound.
type Speaker interface {
	Say(prompt string) error
}

// Options are the sink's collaborators; every field may be left zero.
type Options struct {
	Site *site.Site // maps zones to buildings for building routes
	// Schedules evaluates the routes' schedules (the rules' schedule set). nil: a
	// route with a schedule signals at all times (loud rather than silent).
	Schedules  alerting.Schedules
	Clock      clockwork.Clock       // nil: the real clock
	Registerer prometheus.Registerer // nil: metrics are not registered
	Logger     *slog.Logger          // nil: slog.Default()
}

// Sink drives outputs for alarms. It implements alerting.Sink and health.Reporter.
type Sink struct {
	name  string
	cfg   Config
	clock clockwork.Clock
	log   *slog.Logger
	zoneB map[string]string // zone id → building id
	sch   alerting.Schedules
	m     *metrics

	mu      sync.Mutex
	outputs map[string]*outState
	order   []string // output ids in config order
	alarms  map[string]*alarmState
	closed  bool
	lastErr error
	errAt   time.Time
	okAt    time.Time
}

var (
	_ alerting.Sink   = (*Sink)(nil)
	_ health.Reporter = (*Sink)(nil)
)

type outState struct {
	id       string
	out      Output
	demand   map[string]setting // alarm id → how that alarm wants the output
	sounding bool
	timedOut bool // max on-time ran out while alarms still wanted it
	cur      setting
	since    time.Time
	timer    clockwork.Timer
	gen      uint64 // bumps on every Sound/Silence/Off; a stale timer does nothing
	err      error  // the last Sound/Silence/Off error, nil after a success
}

type alarmState struct {
	id         string
	count      int
	severity   alerting.Severity
	firedAt    time.Time
	outputs    map[string]setting // where its routes send it
	demanding  bool               // wants its outputs on
	silencedAt time.Time          // when a person silenced it (zero: never); bookkeeping only
	// resolved: the alarm was reset. It is kept until the re-sound hold-off passed so
	// that a notification of it still on its way (the journaled deliveries come after
	// the direct path) cannot sound it again.
	resolved bool
}

// New builds a sink from a validated config (SetDefaults and Validate called) and the
// outputs by id. Every output the config names must be in outs.
func New(cfg Config, outs map[string]Output, opt Options) (*Sink, error) {
	cfg.SetDefaults(cfgerr.Env{})
	var errs cfgerr.List
	cfg.Validate(&errs)
	if err := errs.Err(); err != nil {
		return nil, fmt.Errorf("siren %s: %w", cfg.Name, err)
	}
	if opt.Clock == nil {
		opt.Clock = clockwork.NewRealClock()
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	s := &Sink{
		name:    cfg.Name,
		cfg:     cfg,
		clock:   opt.Clock,
		log:     opt.Logger,
		zoneB:   map[string]string{},
		sch:     opt.Schedules,
		outputs: map[string]*outState{},
		alarms:  map[string]*alarmState{},
	}
	if opt.Site != nil {
		for _, z := range opt.Site.Zones {
			s.zoneB[z.ID] = z.Building
		}
	}
	for _, oc := range cfg.Outputs {
		o, ok := outs[oc.ID]
		if !ok || o == nil {
			return nil, fmt.Errorf("siren %s: output %q has no driver output", cfg.Name, oc.ID)
		}
		s.outputs[oc.ID] = &outState{id: oc.ID, out: o, demand: map[string]setting{}}
		s.order = append(s.order, oc.ID)
	}
	for _, w := range cfg.Warnings() {
		s.log.Warn("siren: "+w, "sink", cfg.Name)
	}
	m, err := newMetrics(cfg.Name, s.order, opt.Registerer)
	if err != nil {
		return nil, fmt.Errorf("siren %s: %w", cfg.Name, err)
	}
	s.m = m
	return s, nil
}

// Name is the sink's name.
func (s *Sink) Name() string { return s.name }

// Deliver applies a journaled notification: fired, refired and escalated sound the
// alarm's outputs; acknowledged silences them when silence_on_ack is set; resolved
// releases them. Every alarm of a grouped notification is applied. It returns an
// error when an output failed (the pipeline retries; the retry drives the output again).
func (s *Sink) Deliver(ctx context.Context, n alerting.Notification) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	alarms := n.Group
	if len(alarms) == 0 {
		alarms = []alerting.Alarm{n.Alarm}
	}
	var errs []error
	for i := range alarms {
		a := alarms[i]
		var err error
		switch n.Transition {
		case alerting.Fired, alerting.Refired, alerting.Escalated:
			err = s.sound(a, n.Quiet)
		case alerting.Acked:
			if s.cfg.SilenceOnAck {
				err = s.Silence(a)
			} else {
				err = s.sync()
			}
		case alerting.ResolvedT:
			err = s.Release(a)
		default: // cleared: a latched alarm keeps sounding until reset
			err = s.sync()
		}
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("siren %s: notification %s: %w", s.name, n.ID, err)
	}
	return nil
}

// Sound is the direct path for a fired, refired or escalated alarm: its outputs sound
// at once. Calling it again for the same alarm and Count changes nothing; a higher
// Count is a new trigger. A resolved alarm is released instead, and so is a muted one
// (silenced, inhibited or disarmed) unless it is a panic alarm, which always sounds
// (GB 50394, as the alerting core decides too); a test alarm is ignored unless
// sound_tests is set. The core calls it only when the alarm's re-sound rule lets the
// alarm sound.
func (s *Sink) Sound(a alerting.Alarm) error { return s.sound(a, false) }

// sound is Sound; quiet is the alarm policy's decision that a new trigger of an alarm
// a person silenced stays quiet (alerting.Notification.Quiet).
func (s *Sink) sound(a alerting.Alarm, quiet bool) error {
	switch {
	case a.State == alerting.Resolved, alerting.Muted(&a) && !alerting.AlwaysSounds(a.Class):
		return s.Release(a)
	case a.Test && !s.cfg.SoundTests:
		return nil
	}
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("siren closed")
	}
	st, known := s.alarms[a.ID]
	force := map[string]bool{}
	switch {
	case known && st.resolved:
		return nil // a late notification of an alarm a person already reset
	case !known && quiet:
		return nil // a silenced alarm this sink forgot: it stays quiet
	case !known:
		st = &alarmState{id: a.ID, count: a.Count, severity: a.Severity, firedAt: a.FiredAt, outputs: s.route(&a, now)}
		if len(st.outputs) == 0 {
			return nil // no route: nothing to sound
		}
		s.alarms[a.ID] = st
		st.demanding = true
		for id := range st.outputs {
			force[id] = true
		}
	case a.Count > st.count: // a new trigger
		st.count = a.Count
		st.severity = a.Severity
		if quiet && !st.demanding {
			s.m.suppressed.Inc()
			s.log.Info("new trigger within the re-sound hold-off stays quiet", "alarm", a.ID,
				"since_silence", now.Sub(st.silencedAt))
			break
		}
		st.silencedAt = time.Time{}
		st.demanding = true
		for id := range st.outputs {
			force[id] = true
		}
	}
	if st.demanding {
		for id, set := range st.outputs {
			s.outputs[id].demand[a.ID] = set
		}
	}
	return s.syncLocked(now, force, nil)
}

// Silence is the direct path for a person silencing an alarm (acknowledging it with
// silence_on_ack, or resetting it): the alarm stops holding its outputs on; each goes
// off, by the Output's Silence, when no other alarm holds it. A new trigger of the
// alarm sounds again when the alarm's re-sound rule says so.
func (s *Sink) Silence(a alerting.Alarm) error {
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	var byPerson map[string]bool
	if st, ok := s.alarms[a.ID]; ok && st.demanding {
		st.demanding = false
		st.silencedAt = now
		byPerson = map[string]bool{}
		for id := range st.outputs {
			delete(s.outputs[id].demand, a.ID)
			byPerson[id] = true
		}
	}
	return s.syncLocked(now, nil, byPerson)
}

// Release forgets an alarm without a person (resolved, muted or inhibited, no longer
// routed here): its outputs go off, by the Output's Off, when no other alarm holds
// them, and the next trigger sounds at once.
func (s *Sink) Release(a alerting.Alarm) error {
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.alarms[a.ID]; ok {
		for id := range st.outputs {
			delete(s.outputs[id].demand, a.ID)
		}
		if a.State == alerting.Resolved {
			st.demanding, st.resolved = false, true
			if st.silencedAt.IsZero() {
				st.silencedAt = now // forgotten with the other silenced alarms
			}
		} else {
			delete(s.alarms, a.ID)
		}
	}
	return s.syncLocked(now, nil, nil)
}

// Close stops the max on-time timers and turns every sounding output off (Off: no
// person silenced them). Later calls to Sound fail.
func (s *Sink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	var errs []error
	for _, id := range s.order {
		o := s.outputs[id]
		if o.timer != nil {
			o.timer.Stop()
		}
		if o.sounding {
			errs = append(errs, s.offOut(o, false))
		}
	}
	return errors.Join(errs...)
}

// route returns the outputs an alarm goes to, with the first matching route's
// settings for each.
func (s *Sink) route(a *alerting.Alarm, now time.Time) map[string]setting {
	out := map[string]setting{}
	b := s.zoneB[a.Zone]
	for i := range s.cfg.Routes {
		r := &s.cfg.Routes[i]
		if !r.matches(a, b) || !s.scheduled(r, now) {
			continue
		}
		for _, id := range r.Outputs {
			if _, done := out[id]; done {
				continue
			}
			oc := s.cfg.Outputs[slices.IndexFunc(s.cfg.Outputs, func(o OutputConfig) bool { return o.ID == id })]
			set := resolve(oc.PatternConfig, r.PatternConfig)
			set.Voice = r.Voice
			out[id] = set
		}
	}
	return out
}

// scheduled reports whether a route's schedule is active at now (always, without one
// or without a schedule set).
func (s *Sink) scheduled(r *Route, now time.Time) bool {
	return r.Schedule == "" || s.sch == nil || s.sch.Active(r.Schedule, now)
}

// Signals reports whether the signalling table sends alarm a to an output now: the
// alerting core sounds every alarm the table signals (alerting.LocalRouter).
func (s *Sink) Signals(a alerting.Alarm) bool {
	if a.Test && !s.cfg.SoundTests {
		return false
	}
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.route(&a, now)) > 0
}

func (s *Sink) sync() error {
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.syncLocked(now, nil, nil)
}

// syncLocked brings every output to the state its demand set asks for; force names
// outputs that a new trigger must sound again (restarting their max on-time);
// byPerson names outputs a person's silence released (turned off by the Output's
// Silence, arming its re-sound guard; the others by Off).
func (s *Sink) syncLocked(now time.Time, force, byPerson map[string]bool) error {
	if s.closed {
		return nil
	}
	// Forget alarms silenced longer than the re-sound time ago: the alarm's rule lets
	// any trigger of theirs sound again anyway, and the direct path may never tell us
	// they resolved.
	for id, st := range s.alarms {
		if !st.demanding && !st.silencedAt.IsZero() && now.Sub(st.silencedAt) > alerting.ResoundAfter {
			delete(s.alarms, id)
		}
	}
	s.m.alarms.Set(float64(s.activeLocked()))
	var errs []error
	acted := false // an output was driven
	for _, id := range s.order {
		o := s.outputs[id]
		if len(o.demand) == 0 {
			o.timedOut = false
			if o.sounding || o.err != nil {
				acted = true
				errs = append(errs, s.offOut(o, byPerson[id]))
			}
			continue
		}
		want := s.choose(o)
		if force[id] || (!o.sounding && !o.timedOut) || (o.sounding && want != o.cur) {
			acted = true
			errs = append(errs, s.soundOut(o, want, now))
		}
	}
	err := errors.Join(errs...)
	switch {
	case err != nil:
		s.lastErr, s.errAt = err, now
	case acted:
		s.okAt = now
	}
	return err
}

// choose picks the setting of the most urgent alarm holding o (ties: the earliest
// fired, then the smallest id).
func (s *Sink) choose(o *outState) setting {
	ids := make([]string, 0, len(o.demand))
	for id := range o.demand {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool {
		a, b := s.alarms[ids[i]], s.alarms[ids[j]]
		if ra, rb := a.severity.Rank(), b.severity.Rank(); ra != rb {
			return ra < rb
		}
		if !a.firedAt.Equal(b.firedAt) {
			return a.firedAt.Before(b.firedAt)
		}
		return a.id < b.id
	})
	return o.demand[ids[0]]
}

func (s *Sink) soundOut(o *outState, set setting, now time.Time) error {
	o.gen++
	if o.timer != nil {
		o.timer.Stop()
		o.timer = nil
	}
	err := o.out.Sound(set.Pattern, set.MaxOn)
	if sp, ok := o.out.(Speaker); ok && err == nil && set.Voice != "" {
		if verr := sp.Say(set.Voice); verr != nil {
			s.log.Warn("voice prompt failed", "output", o.id, "err", verr)
		}
	}
	if err != nil {
		o.sounding, o.err = false, err
		s.m.errors.WithLabelValues(o.id).Inc()
		s.m.on.WithLabelValues(o.id).Set(0)
		s.log.Error("output failed to sound", "output", o.id, "err", err)
		return fmt.Errorf("output %s: sound: %w", o.id, err)
	}
	if !o.sounding {
		o.since = now
	}
	o.sounding, o.timedOut, o.cur, o.err = true, false, set, nil
	s.m.activations.WithLabelValues(o.id).Inc()
	s.m.on.WithLabelValues(o.id).Set(1)
	s.log.Info("output sounding", "output", o.id, "pattern", set.Pattern.String(), "max_on", set.MaxOn, "alarms", len(o.demand))
	gen := o.gen
	o.timer = s.clock.AfterFunc(set.MaxOn, func() { s.expire(o, gen) })
	return nil
}

// offOut turns an output off: by the Output's Silence when a person silenced it, else
// by Off.
func (s *Sink) offOut(o *outState, byPerson bool) error {
	o.gen++
	if o.timer != nil {
		o.timer.Stop()
		o.timer = nil
	}
	call, done, off := "off", "output off", o.out.Off
	if byPerson {
		call, done, off = "silence", "output silenced by a person", o.out.Silence
	}
	if err := off(); err != nil {
		o.err = err
		s.m.errors.WithLabelValues(o.id).Inc()
		s.log.Error("output failed to turn off", "output", o.id, "call", call, "err", err)
		return fmt.Errorf("output %s: %s: %w", o.id, call, err)
	}
	if o.sounding {
		s.log.Info(done, "output", o.id)
	}
	o.sounding, o.err = false, nil
	s.m.on.WithLabelValues(o.id).Set(0)
	return nil
}

// expire runs when an output's max on-time ran out: the driver should have turned it
// off already; turn it off again (Off: no person) in case it did not.
func (s *Sink) expire(o *outState, gen uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if gen != o.gen || !o.sounding || s.closed {
		return
	}
	s.log.Warn("max on-time reached; output off until a new trigger", "output", o.id, "max_on", o.cur.MaxOn)
	s.m.cutoffs.WithLabelValues(o.id).Inc()
	if err := s.offOut(o, false); err != nil {
		s.lastErr, s.errAt = err, s.clock.Now()
	}
	o.timedOut = true
}

// Local adapts the sink to the alerting core's local-output hook (Sound, Silence and
// Off without results; failures are logged, counted and reported by Health). Silence
// is a person's: of an acknowledged alarm it is ignored unless silence_on_ack is set;
// otherwise (a silence, or a reset that resolved the alarm) it is Sink.Silence. Off is
// without a person (Sink.Release).
type Local struct{ S *Sink }

// Sound calls Sink.Sound.
func (l Local) Sound(a alerting.Alarm) { _ = l.S.Sound(a) }

// Signals calls Sink.Signals: the core sounds what the table routes.
func (l Local) Signals(a alerting.Alarm) bool { return l.S.Signals(a) }

// Off releases the alarm's outputs without a person's silence (Sink.Release): the
// next trigger sounds at once.
func (l Local) Off(a alerting.Alarm) { _ = l.S.Release(a) }

// Silence calls Sink.Silence, or nothing for an acknowledgement without
// silence_on_ack (see Local). A person's reset (the alarm resolved) silences the
// alarm's outputs and then forgets it.
func (l Local) Silence(a alerting.Alarm) {
	switch a.State {
	case alerting.Acknowledged:
		if l.S.cfg.SilenceOnAck {
			_ = l.S.Silence(a)
		}
	case alerting.Resolved:
		_ = l.S.Silence(a)
		_ = l.S.Release(a)
	default:
		_ = l.S.Silence(a)
	}
}

// OutputState is one output's condition, for health and the console.
type OutputState struct {
	ID       string    `json:"id"`
	Sounding bool      `json:"sounding"`
	TimedOut bool      `json:"timed_out,omitempty"` // max on-time ran out while alarms hold it
	Pattern  string    `json:"pattern,omitempty"`
	Since    time.Time `json:"since,omitzero"`
	Alarms   []string  `json:"alarms,omitempty"` // alarm ids holding it on, sorted
	Error    string    `json:"error,omitempty"`
}

// Outputs reports every output, in config order.
func (s *Sink) Outputs() []OutputState {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]OutputState, 0, len(s.order))
	for _, id := range s.order {
		o := s.outputs[id]
		st := OutputState{ID: id, Sounding: o.sounding, TimedOut: o.timedOut}
		if o.sounding {
			st.Pattern, st.Since = o.cur.Pattern.String(), o.since
		}
		for a := range o.demand {
			st.Alarms = append(st.Alarms, a)
		}
		sort.Strings(st.Alarms)
		if o.err != nil {
			st.Error = o.err.Error()
		}
		out = append(out, st)
	}
	return out
}

// Health is Down when an output failed its last command, else Up; the detail lists
// the outputs, the active alarms, the last error and the last success.
func (s *Sink) Health() health.Status {
	outs := s.Outputs()
	s.mu.Lock()
	defer s.mu.Unlock()
	st := health.Status{State: health.Up, Detail: map[string]any{
		"outputs": outs,
		"alarms":  s.activeLocked(),
	}}
	var failed []string
	for _, o := range outs {
		if o.Error != "" {
			failed = append(failed, o.ID)
		}
	}
	if len(failed) > 0 {
		st.State = health.Down
		st.Reason = fmt.Sprintf("output(s) %v failed", failed)
	}
	if s.lastErr != nil {
		st.Detail["last_error"] = s.lastErr.Error()
		st.Detail["last_error_at"] = s.errAt
	}
	if !s.okAt.IsZero() {
		st.Detail["last_success"] = s.okAt
	}
	return st
}

// SetSite takes the zones of a reloaded site (zone → building, for building routes):
// alarms from now on are routed with them.
func (s *Sink) SetSite(st *site.Site) {
	zb := map[string]string{}
	if st != nil {
		for _, z := range st.Zones {
			zb[z.ID] = z.Building
		}
	}
	s.mu.Lock()
	s.zoneB = zb
	s.mu.Unlock()
}

// activeLocked counts the alarms the sink tracks that a person has not reset.
func (s *Sink) activeLocked() int {
	n := 0
	for _, st := range s.alarms {
		if !st.resolved {
			n++
		}
	}
	return n
}
