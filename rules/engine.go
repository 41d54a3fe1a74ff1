package rules

import (
	"strings"
	"time"

	"github.com/expr-lang/expr/vm"

	"github.com/campusguard/campusguard/event"
	"github.com/campusguard/campusguard/rules/fastexpr"
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
	// compactAt is the heap size at which push next counts live instances (see push).
	compactAt int

	env     runEnv
	in      fastexpr.In    // the event as fast expressions read it
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
	e.in = fastexpr.In{Event: ev, Device: ent.dev, Kind: string(ent.dev.Kind)}
	if ent.dev.Kind == "" {
		e.in.Kind = string(ev.Kind)
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

func (e *Engine) eval(p *vmProgram, fast fastexpr.Expr) bool {
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
