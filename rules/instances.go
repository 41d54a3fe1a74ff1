package rules

import (
	"fmt"
	"strings"
	"time"

	"github.com/campusguard/campusguard/event"
	"github.com/campusguard/campusguard/site"
)

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

func (e *Engine) newInstance(r *rstate, b binding, d *site.Device) *instance {
	in := &instance{r: r, key: b.key, groupLabels: b.groupLabels}
	if r.c.byDevice {
		in.deviceID, in.dev = d.ID, d
	}
	r.inst[b.key] = in
	return in
}

// eventRule applies one event to the rule of binding b.
func (e *Engine) eventRule(now time.Time, ev *event.Event, dev *site.Device, b binding) {
	var in *instance
	switch b.r.rule.Form {
	case FormMatch:
		in = e.matchEvent(now, ev, dev, b)
	case FormFor:
		in = e.forEvent(now, ev, dev, b)
	case FormCount:
		in = e.countEvent(now, ev, dev, b)
	case FormAbsence:
		in = e.absenceEvent(now, ev, dev, b)
	}
	if in != nil && !in.removed {
		e.reschedule(in, now)
	}
}

// matchEvent applies an event to a match rule; it returns the instance to reschedule
// (nil: none).
func (e *Engine) matchEvent(now time.Time, ev *event.Event, dev *site.Device, b binding) *instance {
	in := e.seenEvent(now, ev, dev, b)
	if in == nil {
		return nil
	}
	if !in.firing {
		e.fire(in, now, ev, dev, "", 0)
	} else if !isInitial(ev) {
		e.emitOccurrence(in, now, ev, dev)
	}
	return in
}

// seenEvent is where match and count rules start: an event that meets the resolve
// condition of a firing instance resolves it (nil); one that does not meet the when
// condition, or comes while the rule's schedule is inactive, changes nothing (nil);
// else the instance, created if need be, has seen it at now.
func (e *Engine) seenEvent(now time.Time, ev *event.Event, dev *site.Device, b binding) *instance {
	r, c := b.r, b.r.c
	in := r.inst[b.key]
	if in != nil && in.firing && c.resolve != nil && e.eval(c.resolve, c.resolveFast) {
		e.resolve(in, now, ev, dev, "resolved by a "+ev.Type+" event")
		return nil
	}
	if !e.eval(c.when, c.whenFast) || !e.active(r, now) {
		return nil
	}
	if in == nil {
		in = e.newInstance(r, b, dev)
	}
	in.lastSeen = now
	return in
}

// forEvent applies an event to a for rule (see matchEvent).
func (e *Engine) forEvent(now time.Time, ev *event.Event, dev *site.Device, b binding) *instance {
	r, c := b.r, b.r.c
	in := r.inst[b.key]
	if in != nil && in.holding && e.eval(c.resolve, c.resolveFast) {
		if in.firing {
			e.resolve(in, now, ev, dev, "resolved by a "+ev.Type+" event")
		} else {
			e.drop(in)
		}
		return nil
	}
	if !e.eval(c.when, c.whenFast) {
		return nil
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
	return in
}

// countEvent applies an event to a count rule (see matchEvent).
func (e *Engine) countEvent(now time.Time, ev *event.Event, dev *site.Device, b binding) *instance {
	in := e.seenEvent(now, ev, dev, b)
	if in == nil || in.firing {
		return in
	}
	c := b.r.c
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
	return in
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
		if e.dir != nil {
			if z := e.dir.Zone(dev.Zone); z != nil {
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
