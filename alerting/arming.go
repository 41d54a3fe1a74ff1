package alerting

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/campusguard/campusguard/cfgerr"
	"github.com/campusguard/campusguard/event"
)

// Arming defaults.
const (
	DefaultMaxOverride = 12 * time.Hour   // longest operator override
	DefaultGuardMax    = 4 * time.Hour    // longest guard override (arm, or delay an arming)
	DefaultDelayMax    = time.Hour        // longest a guard may delay a zone's scheduled arming
	DefaultRemindAfter = 10 * time.Minute // a zone that should be armed and is not, this long: reminder
	ArmingCheckEvery   = 30 * time.Second // how often RunArming looks at the schedules
	// ArmingReminderRule is the rule name of the built-in reminder alarm: a zone its
	// schedule arms is disarmed (an override) for longer than remind_after.
	ArmingReminderRule = "arming-reminder"
	// ByScheduleName is who a schedule's own arming and disarming is journaled by.
	ByScheduleName = "schedule"
	armingStateKey = "alerting/arming"
)

// Arming errors.
var (
	ErrPanicZone   = errors.New("a panic zone is never armed or disarmed (GB 50394: emergency alarms are active 24 hours)")
	ErrNotAllowed  = errors.New("not allowed")
	ErrNoReason    = errors.New("an override needs a reason")
	ErrTooLong     = errors.New("override longer than allowed")
	ErrNoScheduled = errors.New("the zone has no arming schedule to delay")
)

// ArmingConfig arms and disarms zones by the school calendar (alerting.arming).
type ArmingConfig struct {
	// Zones are the zones armed by a schedule; zones not listed keep the state an
	// operator last set (armed unless disarmed).
	Zones []ZoneSchedule `mapstructure:"zones"`
	// MaxOverride bounds an operator's override (default 12h).
	MaxOverride time.Duration `mapstructure:"max_override"`
	// GuardMax bounds a guard's override (default 4h).
	GuardMax time.Duration `mapstructure:"guard_max"`
	// RemindAfter: a zone its schedule arms that stays disarmed this long raises the
	// arming-reminder alarm (major, class other) until it is armed (default 10m).
	RemindAfter time.Duration `mapstructure:"remind_after"`
}

// ZoneSchedule arms one zone while a schedule is active.
type ZoneSchedule struct {
	Zone string `mapstructure:"zone"`
	// Armed is the schedule (rules' schedules: nights, weekends, holidays, with the
	// calendar's make-up days) while which the zone is armed; outside it the zone is
	// disarmed (school hours).
	Armed string `mapstructure:"armed"`
	// DelayMax is how long a guard may delay the zone's arming ("arm at 18:00 unless a
	// guard delays it"; default 1h).
	DelayMax time.Duration `mapstructure:"delay_max"`
}

func (c *ArmingConfig) setDefaults() {
	if c.MaxOverride == 0 {
		c.MaxOverride = DefaultMaxOverride
	}
	if c.GuardMax == 0 {
		c.GuardMax = DefaultGuardMax
	}
	if c.RemindAfter == 0 {
		c.RemindAfter = DefaultRemindAfter
	}
	for i := range c.Zones {
		if c.Zones[i].DelayMax == 0 {
			c.Zones[i].DelayMax = DefaultDelayMax
		}
	}
}

func (c *ArmingConfig) validate(errs *cfgerr.List) {
	if c.MaxOverride < 0 || c.MaxOverride > 7*24*time.Hour {
		errs.Add("arming.max_override", "%s: want a positive duration of at most 7 days", c.MaxOverride)
	}
	if c.GuardMax < 0 || c.GuardMax > c.MaxOverride {
		errs.Add("arming.guard_max", "%s: want a positive duration no longer than max_override", c.GuardMax)
	}
	if c.RemindAfter < 0 {
		errs.Add("arming.remind_after", "must not be negative")
	}
	seen := map[string]bool{}
	for i, z := range c.Zones {
		key := cfgerr.Index("arming.zones", i)
		switch {
		case z.Zone == "":
			errs.Add(key+".zone", "is required")
		case seen[z.Zone]:
			errs.Add(key+".zone", "zone %q is listed twice", z.Zone)
		}
		seen[z.Zone] = true
		if z.Armed == "" {
			errs.Add(key+".armed", "names no schedule (the zone is armed while it is active)")
		}
		if z.DelayMax < 0 || z.DelayMax > c.GuardMax {
			errs.Add(key+".delay_max", "%s: want a positive duration no longer than guard_max (%s)", z.DelayMax, c.GuardMax)
		}
	}
}

// CheckArming records, for `campusguard check`, arming zones the site does not have
// or that hold only panic buttons, and schedules the rules do not define. Keys are
// relative to the alerting section; nil arguments skip their check.
func (c *Config) CheckArming(zoneKinds func(zone string) ([]event.Kind, bool), hasSchedule func(string) bool, errs *cfgerr.List) {
	for i, z := range c.Arming.Zones {
		key := cfgerr.Index("arming.zones", i)
		if zoneKinds != nil {
			kinds, ok := zoneKinds(z.Zone)
			switch {
			case !ok:
				errs.Add(key+".zone", "unknown zone %q", z.Zone)
			case panicOnly(kinds):
				errs.Add(key+".zone", "zone %q holds only panic buttons: %v", z.Zone, ErrPanicZone)
			}
		}
		if hasSchedule != nil && z.Armed != "" && !hasSchedule(z.Armed) {
			errs.Add(key+".armed", "unknown schedule %q", z.Armed)
		}
	}
}

func panicOnly(kinds []event.Kind) bool {
	return len(kinds) > 0 && !slices.ContainsFunc(kinds, func(k event.Kind) bool { return k != event.KindPanic })
}

// Override is a person's arming change of a zone for a bounded time.
type Override struct {
	Zone   string    `json:"zone"`
	Armed  bool      `json:"armed"`
	By     string    `json:"by"`
	Role   string    `json:"role,omitempty"` // guard or operator
	Reason string    `json:"reason,omitempty"`
	At     time.Time `json:"at"`
	Until  time.Time `json:"until"`
	Delay  bool      `json:"delay,omitempty"` // a guard delaying the scheduled arming
}

// ArmRequest asks for an override. For 0 means until the zone's schedule next
// changes (at most the role's bound); a zone without a schedule then keeps the state
// until someone changes it (the operator's Arm and Disarm).
type ArmRequest struct {
	Zone   string
	Armed  bool
	By     string
	Guard  bool // a guard: may arm, and delay a scheduled arming by at most delay_max
	For    time.Duration
	Reason string
	Delay  bool // guard: keep the zone disarmed past its scheduled arming
}

// ZoneStatus is a zone's arming as the console shows it.
type ZoneStatus struct {
	Zone     string    `json:"zone"`
	Armed    bool      `json:"armed"`
	Schedule string    `json:"schedule,omitempty"` // the arming schedule ("" = manual)
	Should   bool      `json:"should"`             // what the schedule says now (manual: the state)
	Override *Override `json:"override,omitempty"` // a person's override in force
	Panic    bool      `json:"panic,omitempty"`    // a panic zone: never disarmed
	By       string    `json:"by,omitempty"`
	At       time.Time `json:"at,omitzero"`
}

// armingState is the Manager's arming schedules and overrides (guarded by Manager.mu,
// loaded from the journal on first use).
type armingState struct {
	once      sync.Once
	overrides map[string]Override
	since     map[string]time.Time // zone → since when it should be armed and is not
	reminded  map[string]bool      // zone → reminder raised
	running   bool
}

func (m *Manager) armingLoad() {
	m.arm.once.Do(func() {
		m.arm.overrides = map[string]Override{}
		m.arm.since = map[string]time.Time{}
		m.arm.reminded = map[string]bool{}
		b, err := m.store.GetState(armingStateKey)
		if err != nil {
			m.log.Error("alerting: arming overrides unreadable", "err", err)
			return
		}
		if len(b) > 0 {
			if err := json.Unmarshal(b, &m.arm.overrides); err != nil {
				m.log.Error("alerting: arming overrides unreadable", "err", err)
			}
		}
	})
}

func (m *Manager) zoneSchedule(zone string) *ZoneSchedule {
	for i := range m.cfg.Arming.Zones {
		if m.cfg.Arming.Zones[i].Zone == zone {
			return &m.cfg.Arming.Zones[i]
		}
	}
	return nil
}

// panicZone reports whether a zone holds only panic buttons (never armed or disarmed).
func (m *Manager) panicZone(zone string) bool {
	if m.dir == nil {
		return false
	}
	var kinds []event.Kind
	for _, d := range m.dir.Devices() {
		if d.Zone == zone {
			kinds = append(kinds, d.Kind)
		}
	}
	return panicOnly(kinds)
}

// scheduled reports what a zone's schedule says at now (ok false: no schedule).
func (m *Manager) scheduled(zone string, now time.Time) (armed, ok bool) {
	zs := m.zoneSchedule(zone)
	if zs == nil {
		return false, false
	}
	if m.sch == nil {
		return true, true // no schedule set: armed rather than open
	}
	return m.sch.Active(zs.Armed, now), true
}

// armedAt is a zone's effective arming at now: an override in force, else its
// schedule, else the state an operator last set (armed unless disarmed). Call with
// m.mu held.
func (m *Manager) armedAt(zone string, now time.Time) bool {
	m.armingLoad()
	if o, ok := m.arm.overrides[zone]; ok && now.Before(o.Until) {
		return o.Armed
	}
	if a, ok := m.scheduled(zone, now); ok {
		return a
	}
	st, ok := m.arming[zone]
	return !ok || st.Armed
}

// nextChange is when zone's schedule next changes after now, at most limit later.
func (m *Manager) nextChange(zone string, now time.Time, limit time.Duration) time.Time {
	cur, ok := m.scheduled(zone, now)
	if !ok {
		return now.Add(limit)
	}
	step := time.Minute
	t := now.Truncate(step).Add(step)
	for ; t.Before(now.Add(limit)); t = t.Add(step) {
		if a, _ := m.scheduled(zone, t); a != cur {
			return t
		}
	}
	return now.Add(limit)
}

// SetArming arms or disarms a zone for a bounded time on a person's request (see
// ArmRequest). Guards may arm (at the end of a late event) and delay a scheduled
// arming by at most the zone's delay_max; operators may arm and disarm for up to
// max_override. The override, who, when, why and until when are journaled.
func (m *Manager) SetArming(ctx context.Context, r ArmRequest) error {
	if r.By == "" {
		return ErrNoPerson
	}
	m.mu.Lock()
	dir := m.dir
	m.mu.Unlock()
	if r.Zone == "" || (dir != nil && dir.Site != nil && dir.Site.Zone(r.Zone) == nil) {
		return fmt.Errorf("%w %q", ErrUnknownZone, r.Zone)
	}
	if r.For < 0 {
		return fmt.Errorf("%w: negative duration", ErrTooLong)
	}
	now := m.clock.Now()
	m.mu.Lock()
	m.armingLoad()
	zs := m.zoneSchedule(r.Zone)
	if zs == nil && (r.Guard || r.For > 0) && m.panicZone(r.Zone) {
		// panic buttons alarm armed or not: a timed override of their zone means nothing
		m.mu.Unlock()
		return fmt.Errorf("zone %q: %w", r.Zone, ErrPanicZone)
	}
	bound := m.cfg.Arming.MaxOverride
	role := "operator"
	if r.Guard {
		role = "guard"
		bound = m.cfg.Arming.GuardMax
		switch {
		case r.Delay || !r.Armed:
			if zs == nil {
				m.mu.Unlock()
				return fmt.Errorf("zone %q: %w", r.Zone, ErrNoScheduled)
			}
			r.Armed, r.Delay, bound = false, true, zs.DelayMax
		}
	}
	if (r.For > 0 || zs != nil || r.Guard) && strings.TrimSpace(r.Reason) == "" && (r.Guard || !r.Armed) {
		m.mu.Unlock()
		return ErrNoReason
	}
	if r.For > bound {
		m.mu.Unlock()
		return fmt.Errorf("%w: %s is longer than the %s a %s may set", ErrTooLong, r.For, bound, role)
	}
	var c Commit
	hist := HistoryRecord{At: now, Action: ActionArmed, By: r.By, Zone: r.Zone}
	if !r.Armed {
		hist.Action = ActionDisarmed
	}
	if r.For == 0 && zs == nil && !r.Guard {
		// a manual zone: the state holds until someone changes it
		delete(m.arm.overrides, r.Zone)
		hist.Note = r.Reason
	} else {
		until := now.Add(r.For)
		if r.For == 0 {
			until = m.nextChange(r.Zone, now, bound)
		}
		if r.Delay {
			// a delay runs from the scheduled arming, if it is still to come
			if sa, _ := m.scheduled(r.Zone, now); !sa {
				until = m.nextChange(r.Zone, now, m.cfg.Arming.MaxOverride).Add(r.For)
				if r.For == 0 {
					until = until.Add(zs.DelayMax)
				}
			}
		}
		o := Override{Zone: r.Zone, Armed: r.Armed, By: r.By, Role: role, Reason: r.Reason, At: now, Until: until, Delay: r.Delay}
		m.arm.overrides[r.Zone] = o
		hist.Note = overrideNote(&o, m.locOf())
		c.State = map[string][]byte{armingStateKey: m.overridesJSON()}
	}
	st := ZoneArming{Zone: r.Zone, Armed: m.armedAt(r.Zone, now), By: r.By, At: now}
	if r.For == 0 && zs == nil && !r.Guard {
		st.Armed = r.Armed
	}
	m.arming[r.Zone] = st
	c.Arming = []ZoneArming{st}
	c.History = []HistoryRecord{hist}
	wait := m.enqueue(&c)
	m.mu.Unlock()
	return m.settle(&c, wait)
}

func (m *Manager) locOf() *time.Location {
	if m.dir != nil && m.dir.Site != nil {
		return m.dir.Site.Location()
	}
	return time.Local
}

func overrideNote(o *Override, loc *time.Location) string {
	what := "布防"
	if o.Delay {
		what = "推迟布防"
	} else if !o.Armed {
		what = "撤防"
	}
	n := fmt.Sprintf("%s至 %s", what, o.Until.In(loc).Format("2006-01-02 15:04"))
	if o.Reason != "" {
		n += "：" + o.Reason
	}
	return n
}

func (m *Manager) overridesJSON() []byte {
	b, _ := json.Marshal(m.arm.overrides)
	return b
}

// ZoneStatuses returns the arming of every zone of the site (and any other zone with a
// stored state or an override), by zone id.
func (m *Manager) ZoneStatuses() []ZoneStatus {
	now := m.clock.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.armingLoad()
	zones := map[string]bool{}
	if m.dir != nil && m.dir.Site != nil {
		for _, z := range m.dir.Site.Zones {
			zones[z.ID] = true
		}
	}
	for z := range m.arming {
		zones[z] = true
	}
	for _, z := range m.cfg.Arming.Zones {
		zones[z.Zone] = true
	}
	out := make([]ZoneStatus, 0, len(zones))
	for _, z := range slices.Sorted(maps.Keys(zones)) {
		st := ZoneStatus{Zone: z, Panic: m.panicZone(z)}
		if st.Panic {
			st.Armed, st.Should = true, true
			out = append(out, st)
			continue
		}
		st.Armed = m.armedAt(z, now)
		st.Should = st.Armed
		if zs := m.zoneSchedule(z); zs != nil {
			st.Schedule = zs.Armed
			st.Should, _ = m.scheduled(z, now)
		}
		if o, ok := m.arm.overrides[z]; ok && now.Before(o.Until) {
			oc := o
			st.Override = &oc
		}
		if a, ok := m.arming[z]; ok {
			st.By, st.At = a.By, a.At
		}
		out = append(out, st)
	}
	return out
}

// RunArming follows the schedules until ctx ends: every ArmingCheckEvery it journals
// each zone whose effective arming changed (a schedule's transition, an override's
// end) and raises or clears the arming-reminder alarm of zones that should be armed
// and are not. The daemon runs it beside Run; a second call returns at once.
func (m *Manager) RunArming(ctx context.Context) error {
	m.mu.Lock()
	if m.arm.running {
		m.mu.Unlock()
		return nil
	}
	m.arm.running = true
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		m.arm.running = false
		m.mu.Unlock()
	}()
	t := m.clock.NewTicker(ArmingCheckEvery)
	defer t.Stop()
	for {
		if err := m.ArmingTick(ctx); err != nil && ctx.Err() == nil {
			m.log.Error("alerting: arming check failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.Chan():
		}
	}
}

// ArmingTick is one pass of RunArming as of the clock's now.
func (m *Manager) ArmingTick(ctx context.Context) error {
	m.armingPass.Lock()
	defer m.armingPass.Unlock()
	now := m.clock.Now()
	var c Commit
	var triggers []Trigger
	m.mu.Lock()
	m.armingLoad()
	expired := false
	for z, o := range m.arm.overrides {
		if !now.Before(o.Until) {
			delete(m.arm.overrides, z)
			expired = true
		}
	}
	if expired {
		c.State = map[string][]byte{armingStateKey: m.overridesJSON()}
	}
	zones := map[string]bool{}
	for _, z := range m.cfg.Arming.Zones {
		zones[z.Zone] = true
	}
	for z := range m.arm.overrides {
		zones[z] = true
	}
	for z := range m.arming {
		if m.zoneSchedule(z) != nil {
			zones[z] = true
		}
	}
	for _, z := range slices.Sorted(maps.Keys(zones)) {
		if m.panicZone(z) {
			continue
		}
		armed := m.armedAt(z, now)
		prev, known := m.arming[z]
		if !known || prev.Armed != armed {
			by := ByScheduleName
			if o, ok := m.arm.overrides[z]; ok && now.Before(o.Until) {
				by = o.By
			}
			st := ZoneArming{Zone: z, Armed: armed, By: by, At: now}
			if known || !armed { // an unknown zone is armed already: journal only a change
				m.arming[z] = st
				c.Arming = append(c.Arming, st)
				action := ActionArmed
				if !armed {
					action = ActionDisarmed
				}
				c.History = append(c.History, HistoryRecord{At: now, Action: action, By: by, Zone: z, Note: "按布防时间表"})
			}
		}
		should, sched := m.scheduled(z, now)
		o, over := m.arm.overrides[z]
		delayed := over && o.Delay && now.Before(o.Until) // a guard's bounded delay: it arms by itself
		switch {
		case sched && should && !armed && !delayed:
			if m.arm.since[z].IsZero() {
				m.arm.since[z] = now
				if o, ok := m.arm.overrides[z]; ok && o.At.Before(now) {
					m.arm.since[z] = o.At // counts across a restart
				}
			}
			if !m.arm.reminded[z] && now.Sub(m.arm.since[z]) >= m.cfg.Arming.RemindAfter {
				m.arm.reminded[z] = true
				triggers = append(triggers, m.reminder(z, true, now))
			}
		default:
			delete(m.arm.since, z)
			if m.arm.reminded[z] {
				delete(m.arm.reminded, z)
				triggers = append(triggers, m.reminder(z, false, now))
			}
		}
	}
	var wait func() error
	if len(c.Arming)+len(c.History) > 0 || c.State != nil {
		wait = m.enqueue(&c)
	}
	m.mu.Unlock()
	var errs []error
	if wait != nil {
		errs = append(errs, m.settle(&c, wait))
	}
	sort.SliceStable(triggers, func(i, j int) bool { return triggers[i].Key < triggers[j].Key })
	for _, t := range triggers {
		errs = append(errs, m.Handle(ctx, t))
	}
	return errors.Join(errs...)
}

// reminder is the arming-reminder trigger of zone. The alarm carries the zone in the
// label arming_zone, not as its zone: a disarmed zone's alarms are not notified, and
// this one must be.
func (m *Manager) reminder(zone string, firing bool, now time.Time) Trigger {
	name := zone
	if m.dir != nil {
		if z := m.dir.Zone(zone); z != nil && z.Name != "" {
			name = z.Name
		}
	}
	latch := false
	t := Trigger{Rule: ArmingReminderRule, Key: zone, Firing: firing, At: now, Severity: Major, Class: ClassOther,
		Labels: map[string]string{"arming_zone": zone, "class": string(ClassOther)}, Latch: &latch}
	if firing {
		msg := fmt.Sprintf("【布防提醒】%s按时间表应已布防，目前仍处于撤防状态", name)
		if o, ok := m.arm.overrides[zone]; ok && now.Before(o.Until) {
			msg += "（" + o.By + overrideNote(&o, m.locOf()) + "）"
		}
		t.Message = msg
	} else {
		t.Reason = "zone armed"
	}
	return t
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

// armed reports a zone's arming state now: an override in force, else its arming
// schedule, else armed unless an operator disarmed it (see armedAt). Call with m.mu
// held.
func (m *Manager) armed(zone string) bool {
	if zone == "" {
		return true
	}
	return m.armedAt(zone, m.clock.Now())
}
