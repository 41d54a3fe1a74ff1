package patrol

import (
	"time"

	"github.com/campusguard/campusguard/event"
)

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
