package rules

import (
	"container/heap"
	"fmt"
	"time"
)

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
		e.absenceTimer(in, at)
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
	// Stale timers (of instances rescheduled or dropped) are compacted away once they
	// outnumber the live instances four to one. Counting those walks every rule, so it
	// is done only when the heap has doubled since the last count: a push stays O(log n)
	// in timers, not O(rules).
	if n := len(e.timers); n > 64 && n >= e.compactAt {
		if n > 4*e.liveInstances() {
			e.compactTimers()
		}
		e.compactAt = 2 * len(e.timers)
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

func (h *timerHeap) Push(x any) { *h = append(*h, x.(timer)) }

func (h *timerHeap) Pop() any {
	old := *h
	n := len(old)
	x := old[n-1]
	old[n-1] = timer{}
	*h = old[:n-1]
	return x
}
