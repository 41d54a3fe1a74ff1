package patrol

import (
	"sort"
	"time"

	"github.com/campusguard/campusguard/event"
)

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
