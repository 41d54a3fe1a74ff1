package rules

import (
	"container/heap"
	"fmt"
	"strings"
	"time"

	"github.com/expr-lang/expr/vm"

	"github.com/campusguard/campusguard/event"
	"github.com/campusguard/campusguard/rules/schedule"
	"github.com/campusguard/campusguard/site"
)

// Engine evaluates a RuleSet. See the package doc.
type Engine struct {
	loc    *time.Location
	dir    *site.Directory
	set    *RuleSet
	scheds *schedule.Set
	rules  []*rstate
	byName map[string]*rstate
	index  map[string]*devEntry
	timers timerHeap

	env     runEnv
	in      evalIn         // the event as fast expressions read it
	boxes   map[string]any // interned boxed strings for env (bounded by maxBoxes)
	time    bool           // some rule reads the event's time
	vm      vm.VM
	now     time.Time // the latest time the engine was given
	started bool
	unarmed bool // some absence rule still needs its instances created
	stats   Stats
	out     []Change
}

// Stats are the engine's counters, for metrics.
type Stats struct {
	Events     uint64 // events processed
	Evaluated  uint64 // rule expressions evaluated
	EvalErrors uint64 // expressions that failed at run time (counted as false)
	Changes    uint64 // changes emitted
	Instances  int    // open rule instances
	Timers     int    // timer entries queued
}

// rstate is one rule inside an engine.
type rstate struct {
	rule  *Rule
	c     *compiled
	idx   int
	inst  map[string]*instance
	armed bool // absence: instances created for the selected devices
}

// instance is one rule for one key.
type instance struct {
	r           *rstate
	key         string
	deviceID    string
	dev         *site.Device // the keyed device (nil for group-keyed instances)
	groupLabels map[string]string

	firing     bool
	firedAt    time.Time
	lastNotify time.Time
	lastSeen   time.Time // last matching event (match/count: resolve_after; absence: the silence start)
	holding    bool      // for: the condition holds
	since      time.Time // for: since when
	due        bool      // for: held long enough but the schedule was inactive
	hits       []time.Time
	check      time.Time // absence: next check (period end, or the daily deadline)

	deadline time.Time // when the instance next needs a Tick (zero: never)
	queued   time.Time // the time of its entry in the timer heap (zero: none)
	removed  bool
}

// binding is a rule that applies to a device, with the instance key for that device.
type binding struct {
	r           *rstate
	key         string
	groupLabels map[string]string
}

type devEntry struct {
	dev    *site.Device
	denv   *runDevice
	kind   any                  // the device's kind, boxed
	byType map[string][]binding // rules interested in an event type (including any-type rules)
	other  []binding            // rules interested in every type
}

// New returns an engine running set for the devices of dir, evaluating schedules and
// deadlines in loc (nil: the site's time zone, else UTC). Absence rules start timing
// at the first Tick or Process: call Tick(now) once when the daemon starts.
func New(set *RuleSet, dir *site.Directory, loc *time.Location) *Engine {
	if loc == nil {
		loc = time.UTC
		if dir != nil && dir.Site != nil {
			loc = dir.Site.Location()
		}
	}
	e := &Engine{loc: loc}
	e.install(set, dir)
	return e
}

// install builds the engine's tables for set and dir, keeping the state of rules
// that already run with the same name and hash. It returns the rules dropped.
func (e *Engine) install(set *RuleSet, dir *site.Directory) (dropped []*rstate, kept map[*rstate]bool) {
	if set == nil {
		set = &RuleSet{}
	}
	scheds, err := schedule.Compile(set.Schedules, e.loc)
	if err != nil {
		scheds = nil // Load validated them; an unvalidated set gets no schedules (never active)
	}
	old := e.byName
	e.set, e.dir, e.scheds = set, dir, scheds
	e.rules = make([]*rstate, 0, len(set.Rules))
	e.byName = make(map[string]*rstate, len(set.Rules))
	kept = map[*rstate]bool{}
	for i, r := range set.Rules {
		if r.c == nil {
			continue // not compiled (not from Load)
		}
		rs := &rstate{rule: r, c: r.c, idx: i, inst: map[string]*instance{}}
		if o := old[r.Name]; o != nil && o.rule.Hash == r.Hash {
			rs.inst, rs.armed = o.inst, o.armed
			for _, in := range rs.inst {
				in.r = rs
			}
			kept[o] = true
		}
		if r.Form == FormAbsence && !rs.armed {
			e.unarmed = true
		}
		e.rules = append(e.rules, rs)
		e.byName[r.Name] = rs
	}
	e.time = false
	for _, rs := range e.rules {
		e.time = e.time || rs.c.readsTime
	}
	for _, o := range old {
		if !kept[o] {
			dropped = append(dropped, o)
		}
	}
	e.buildIndex()
	return dropped, kept
}

func (e *Engine) buildIndex() {
	devs := e.dir.Devices()
	e.index = make(map[string]*devEntry, len(devs))
	for i := range devs {
		d := &devs[i]
		ent := &devEntry{dev: d, denv: e.deviceEnv(d), kind: e.box(string(d.Kind)), byType: map[string][]binding{}}
		var all []binding
		for _, r := range e.rules {
			if r.c.sel.matchDevice(d) {
				all = append(all, e.bind(r, d))
			}
		}
		for _, b := range all {
			for t := range b.r.c.types {
				if _, ok := ent.byType[t]; ok {
					continue
				}
				var list []binding
				for _, o := range all {
					if o.r.c.types == nil || o.r.c.types[t] {
						list = append(list, o)
					}
				}
				ent.byType[t] = list
			}
			if b.r.c.types == nil {
				ent.other = append(ent.other, b)
			}
		}
		e.index[d.ID] = ent
	}
}

func (e *Engine) deviceEnv(d *site.Device) *runDevice {
	return newRunDevice(deviceEnv{ID: d.ID, Kind: string(d.Kind), Zone: d.Zone, Location: d.Location, Name: d.Name, Labels: d.Labels})
}

// maxBoxes bounds the interned strings: event types and sources come from devices.
const maxBoxes = 4096

// box returns s in an interface, interned so an event allocates nothing for it.
func (e *Engine) box(s string) any {
	if v, ok := e.boxes[s]; ok {
		return v
	}
	var v any = s
	if e.boxes == nil {
		e.boxes = map[string]any{}
	}
	if len(e.boxes) < maxBoxes {
		e.boxes[s] = v
	}
	return v
}

// bind computes rule r's instance key for device d.
func (e *Engine) bind(r *rstate, d *site.Device) binding {
	if r.c.byDevice {
		return binding{r: r, key: d.ID}
	}
	labels := make(map[string]string, len(r.c.groupBy))
	vals := make([]string, 0, len(r.c.groupBy))
	for _, g := range r.c.groupBy {
		var name, v string
		switch g.what {
		case "device":
			name, v = "device", d.ID
		case "zone":
			name, v = "zone", d.Zone
		case "kind":
			name, v = "kind", string(d.Kind)
		case "site":
			name = "site"
			if e.dir != nil && e.dir.Site != nil {
				v = e.dir.Site.ID
			}
		case "label":
			name, v = g.label, d.Labels[g.label]
		}
		labels[name] = v
		vals = append(vals, v)
	}
	key := strings.Join(vals, ",")
	if len(vals) == 0 {
		key = "all"
	}
	return binding{r: r, key: key, groupLabels: labels}
}

// NextDeadline is when the engine next needs Tick; false when no timer is pending.
func (e *Engine) NextDeadline() (time.Time, bool) {
	for len(e.timers) > 0 {
		t := e.timers[0]
		if t.inst.removed || !t.at.Equal(t.inst.queued) {
			heap.Pop(&e.timers)
			continue
		}
		return t.at, true
	}
	return time.Time{}, false
}

// Stats returns the engine's counters.
func (e *Engine) Stats() Stats {
	s := e.stats
	for _, r := range e.rules {
		s.Instances += len(r.inst)
	}
	s.Timers = len(e.timers)
	return s
}

// Tick runs the timers due at or before now.
func (e *Engine) Tick(now time.Time) []Change {
	e.out = nil
	e.advance(now)
	return e.take()
}

func (e *Engine) take() []Change {
	out := e.out
	e.out = nil
	e.stats.Changes += uint64(len(out))
	return out
}

func (e *Engine) advance(now time.Time) {
	if now.After(e.now) {
		e.now = now
	}
	if !e.started || e.unarmed {
		e.started = true
		e.arm(now)
	}
	for len(e.timers) > 0 && !e.timers[0].at.After(now) {
		t := heap.Pop(&e.timers).(timer)
		in := t.inst
		if in.removed || !t.at.Equal(in.queued) {
			continue
		}
		in.queued = time.Time{}
		if in.deadline.IsZero() {
			continue
		}
		if !in.deadline.Equal(t.at) {
			// The deadline moved (later) since this entry was queued: requeue it so
			// timers still run in time order.
			e.push(in, in.deadline)
			continue
		}
		at := in.deadline
		e.onTimer(in, at)
		e.reschedule(in, at)
	}
}

// arm creates the instances of absence rules for their selected devices, timing from now.
func (e *Engine) arm(now time.Time) {
	e.unarmed = false
	for _, r := range e.rules {
		if r.rule.Form != FormAbsence || r.armed {
			continue
		}
		r.armed = true
		for i := range e.dir.Devices() {
			d := &e.dir.Devices()[i]
			if !r.c.sel.matchDevice(d) {
				continue
			}
			b := e.bind(r, d)
			if r.inst[b.key] != nil {
				continue
			}
			in := e.newInstance(r, b, d)
			in.lastSeen = now
			e.startAbsence(in, now)
			e.reschedule(in, now)
		}
	}
}

func (e *Engine) newInstance(r *rstate, b binding, d *site.Device) *instance {
	in := &instance{r: r, key: b.key, groupLabels: b.groupLabels}
	if r.c.byDevice {
		in.deviceID, in.dev = d.ID, d
	}
	r.inst[b.key] = in
	return in
}

// startAbsence sets the next absence check of a fresh (or just seen) instance.
func (e *Engine) startAbsence(in *instance, now time.Time) {
	a := in.r.c.absence
	if a.hasDeadline {
		if in.check.IsZero() {
			in.check = e.nextDaily(now, a.deadline)
		}
		return
	}
	in.check = now.Add(a.period)
}

// nextDaily is the first time strictly after t at minute-of-day m in the engine's zone.
func (e *Engine) nextDaily(t time.Time, m int) time.Time {
	lt := t.In(e.loc)
	y, mo, d := lt.Date()
	c := time.Date(y, mo, d, m/60, m%60, 0, 0, e.loc)
	if !c.After(t) {
		c = time.Date(y, mo, d+1, m/60, m%60, 0, 0, e.loc)
	}
	return c
}

// windowStart is the start of the absence window that ends at deadline d.
func (e *Engine) windowStart(d time.Time, a absence) time.Time {
	ld := d.In(e.loc)
	y, mo, day := ld.Date()
	if a.from > a.deadline || (a.from == a.deadline) {
		day--
	}
	return time.Date(y, mo, day, a.from/60, a.from%60, 0, 0, e.loc)
}

func (e *Engine) active(r *rstate, t time.Time) bool {
	if r.rule.Schedule == "" {
		return true
	}
	return e.scheds.Active(r.rule.Schedule, t)
}

// Process evaluates one event at engine time now (the daemon's clock when the event is
// handled; rule tests use the event's time). Timers due by now run first.
func (e *Engine) Process(now time.Time, ev event.Event) []Change {
	e.out = nil
	e.advance(now)
	e.stats.Events++
	ent := e.index[ev.DeviceID]
	var binds []binding
	if ent != nil {
		if l, ok := ent.byType[ev.Type]; ok {
			binds = l
		} else {
			binds = ent.other
		}
	} else {
		ent, binds = e.unknownDevice(&ev)
	}
	if len(binds) == 0 {
		return e.take()
	}
	e.env = runEnv{
		Site: e.box(ev.Site), Type: e.box(ev.Type), Kind: ent.kind, Source: e.box(ev.Source),
		Fields: ev.Fields, Device: ent.denv,
	}
	if ent.dev.Kind == "" {
		e.env.Kind = e.box(string(ev.Kind))
	}
	if e.time {
		e.env.Time = ev.Time().In(e.loc)
	}
	e.in = evalIn{ev: ev, dev: ent.dev, kind: string(ent.dev.Kind)}
	if ent.dev.Kind == "" {
		e.in.kind = string(ev.Kind)
	}
	for _, b := range binds {
		e.eventRule(now, &ev, ent.dev, b)
	}
	return e.take()
}

// unknownDevice is the slow path for an event from a device the directory lacks:
// only rules whose selector does not name devices, zones or labels can apply.
func (e *Engine) unknownDevice(ev *event.Event) (*devEntry, []binding) {
	d := &site.Device{ID: ev.DeviceID, Kind: ev.Kind}
	ent := &devEntry{dev: d, denv: e.deviceEnv(d), kind: e.box(string(d.Kind))}
	var out []binding
	for _, r := range e.rules {
		if r.c.sel.matchDevice(d) && (r.c.types == nil || r.c.types[ev.Type]) {
			out = append(out, e.bind(r, d))
		}
	}
	return ent, out
}

func (e *Engine) eval(p *vmProgram, fast fastExpr) bool {
	if p == nil {
		return true
	}
	e.stats.Evaluated++
	if fast != nil {
		return fast(&e.in)
	}
	out, err := e.vm.Run(p, &e.env)
	if err != nil {
		e.stats.EvalErrors++
		return false
	}
	b, _ := out.(bool)
	return b
}

type vmProgram = vm.Program

func (e *Engine) eventRule(now time.Time, ev *event.Event, dev *site.Device, b binding) {
	r := b.r
	c := r.c
	in := r.inst[b.key]
	switch r.rule.Form {
	case FormMatch:
		if in != nil && in.firing && c.resolve != nil && e.eval(c.resolve, c.resolveFast) {
			e.resolve(in, now, ev, dev, "resolved by a "+ev.Type+" event")
			return
		}
		if !e.eval(c.when, c.whenFast) || !e.active(r, now) {
			return
		}
		if in == nil {
			in = e.newInstance(r, b, dev)
		}
		in.lastSeen = now
		if !in.firing {
			e.fire(in, now, ev, dev, "", 0)
		} else if !isInitial(ev) {
			e.emitOccurrence(in, now, ev, dev)
		}
	case FormFor:
		if in != nil && in.holding && e.eval(c.resolve, c.resolveFast) {
			if in.firing {
				e.resolve(in, now, ev, dev, "resolved by a "+ev.Type+" event")
			} else {
				e.drop(in)
			}
			return
		}
		if !e.eval(c.when, c.whenFast) {
			return
		}
		if in == nil {
			in = e.newInstance(r, b, dev)
		}
		if !in.holding {
			in.holding, in.since, in.due = true, now, false
		}
		if !in.firing && now.Sub(in.since) >= c.forDur && e.active(r, now) {
			e.fire(in, now, ev, dev, "", 0)
		}
	case FormCount:
		if in != nil && in.firing && c.resolve != nil && e.eval(c.resolve, c.resolveFast) {
			e.resolve(in, now, ev, dev, "resolved by a "+ev.Type+" event")
			return
		}
		if !e.eval(c.when, c.whenFast) || !e.active(r, now) {
			return
		}
		if in == nil {
			in = e.newInstance(r, b, dev)
		}
		in.lastSeen = now
		if in.firing {
			break
		}
		in.prune(now, c.window)
		if len(in.hits) >= c.threshold {
			copy(in.hits, in.hits[1:])
			in.hits = in.hits[:len(in.hits)-1]
		}
		in.hits = append(in.hits, now)
		if len(in.hits) >= c.threshold {
			n := len(in.hits)
			in.hits = in.hits[:0]
			e.fire(in, now, ev, dev, "", n)
		}
	case FormAbsence:
		if !e.eval(c.when, c.whenFast) {
			return
		}
		if in == nil {
			in = e.newInstance(r, b, dev)
			e.startAbsence(in, now)
		}
		in.lastSeen = now
		if in.firing {
			e.resolve(in, now, ev, dev, "seen again: a "+ev.Type+" event")
			if in.removed {
				return
			}
		}
		if !c.absence.hasDeadline {
			in.check = now.Add(c.absence.period)
		}
	}
	if !in.removed {
		e.reschedule(in, now)
	}
}

func (in *instance) prune(now time.Time, window time.Duration) {
	i := 0
	for i < len(in.hits) && now.Sub(in.hits[i]) >= window {
		i++
	}
	if i > 0 {
		n := copy(in.hits, in.hits[i:])
		in.hits = in.hits[:n]
	}
}

// onTimer runs an instance's due timer at time at.
func (e *Engine) onTimer(in *instance, at time.Time) {
	r, c := in.r, in.r.c
	if in.firing && r.rule.Renotify > 0 && !at.Before(in.lastNotify.Add(r.rule.Renotify)) {
		in.lastNotify = at
		e.emit(in, at, nil, in.dev, true, true, "still firing", 0)
	}
	switch r.rule.Form {
	case FormMatch, FormCount:
		if in.firing && c.resolveAfter > 0 && !at.Before(in.lastSeen.Add(c.resolveAfter)) {
			e.resolve(in, at, nil, in.dev, fmt.Sprintf("no matching event for %v", c.resolveAfter))
			return
		}
		if r.rule.Form == FormCount && !in.firing {
			in.prune(at, c.window)
			if len(in.hits) == 0 {
				e.drop(in)
			}
		}
	case FormFor:
		if in.holding && !in.firing && !at.Before(in.since.Add(c.forDur)) {
			if e.active(r, at) {
				e.fire(in, at, nil, in.dev, fmt.Sprintf("condition held for %v", c.forDur), 0)
			} else {
				in.due = true
			}
		}
	case FormAbsence:
		if in.check.IsZero() || at.Before(in.check) {
			return
		}
		a := c.absence
		if a.hasDeadline {
			d := in.check
			in.check = e.nextDaily(d, a.deadline)
			if in.firing {
				e.resolveKeep(in, at, "a new period started")
			}
			start := e.windowStart(d, a)
			if e.active(r, d) && in.lastSeen.Before(start) {
				e.fire(in, at, nil, in.dev, fmt.Sprintf("nothing between %s and %s", start.In(e.loc).Format("15:04"), d.In(e.loc).Format("15:04")), 0)
			}
			return
		}
		if in.firing {
			in.check = time.Time{}
			return
		}
		if e.active(r, at) {
			in.check = time.Time{}
			e.fire(in, at, nil, in.dev, fmt.Sprintf("nothing for %v", at.Sub(in.lastSeen).Round(time.Second)), 0)
		} else {
			// Outside the schedule: look again a period later (at least a minute, so a
			// short period does not spin through a long night).
			in.check = at.Add(max(a.period, time.Minute))
		}
	}
}

// nextDeadline computes when the instance next needs a timer.
func (in *instance) nextDeadline() time.Time {
	r, c := in.r, in.r.c
	var d time.Time
	min := func(t time.Time) {
		if !t.IsZero() && (d.IsZero() || t.Before(d)) {
			d = t
		}
	}
	if in.firing && r.rule.Renotify > 0 {
		min(in.lastNotify.Add(r.rule.Renotify))
	}
	switch r.rule.Form {
	case FormMatch, FormCount:
		if in.firing && c.resolveAfter > 0 {
			min(in.lastSeen.Add(c.resolveAfter))
		}
		if !in.firing && len(in.hits) > 0 {
			min(in.hits[0].Add(c.window))
		}
	case FormFor:
		if in.holding && !in.firing && !in.due {
			min(in.since.Add(c.forDur))
		}
	case FormAbsence:
		min(in.check)
	}
	return d
}

func (e *Engine) reschedule(in *instance, now time.Time) {
	if in.removed {
		return
	}
	d := in.nextDeadline()
	if !d.IsZero() && !d.After(now) {
		// A deadline already passed (a for rule held long enough outside its schedule,
		// a restored snapshot): run it at the next tick rather than loop here.
		d = now.Add(time.Nanosecond)
	}
	in.deadline = d
	if d.IsZero() {
		return
	}
	if in.queued.IsZero() || d.Before(in.queued) {
		e.push(in, d)
	}
}

func (e *Engine) push(in *instance, at time.Time) {
	in.queued = at
	heap.Push(&e.timers, timer{at: at, inst: in})
	if len(e.timers) > 64 && len(e.timers) > 4*e.liveInstances() {
		e.compactTimers()
	}
}

func (e *Engine) liveInstances() int {
	n := 0
	for _, r := range e.rules {
		n += len(r.inst)
	}
	return n
}

func (e *Engine) compactTimers() {
	live := e.timers[:0]
	for _, t := range e.timers {
		if !t.inst.removed && t.at.Equal(t.inst.queued) {
			live = append(live, t)
		}
	}
	for i := len(live); i < len(e.timers); i++ {
		e.timers[i] = timer{}
	}
	e.timers = live
	heap.Init(&e.timers)
}

func (e *Engine) fire(in *instance, at time.Time, ev *event.Event, dev *site.Device, reason string, count int) {
	in.firing, in.firedAt, in.lastNotify = true, at, at
	e.emit(in, at, ev, dev, true, false, reason, count)
}

// resolve ends a firing instance and forgets it.
func (e *Engine) resolve(in *instance, at time.Time, ev *event.Event, dev *site.Device, reason string) {
	if in.firing {
		in.firing = false
		e.emit(in, at, ev, dev, false, false, reason, 0)
	}
	if in.r.rule.Form == FormAbsence {
		return // absence instances live on: they time the next silence
	}
	e.drop(in)
}

// resolveKeep ends a firing instance and keeps it.
func (e *Engine) resolveKeep(in *instance, at time.Time, reason string) {
	in.firing = false
	e.emit(in, at, nil, in.dev, false, false, reason, 0)
}

// emitOccurrence reports another matching event of a firing match instance.
func (e *Engine) emitOccurrence(in *instance, at time.Time, ev *event.Event, dev *site.Device) {
	e.emit(in, at, ev, dev, true, false, "", 0)
	e.out[len(e.out)-1].Occurrence = true
}

// isInitial reports whether ev is a level read when its input started (a button held
// at start): a restored firing instance takes it as no new occurrence.
func isInitial(ev *event.Event) bool {
	v, _ := ev.Fields["initial"].(bool)
	return v
}

// Reset re-arms one rule instance after a person reset its alarm (GB 50394: the alarm
// latched until then): the instance forgets that it fires, without a change, so the
// next matching event fires again. An absence instance keeps timing from now. It
// reports whether the instance existed.
func (e *Engine) Reset(now time.Time, rule, key string) bool {
	r := e.byName[rule]
	if r == nil {
		return false
	}
	in := r.inst[key]
	if in == nil {
		return false
	}
	if r.rule.Form == FormAbsence {
		in.firing = false
		in.lastSeen = now
		if !r.c.absence.hasDeadline {
			in.check = now.Add(r.c.absence.period)
		}
		e.reschedule(in, now)
		return true
	}
	e.drop(in)
	return true
}

// Firing lists the firing instances as rule name → keys (to reconcile with the open
// alarms after a restart).
func (e *Engine) Firing() map[string][]string {
	out := map[string][]string{}
	for _, r := range e.rules {
		for k, in := range r.inst {
			if in.firing {
				out[r.rule.Name] = append(out[r.rule.Name], k)
			}
		}
	}
	return out
}

func (e *Engine) drop(in *instance) {
	in.removed = true
	delete(in.r.inst, in.key)
}

func (e *Engine) emit(in *instance, at time.Time, ev *event.Event, dev *site.Device, firing, renotify bool, reason string, count int) {
	r := in.r.rule
	ch := Change{
		Rule: r.Name, Key: in.key, Firing: firing, Renotify: renotify, At: at,
		Severity: r.Severity, DeviceID: in.deviceID, Reason: reason, Latch: r.Latch,
	}
	labels := make(map[string]string, len(r.Labels)+4)
	if in.dev != nil {
		for k, v := range in.dev.Labels {
			labels[k] = v
		}
	}
	for k, v := range r.Labels {
		labels[k] = v
	}
	for k, v := range in.groupLabels {
		labels[k] = v
	}
	ch.Labels = labels
	if ev != nil {
		c := *ev
		ch.Event = &c
	}
	if dev == nil {
		dev = in.dev
	}
	data := MessageData{
		Rule: r.Name, Description: r.Description, Severity: r.Severity, Key: in.key,
		Firing: firing, Reason: reason, At: at.In(e.loc), Labels: labels, Count: count,
		Fields: map[string]any{},
	}
	if dev != nil {
		data.Device = MessageDevice{ID: dev.ID, Name: dev.Name, Kind: string(dev.Kind), Zone: dev.Zone, Location: dev.Location, Labels: dev.Labels}
		if e.dir != nil && e.dir.Site != nil {
			if z := e.dir.Site.Zone(dev.Zone); z != nil {
				data.Device.ZoneName = z.Name
			}
		}
	}
	if ev != nil {
		data.Type = ev.Type
		if ev.Fields != nil {
			data.Fields = ev.Fields
		}
	}
	switch r.Form {
	case FormFor:
		data.For = in.r.c.forDur
	case FormAbsence:
		data.For = at.Sub(in.lastSeen)
	}
	var b strings.Builder
	if err := in.r.c.msg.Execute(&b, &data); err != nil {
		b.Reset()
		fmt.Fprintf(&b, "%s (%s): message template failed: %v", r.Name, in.key, err)
	}
	ch.Message = b.String()
	e.out = append(e.out, ch)
}

// timer is one entry of the engine's timer heap.
type timer struct {
	at   time.Time
	inst *instance
}

type timerHeap []timer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	if h[i].inst.r.idx != h[j].inst.r.idx {
		return h[i].inst.r.idx < h[j].inst.r.idx
	}
	return h[i].inst.key < h[j].inst.key
}
func (h timerHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *timerHeap) Push(x any)   { *h = append(*h, x.(timer)) }
func (h *timerHeap) Pop() any {
	old := *h
	n := len(old)
	x := old[n-1]
	old[n-1] = timer{}
	*h = old[:n-1]
	return x
}
