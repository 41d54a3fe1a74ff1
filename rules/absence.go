package rules

import (
	"fmt"
	"time"

	"github.com/campusguard/campusguard/event"
	"github.com/campusguard/campusguard/site"
)

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

// absenceEvent applies an event to an absence rule: a matching event ends the silence
// (see matchEvent).
func (e *Engine) absenceEvent(now time.Time, ev *event.Event, dev *site.Device, b binding) *instance {
	r, c := b.r, b.r.c
	in := r.inst[b.key]
	if !e.eval(c.when, c.whenFast) {
		return nil
	}
	if in == nil {
		in = e.newInstance(r, b, dev)
		e.startAbsence(in, now)
	}
	in.lastSeen = now
	if in.firing {
		e.resolve(in, now, ev, dev, "seen again: a "+ev.Type+" event")
		if in.removed {
			return nil
		}
	}
	if !c.absence.hasDeadline {
		in.check = now.Add(c.absence.period)
	}
	return in
}

// absenceTimer runs an absence instance's due check at time at: a period or a daily
// window passed in silence fires.
func (e *Engine) absenceTimer(in *instance, at time.Time) {
	r := in.r
	if in.check.IsZero() || at.Before(in.check) {
		return
	}
	a := r.c.absence
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
