package patrol

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/campusguard/campusguard/event"
)

// Options configures a Tracker.
type Options struct {
	Site     string         // site id for the events' Site
	Location *time.Location // the site's time zone (nil: UTC)
	Days     Days           // named schedules; required when a plan names one
}

// backlog bounds how far back slots are judged after a restart (patrol_not_started
// for slots that passed while the daemon was down).
const backlog = 24 * time.Hour

// driftEvery is how often a drifting reader is reported at most.
const driftEvery = time.Hour

// Scan outcomes (LastScan), for metrics.
const (
	ScanAccepted          = "accepted"
	ScanDuplicate         = "duplicate"
	ScanUnknownCard       = "unknown_card"
	ScanUnknownCheckpoint = "unknown_checkpoint"
	ScanUnplanned         = "unplanned" // no run or start window wants it
	ScanRepeat            = "repeat"    // the checkpoint was already scanned in the guard's run
	ScanIgnored           = "ignored"   // not a patrol scan
)

// Tracker turns checkpoint scans into patrol runs. It is pure: the time comes in as a
// parameter and the events to publish come out. It is not safe for concurrent use.
type Tracker struct {
	c    *compiled
	site string
	loc  *time.Location
	days Days

	runs     []*run               // in progress, in start order
	used     map[string]time.Time // slot id -> forget after (slots that have a run or were judged)
	cursor   time.Time            // slots whose window ended at or before cursor are judged
	lastScan map[string]time.Time // card|checkpoint -> last accepted scan
	drift    map[string]time.Time // reader -> last drift report
	results  []RunResult          // finished, not drained
	areas    map[string]areaDay   // area|day -> rounds done, warned, judged (compliance.go)
	since    time.Time            // when the tracker first looked: days before it are not judged
	lastOut  string
}

// New returns a tracker for cfg (validated again here; defaults applied).
func New(cfg Config, opts Options) (*Tracker, error) {
	c, err := compile(cfg)
	if err != nil {
		return nil, err
	}
	if err := checkDays(c, opts.Days); err != nil {
		return nil, err
	}
	loc := opts.Location
	if loc == nil {
		loc = time.UTC
	}
	return &Tracker{
		c: c, site: opts.Site, loc: loc, days: opts.Days,
		used: map[string]time.Time{}, lastScan: map[string]time.Time{}, drift: map[string]time.Time{},
		areas: map[string]areaDay{},
	}, nil
}

func checkDays(c *compiled, d Days) error {
	if d != nil {
		return nil
	}
	for _, p := range c.plans {
		if p.Schedule != "" {
			return fmt.Errorf("patrol plan %s: schedule %q needs the site's schedules", p.ID, p.Schedule)
		}
	}
	return nil
}

// Apply swaps in a new config. Runs whose plan is unchanged (same route, order,
// legs, tolerance and duration) continue; the others are dropped and their ids
// returned.
func (t *Tracker) Apply(cfg Config) (dropped []string, err error) {
	c, err := compile(cfg)
	if err != nil {
		return nil, err
	}
	if err := checkDays(c, t.days); err != nil {
		return nil, err
	}
	t.c = c
	keep := t.runs[:0]
	for _, r := range t.runs {
		if p := c.plan(r.Plan); p != nil && p.hash == r.Hash {
			keep = append(keep, r)
			continue
		}
		dropped = append(dropped, r.ID)
	}
	t.runs = keep
	return dropped, nil
}

// Config returns the tracker's config (defaults applied).
func (t *Tracker) Config() Config { return t.c.cfg }

// LastScan is the outcome of the last Scan call (ScanAccepted, ScanDuplicate...).
func (t *Tracker) LastScan() string { return t.lastOut }

// Scan processes one event from the bus. Only Kind patrol, Type scan events are
// scans; others are ignored. now is the gateway's clock; the scan's time is ev.Time()
// (never later than now).
func (t *Tracker) Scan(now time.Time, ev event.Event) []event.Event {
	t.lastOut = ScanIgnored
	if ev.Kind != event.KindPatrol || ev.Type != event.TypeScan || ev.Source == Source {
		return nil
	}
	at := ev.Time()
	if at.IsZero() || at.After(now) {
		at = now
	}
	out := t.advance(at, now)
	out = append(out, t.checkDrift(ev, now)...)

	cardRaw := ev.Fields.String("card")
	card := norm(cardRaw)
	guard := t.c.cards[card]
	cpRaw := ev.Fields.String("checkpoint")
	cpID := t.c.tags[norm(cpRaw)]
	if cpID == "" {
		cpID = t.c.readers[ev.DeviceID]
	}
	if guard == "" {
		t.lastOut = ScanUnknownCard
		f := event.Fields{"card": cardRaw, "reader": ev.DeviceID}
		if cpID != "" {
			t.checkpointFields(f, cpID)
		} else if cpRaw != "" {
			f["checkpoint"] = cpRaw
		}
		out = append(out, t.newEvent(TypeUnknownCard, ev.DeviceID, at, now, f))
	}
	if cpID == "" {
		t.lastOut = ScanUnknownCheckpoint
		f := event.Fields{"checkpoint": cpRaw, "reader": ev.DeviceID}
		t.guardFields(f, guard, cardRaw)
		out = append(out, t.newEvent(TypeUnknownCheckpoint, ev.DeviceID, at, now, f))
	}
	if guard == "" || cpID == "" {
		return out
	}

	key := card + "|" + cpID
	if last, ok := t.lastScan[key]; ok && absDur(at.Sub(last)) < t.c.cfg.DuplicateWindow {
		t.lastOut = ScanDuplicate
		return out
	}
	t.lastScan[key] = at

	sc := scan{at: at, now: now, guard: guard, card: card, reader: ev.DeviceID, checkpoint: cpID}
	r, i := t.attribute(sc)
	if r == nil {
		t.lastOut = ScanUnplanned
		if t.repeat(sc) {
			t.lastOut = ScanRepeat
		}
		return out
	}
	t.lastOut = ScanAccepted
	out = append(out, t.apply(r, i, sc)...)
	return append(out, t.judge(now)...)
}

type scan struct {
	at, now                         time.Time
	guard, card, reader, checkpoint string
}

// attribute finds the run a scan belongs to, starting one when a slot is open: first
// a run of the same guard that still wants the checkpoint, then a plan's open start
// window, then any run that still wants it (a second guard joins).
func (t *Tracker) attribute(sc scan) (*run, int) {
	for _, r := range t.runs {
		if i := r.stop(sc.checkpoint); i >= 0 && !r.Stops[i].visited() && r.hasGuard(sc.guard) && !sc.at.Before(r.Started) {
			return r, i
		}
	}
	var best *slot
	for _, p := range t.c.plans {
		if _, ok := p.stopIndex[sc.checkpoint]; !ok {
			continue
		}
		for _, sl := range p.slots(sc.at.Add(-p.startTol), sc.at.Add(p.startEarly+time.Second), t.loc, t.days) {
			if !sl.contains(sc.at) {
				continue
			}
			if _, used := t.used[sl.id()]; used {
				continue
			}
			if best == nil || absDur(sl.at.Sub(sc.at)) < absDur(best.at.Sub(sc.at)) {
				s := sl
				best = &s
			}
		}
		if best != nil {
			break // plans in config order: the first plan with an open slot takes the scan
		}
	}
	if best != nil {
		r := newRun(best.plan, *best, sc.at)
		t.runs = append(t.runs, r)
		t.used[best.id()] = best.windowEnd().Add(time.Hour)
		return r, r.stop(sc.checkpoint)
	}
	for _, r := range t.runs {
		if i := r.stop(sc.checkpoint); i >= 0 && !r.Stops[i].visited() && !sc.at.Before(r.Started) {
			return r, i
		}
	}
	return nil, -1
}

func (t *Tracker) repeat(sc scan) bool {
	for _, r := range t.runs {
		if i := r.stop(sc.checkpoint); i >= 0 && r.Stops[i].visited() && r.hasGuard(sc.guard) {
			return true
		}
	}
	return false
}

// apply records the scan of stop i of r and returns the events.
func (t *Tracker) apply(r *run, i int, sc scan) []event.Event {
	var out []event.Event
	first := len(r.Guards) == 0
	if !r.hasGuard(sc.guard) {
		r.Guards = append(r.Guards, sc.guard)
	}
	if first {
		f := t.runFields(r)
		t.checkpointFields(f, sc.checkpoint)
		t.guardFields(f, sc.guard, sc.card)
		f["reader"] = sc.reader
		f["started"] = r.Started.In(t.loc)
		f["delay_s"] = int64(r.Started.Sub(r.Scheduled) / time.Second)
		f["deadline"] = r.deadline().In(t.loc)
		out = append(out, t.newEvent(TypePatrolStarted, sc.reader, sc.at, sc.now, f))
	}
	st := &r.Stops[i]
	status := StatusOK
	var expected time.Time
	expectedCP := ""
	if r.Ordered {
		expected = r.expected()[i]
		switch {
		case i != r.Next:
			status = StatusOutOfOrder
			if r.Next < len(r.Stops) {
				expectedCP = r.Stops[r.Next].Checkpoint
			}
		case i > 0 && st.Leg > 0 && sc.at.After(expected.Add(r.Tolerance)):
			status = StatusLate
		case i > 0 && st.Leg > 0 && sc.at.Before(expected.Add(-r.Tolerance)):
			status = StatusEarly
		}
		if i == 0 || st.Leg > 0 {
			st.Expected = expected
			st.DelayS = int64(sc.at.Sub(expected) / time.Second)
		}
	}
	st.Status, st.Scanned, st.Guard, st.Card, st.Reader = status, sc.at, sc.guard, sc.card, sc.reader
	if r.Ordered {
		if i >= r.Next {
			r.Next = i + 1
		}
		r.advanceNext()
	}
	f := t.runFields(r)
	t.checkpointFields(f, sc.checkpoint)
	t.guardFields(f, sc.guard, sc.card)
	f["reader"] = sc.reader
	f["scanned"] = sc.at.In(t.loc)
	f["seq"] = int64(i + 1)
	if !st.Expected.IsZero() {
		f["expected"] = st.Expected.In(t.loc)
		f["delay_s"] = st.DelayS
		f["tolerance_s"] = int64(r.Tolerance / time.Second)
	}
	if expectedCP != "" {
		f["expected_checkpoint"] = expectedCP
	}
	out = append(out, t.newEvent("checkpoint_"+status, sc.reader, sc.at, sc.now, f))
	if r.complete() {
		out = append(out, t.finish(r, RunCompleted, sc.at, sc.now, sc.reader)...)
	}
	return out
}

// finish closes r: the unvisited stops are missed; the run is completed or incomplete.
func (t *Tracker) finish(r *run, status string, at, now time.Time, device string) []event.Event {
	var out []event.Event
	exp := r.expected()
	var missed []string
	for i := range r.Stops {
		st := &r.Stops[i]
		if st.visited() {
			continue
		}
		st.Status = StatusMissed
		if r.Ordered && (i == 0 || st.Leg > 0) {
			st.Expected = exp[i]
		}
		missed = append(missed, st.Checkpoint)
		f := t.runFields(r)
		t.checkpointFields(f, st.Checkpoint)
		f["seq"] = int64(i + 1)
		f["deadline"] = at.In(t.loc)
		if !st.Expected.IsZero() {
			f["expected"] = st.Expected.In(t.loc)
		}
		t.runGuardFields(f, r)
		out = append(out, t.newEvent(TypeCheckpointMissed, PlanDevice(r.Plan), at, now, f))
	}
	res := t.result(r, status, at)
	t.results = append(t.results, res)
	if status == RunCompleted {
		t.countRound(r)
	}
	f := t.runFields(r)
	t.runGuardFields(f, r)
	c := res.Counts()
	f["started"] = r.Started.In(t.loc)
	f["checkpoints"] = int64(len(r.Stops))
	f["visited"] = int64(len(r.Stops) - len(missed))
	f["ok"] = int64(c[StatusOK])
	f["late"] = int64(c[StatusLate])
	f["early"] = int64(c[StatusEarly])
	f["out_of_order"] = int64(c[StatusOutOfOrder])
	f["missed"] = int64(len(missed))
	f["duration_s"] = int64(at.Sub(r.Started) / time.Second)
	if len(missed) > 0 {
		f["missed_checkpoints"] = joinComma(missed)
	}
	typ := TypePatrolCompleted
	if status != RunCompleted {
		typ = TypePatrolIncomplete
	}
	out = append(out, t.newEvent(typ, device, at, now, f))
	for k, x := range t.runs {
		if x == r {
			t.runs = append(t.runs[:k], t.runs[k+1:]...)
			break
		}
	}
	return out
}

func (t *Tracker) runGuardFields(f event.Fields, r *run) {
	if len(r.Guards) == 0 {
		return
	}
	t.guardFields(f, r.Guards[0], "")
	if len(r.Guards) > 1 {
		f["guards"] = joinComma(r.Guards)
	}
}

// Tick closes the runs whose deadline passed and reports the slots nobody started.
func (t *Tracker) Tick(now time.Time) []event.Event {
	return t.advance(now, now)
}

// advance judges everything due at or before at (runs' deadlines, start windows).
func (t *Tracker) advance(at, now time.Time) []event.Event {
	if t.cursor.IsZero() {
		t.cursor = at
	}
	if t.since.IsZero() {
		t.since = at
	}
	type due struct {
		at  time.Time
		run *run
		sl  slot
	}
	var dues []due
	for _, r := range t.runs {
		if d := r.deadline(); !d.After(at) {
			dues = append(dues, due{at: d, run: r})
		}
	}
	if at.After(t.cursor) {
		from := t.cursor
		if min := at.Add(-backlog); from.Before(min) {
			from = min
		}
		for _, p := range t.c.plans {
			// Slots whose window ends in (from, at].
			for _, sl := range p.slots(from.Add(-p.startTol), at.Add(-p.startTol).Add(time.Nanosecond), t.loc, t.days) {
				we := sl.windowEnd()
				if !we.After(from) || we.After(at) {
					continue
				}
				if _, used := t.used[sl.id()]; used {
					continue
				}
				dues = append(dues, due{at: we, sl: sl})
			}
		}
		t.cursor = at
	}
	sort.SliceStable(dues, func(i, j int) bool { return dues[i].at.Before(dues[j].at) })
	var out []event.Event
	for _, d := range dues {
		if d.run != nil {
			out = append(out, t.finish(d.run, RunIncomplete, d.at, now, PlanDevice(d.run.Plan))...)
			continue
		}
		out = append(out, t.notStarted(d.sl, d.at, now))
	}
	t.prune(at)
	t.pruneAreas(at)
	return append(out, t.judge(now)...)
}

func (t *Tracker) notStarted(sl slot, at, now time.Time) event.Event {
	t.used[sl.id()] = at.Add(time.Hour)
	r := newRun(sl.plan, sl, time.Time{})
	for i := range r.Stops {
		r.Stops[i].Status = StatusMissed
	}
	t.results = append(t.results, t.result(r, RunNotStarted, at))
	f := t.runFields(r)
	f["deadline"] = at.In(t.loc)
	f["checkpoints"] = int64(len(r.Stops))
	f["start_tolerance_s"] = int64(sl.plan.startTol / time.Second)
	return t.newEvent(TypePatrolNotStarted, PlanDevice(sl.plan.ID), at, now, f)
}

func (t *Tracker) prune(now time.Time) {
	for k, v := range t.used {
		if v.Before(now) {
			delete(t.used, k)
		}
	}
	for k, v := range t.lastScan {
		if now.Sub(v) > t.c.cfg.DuplicateWindow {
			delete(t.lastScan, k)
		}
	}
	for k, v := range t.drift {
		if now.Sub(v) > driftEvery {
			delete(t.drift, k)
		}
	}
}

func (t *Tracker) checkDrift(ev event.Event, now time.Time) []event.Event {
	if ev.DeviceTime.IsZero() || ev.ReceivedAt.IsZero() || t.c.cfg.ClockDrift <= 0 {
		return nil
	}
	d := ev.DeviceTime.Sub(ev.ReceivedAt)
	if absDur(d) <= t.c.cfg.ClockDrift {
		return nil
	}
	if last, ok := t.drift[ev.DeviceID]; ok && now.Sub(last) < driftEvery {
		return nil
	}
	t.drift[ev.DeviceID] = now
	f := event.Fields{
		"reader":      ev.DeviceID,
		"drift_s":     d.Seconds(),
		"device_time": ev.DeviceTime.In(t.loc),
		"received_at": ev.ReceivedAt.In(t.loc),
		"limit_s":     t.c.cfg.ClockDrift.Seconds(),
	}
	return []event.Event{t.newEvent(TypeReaderClockDrift, ev.DeviceID, time.Time{}, now, f)}
}

// NextDeadline is when Tick must run next: the earliest run deadline or end of a
// start window. ok is false when there is nothing to wait for.
func (t *Tracker) NextDeadline() (time.Time, bool) {
	var next time.Time
	for _, r := range t.runs {
		if d := r.deadline(); next.IsZero() || d.Before(next) {
			next = d
		}
	}
	if len(t.c.plans) == 0 {
		return next, !next.IsZero()
	}
	from := t.cursor
	if from.IsZero() {
		return next, !next.IsZero() // the first Tick sets the cursor
	}
	for _, p := range t.c.plans {
		for _, sl := range p.slots(from.Add(-p.startTol), from.Add(8*24*time.Hour), t.loc, t.days) {
			we := sl.windowEnd()
			if !we.After(from) {
				continue
			}
			if _, used := t.used[sl.id()]; used {
				continue
			}
			if next.IsZero() || we.Before(next) {
				next = we
			}
			break
		}
	}
	if next.IsZero() {
		next = from.Add(24 * time.Hour) // no slot within a week: look again tomorrow
	}
	return next, true
}

// DrainResults returns the runs finished since the last call.
func (t *Tracker) DrainResults() []RunResult {
	out := t.results
	t.results = nil
	return out
}

// Active returns a snapshot of the runs in progress.
func (t *Tracker) Active() []RunResult {
	out := make([]RunResult, 0, len(t.runs))
	for _, r := range t.runs {
		out = append(out, t.result(r, RunInProgress, time.Time{}))
	}
	return out
}

// result builds the report record of r.
func (t *Tracker) result(r *run, status string, ended time.Time) RunResult {
	res := RunResult{
		Run: r.ID, Day: r.Day, Plan: r.Plan, Route: r.Route, Ordered: r.Ordered,
		Scheduled: r.Scheduled.In(t.loc), Status: status, Areas: t.c.areasOf(r.Route),
	}
	if !r.Started.IsZero() {
		res.Started = r.Started.In(t.loc)
	}
	if !ended.IsZero() {
		res.Ended = ended.In(t.loc)
	}
	if p := t.c.plan(r.Plan); p != nil {
		res.PlanName = p.Name
	}
	if rt := t.c.routes[r.Route]; rt != nil {
		res.RouteName = rt.Name
	}
	for _, g := range r.Guards {
		ref := GuardRef{ID: g}
		if x := t.c.guards[g]; x != nil {
			ref.Name = x.Name
		}
		res.Guards = append(res.Guards, ref)
	}
	for _, st := range r.Stops {
		cr := CheckpointResult{
			Checkpoint: st.Checkpoint, Status: st.Status, DelayS: st.DelayS,
			Guard: st.Guard, Card: st.Card, Reader: st.Reader,
		}
		if !st.Expected.IsZero() {
			cr.Expected = st.Expected.In(t.loc)
		}
		if !st.Scanned.IsZero() {
			cr.Scanned = st.Scanned.In(t.loc)
		}
		if cp := t.c.checkpoints[st.Checkpoint]; cp != nil {
			cr.Name, cr.Location, cr.Zone = cp.Name, cp.Location, cp.Zone
		}
		if g := t.c.guards[st.Guard]; g != nil {
			cr.GuardName = g.Name
		}
		res.Checkpoints = append(res.Checkpoints, cr)
	}
	return res
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

func joinComma(s []string) string { return strings.Join(s, ",") }
