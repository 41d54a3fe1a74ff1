package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/alerting/journal"
	"github.com/campusguard/campusguard/alerting/policelink"
	"github.com/campusguard/campusguard/alerting/policelink/dc09"
	"github.com/campusguard/campusguard/alerting/policelink/dc09/centre"
	"github.com/campusguard/campusguard/alerting/records"
	"github.com/campusguard/campusguard/alerting/sinks/mqttsink"
	"github.com/campusguard/campusguard/alerting/sinks/siren"
	"github.com/campusguard/campusguard/alerting/sinks/webhook"
	"github.com/campusguard/campusguard/console"
	"github.com/campusguard/campusguard/devhealth"
	gpiodrv "github.com/campusguard/campusguard/drivers/gpio"
	mqttdrv "github.com/campusguard/campusguard/drivers/mqtt"
	"github.com/campusguard/campusguard/drivers/sim"
	"github.com/campusguard/campusguard/event"
	"github.com/campusguard/campusguard/internal/config"
	"github.com/campusguard/campusguard/patrol"
	"github.com/campusguard/campusguard/patrol/report"
	"github.com/campusguard/campusguard/rules"
	"github.com/campusguard/campusguard/telemetry"
)

// pipeline holds the running components. The main loop owns engine; everything else
// is safe for concurrent use or owned by its own goroutine.
type pipeline struct {
	journal   *journal.Journal
	gpio      *gpiodrv.Driver
	mqtt      *mqttdrv.Driver
	health    *devhealth.Tracker
	patrol    *patrol.Runner
	alerts    *alerting.Manager
	siren     *siren.Sink
	police    *policelink.Sink
	tele      *telemetry.Forwarder
	sim       *sim.Sim
	console   *console.Console
	engine    *rules.Engine
	ruleSave  time.Time // when the rule state was last persisted
	ruleSaved []byte    // what was persisted then
	ruleSub   *event.Subscription
}

// ruleStateKey is where the rule engine's open instances are kept across restarts.
const ruleStateKey = "rules/engine"

// counting publishes on the bus and counts events by kind and type.
type counting struct{ d *Daemon }

func (c counting) Publish(ctx context.Context, e event.Event) (event.Event, error) {
	e, err := c.d.bus.Publish(ctx, e)
	if err == nil {
		c.d.metrics.eventsIn.WithLabelValues(string(e.Kind), e.Type).Inc()
	}
	return e, err
}

// startPipeline brings the components up in dependency order: journal, outputs, sinks,
// alerting, consumers of the bus, and last the drivers that produce events.
func (d *Daemon) startPipeline(ctx context.Context) error {
	cfg := d.cfg
	p := &pipeline{}
	d.p = p
	now := d.clock.Now()
	dir := cfg.Directory()
	pub := counting{d}
	reg := d.metrics.reg

	j, err := journal.Open(filepath.Join(cfg.StateDir, "journal.db"), journal.Options{
		Retention: cfg.Alerting.Retention, MaxSize: cfg.Alerting.MaxSize, Reserve: cfg.Alerting.JournalReserve,
		Clock: d.clock, Registerer: reg, Logger: d.log,
	})
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	p.journal = j
	d.health.Set("journal", j)
	// Retention per record class (alarm, operator action, patrol, fault), 30 days at
	// least; the history of an open alarm is never compacted.
	rc := cfg.Alerting.RetentionClasses
	ret := journal.Retention{Default: cfg.Alerting.Retention, Alarm: rc.Alarm, Operator: rc.Operator, Patrol: rc.Patrol, Fault: rc.Fault}
	d.goRun("journal", func() { _ = j.RunRetention(ctx, ret) })

	// The consumers' queues exist before any producer starts (the police link's path
	// check, a button held at start): no event is published to nobody.
	p.ruleSub = d.bus.Subscribe("rules", 4096, event.Block)
	hsub := d.bus.Subscribe("devhealth", 4096, event.Block)
	psub := d.bus.Subscribe("patrol", 1024, event.Block)

	// Simulated devices stand in for hardware in the demo: their GPIO lines are
	// gpiotest pins handed to the real GPIO driver.
	gopts := gpiodrv.Options{Site: cfg.Site.ID, Publisher: pub, Clock: d.clock, Logger: d.log, Registerer: reg}
	if cfg.Simulator.Enabled {
		s, err := sim.New(d.simOptions(cfg))
		if err != nil {
			return err
		}
		p.sim = s
		gopts.Source = s.PinSource()
	}
	if d.opts.Pins != nil {
		gopts.Source = d.opts.Pins
	}
	if len(cfg.GPIO.Inputs)+len(cfg.GPIO.Outputs) > 0 {
		g, err := gpiodrv.New(gopts)
		if err != nil {
			return fmt.Errorf("gpio: %w", err)
		}
		if err := g.Apply(cfg.GPIO); err != nil {
			return fmt.Errorf("gpio: %w", err)
		}
		p.gpio = g
		d.health.Set("gpio", g)
	}

	// Sinks.
	var sinks []alerting.Sink
	var local alerting.LocalOutput
	if sc := cfg.Sinks.Siren; sc != nil {
		outs := map[string]siren.Output{}
		for _, o := range sc.Outputs {
			outs[o.ID] = gpioOutput{p: p, id: o.ID}
		}
		var sch alerting.Schedules // not a typed nil: no schedule set means none
		if cfg.ScheduleSet != nil {
			sch = cfg.ScheduleSet
		}
		s, err := siren.New(*sc, outs, siren.Options{Site: &cfg.Site, Clock: d.clock, Registerer: reg, Logger: d.log, Schedules: sch})
		if err != nil {
			return fmt.Errorf("siren: %w", err)
		}
		p.siren = s
		sinks = append(sinks, s)
		local = siren.Local{S: s}
	}
	acker := &lateAcker{}
	if mc := cfg.Sinks.MQTT; mc != nil {
		client, err := mqttsink.NewPahoClient(mc.Client, d.log)
		if err != nil {
			return fmt.Errorf("mqtt sink: %w", err)
		}
		d.goRun("mqtt-sink-client", func() {
			if err := client.Connect(ctx); err != nil && ctx.Err() == nil {
				d.log.Error("mqtt sink: connect", "err", err)
			}
			<-ctx.Done()
			client.Close()
		})
		s, err := mqttsink.New(*mc, client, mqttsink.Options{Acker: acker, Clock: d.clock, Registerer: reg, Logger: d.log})
		if err != nil {
			return fmt.Errorf("mqtt sink: %w", err)
		}
		sinks = append(sinks, s)
		d.goRun("mqtt-sink", func() { _ = s.Run(ctx) })
	}
	for _, wc := range cfg.Sinks.Webhooks {
		s, err := webhook.New(wc, webhook.Options{Clock: d.clock, Registerer: reg, Logger: d.log})
		if err != nil {
			return fmt.Errorf("webhook %s: %w", wc.Name, err)
		}
		sinks = append(sinks, s)
	}
	if cfg.Telemetry.Enabled {
		f, err := telemetry.New(cfg.Telemetry, telemetry.Options{Clock: d.clock, Registerer: reg, Logger: d.log, Site: cfg.Site.ID, Directory: dir})
		if err != nil {
			return fmt.Errorf("telemetry: %w", err)
		}
		p.tele = f
		sinks = append(sinks, f)
		d.health.Set("telemetry", f)
		sub := d.bus.Subscribe("telemetry", 16384, event.DropOldest)
		d.goRun("telemetry", func() { _ = f.Run(ctx, sub.C()) })
	}

	if cfg.Simulator.Enabled && cfg.Simulator.PoliceReceiver != "" {
		if err := d.startPoliceReceiver(ctx, cfg); err != nil {
			return err
		}
	}
	if cfg.PoliceLink.Enabled {
		pl, err := policelink.New(cfg.PoliceLink, policelink.Options{Clock: d.clock, Registerer: reg, Logger: d.log,
			Publisher: pub, Store: j, Directory: dir, Site: cfg.Site.ID, Location: cfg.Site.Location()})
		if err != nil {
			return fmt.Errorf("police link: %w", err)
		}
		sinks = append(sinks, pl)
		p.police = pl
		// `campusguard policelink test` sends through the running link (its sequence
		// counter is in the journal this daemon holds).
		d.mux.Handle("POST /-/policelink/test", loopbackOnly(http.HandlerFunc(pl.ServeTest)))
		d.goRun("policelink", func() {
			_ = pl.Run(ctx)
			pl.Close()
		})
	}

	m, err := alerting.New(alerting.Options{
		Config: cfg.Alerting, Store: j, Directory: dir, Sinks: sinks, Local: local,
		Schedules: cfg.ScheduleSet, Clock: d.clock, Registerer: reg, Logger: d.log,
		OnReset: d.resets.add,
	})
	if err != nil {
		return fmt.Errorf("alerting: %w", err)
	}
	p.alerts = m
	acker.m = m
	d.health.Set("alerting", m)
	for name, rep := range m.SinkHealth() {
		d.health.Set("sink/"+name, rep)
	}
	d.goRun("alerting", func() { _ = m.Run(ctx) })
	// Zones follow their arming schedules; a zone that should be armed and is not
	// raises a reminder.
	d.goRun("arming", func() { _ = m.RunArming(ctx) })

	// The rule engine, with its open instances restored from the journal.
	p.engine = rules.New(cfg.Rules, dir, cfg.Site.Location())
	if b, err := j.GetState(ruleStateKey); err == nil && len(b) > 0 {
		var snap rules.Snapshot
		if err := json.Unmarshal(b, &snap); err != nil {
			d.log.Warn("rule state in the journal is unreadable; starting fresh", "err", err)
		} else {
			restored, skipped := p.engine.Restore(snap)
			d.log.Info("rule state restored", "instances", restored, "skipped", skipped)
		}
	}
	// A rule instance that fires without an open alarm was reset by a person just
	// before the last stop: re-arm it, so the next press raises a new alarm.
	for rule, keys := range p.engine.Firing() {
		for _, k := range keys {
			if !m.IsOpen(rule, k) {
				p.engine.Reset(now, rule, k)
				d.log.Info("rule instance re-armed: its alarm was reset", "rule", rule, "key", k)
			}
		}
	}

	// Consumers that publish back: device health and patrol.
	p.health = devhealth.NewTracker(dir, now)
	if err := p.health.Register(reg); err != nil {
		return fmt.Errorf("device health: %w", err)
	}
	d.health.Set("devices", p.health)
	hr := &devhealth.Runner{Tracker: p.health, Publisher: pub, Clock: d.clock, Logger: d.log}
	d.goRun("devhealth", func() { _ = hr.Run(ctx, hsub.C()) })

	tr, err := patrol.New(cfg.Patrol, patrol.Options{Site: cfg.Site.ID, Location: cfg.Site.Location(), Days: cfg.ScheduleSet})
	if err != nil {
		return fmt.Errorf("patrol: %w", err)
	}
	pr, err := patrol.NewRunner(tr, patrol.RunnerOptions{Clock: d.clock, Store: j, Publisher: pub, Registerer: reg, Logger: d.log, OnResult: d.patrolResult})
	if err != nil {
		return fmt.Errorf("patrol: %w", err)
	}
	p.patrol = pr
	d.health.Set("patrol", pr)
	d.goRun("patrol", func() { _ = pr.Run(ctx, psub.C()) })
	patrolReport := &report.Handler{Store: j, Location: cfg.Site.Location(), Live: pr.Active, Now: d.clock.Now}
	if cfg.Console.Enabled {
		// The console serves the patrol report among its API (behind its login).
		con, err := console.New(cfg.Console, console.Deps{Alarms: m, History: j, Devices: p.health, Patrol: patrolReport,
			Live: pr.Active, Site: &cfg.Site, Audit: j}, console.Options{Clock: d.clock, Registerer: reg, Logger: d.log,
			Location: cfg.Site.Location(), SiteName: cfg.Site.Name, ConfigFS: d.opts.Source.FS, PoliceSink: cfg.PoliceLink.Name})
		if err != nil {
			return fmt.Errorf("console: %w", err)
		}
		p.console = con
		d.health.Set("console", con)
		if cfg.Console.Listen == "" {
			d.mux.Handle("/", con.Handler())
		}
		d.goRun("console", func() { _ = con.Run(ctx) })
	} else {
		d.mux.Handle("GET /api/patrol/report", patrolReport)
	}
	// The quarterly test of the alarm path: a device or zone in test for a bounded time.
	d.mux.Handle("/-/test-mode", loopbackOnly(http.HandlerFunc(d.serveTestMode)))
	// Tools on the gateway itself (campusguard patrol report) read it without a login.
	d.mux.Handle("GET /-/patrol/report", loopbackOnly(patrolReport))
	// campusguard records export reads the journal through the daemon that holds it.
	d.mux.Handle("GET /-/records/export", loopbackOnly(&records.Handler{Source: j, Location: cfg.Site.Location()}))

	// Producers last: every consumer is subscribed before the first event (a button
	// held at start is read and published when its input starts).
	if p.gpio != nil {
		g := p.gpio
		d.goRun("gpio", func() { _ = g.Run(ctx) })
	}
	// MQTT input is acknowledged to its broker only once its event is durable (the
	// watermark): a crash before the journal commit makes the broker deliver it again.
	md := mqttdrv.New(mqttdrv.Options{Publisher: pub, Registerer: reg, Logger: d.log, Clock: d.clock, Durable: d.mark})
	if err := md.Apply(cfg.MQTT, dir); err != nil {
		return fmt.Errorf("mqtt: %w", err)
	}
	p.mqtt = md
	if len(cfg.MQTT.Brokers) > 0 {
		d.health.Set("mqtt", md)
	}
	d.goRun("mqtt", func() { _ = md.Run(ctx) })

	if p.sim != nil {
		d.goRun("simulator", func() { _ = p.sim.Run(ctx, cfg.Simulator.Scenarios) })
		d.mux.Handle("POST /-/simulate/{scenario}", loopbackOnly(http.HandlerFunc(d.serveSimulate)))
	}
	if p.tele != nil {
		d.goRun("telemetry-status", func() { d.statusLoop(ctx) })
	}
	return nil
}

// simOptions builds the simulator from the config: the demo patrol is the first plan
// whose route the reader serves.
func (d *Daemon) simOptions(cfg *config.Config) sim.Options {
	o := sim.Options{Site: &cfg.Site, Devices: cfg.Devices, GPIO: cfg.GPIO, MQTT: lazyMQTT{d}, Broker: cfg.Simulator.Broker,
		Interval: cfg.Simulator.Interval, Clock: d.clock, Logger: d.log}
	if o.Broker == "" && len(cfg.MQTT.Brokers) > 0 {
		o.Broker = cfg.MQTT.Brokers[0].Name
	}
	var reader string
	for _, dev := range cfg.Devices {
		if dev.Kind == event.KindPatrol && dev.Driver == "mqtt" {
			reader = dev.ID
			break
		}
	}
	if reader == "" || len(cfg.Patrol.Plans) == 0 || len(cfg.Patrol.Guards) == 0 || len(cfg.Patrol.Guards[0].Cards) == 0 {
		return o
	}
	plan := cfg.Patrol.Plans[0]
	for _, r := range cfg.Patrol.Routes {
		if r.ID != plan.Route {
			continue
		}
		pp := sim.PatrolPlan{Reader: reader, Card: cfg.Patrol.Guards[0].Cards[0], Every: plan.Every, Leg: time.Minute}
		for _, st := range r.Checkpoints {
			pp.Checkpoints = append(pp.Checkpoints, st.Checkpoint)
			if st.Leg > 0 {
				pp.Leg = st.Leg
			}
		}
		o.Patrol = pp
	}
	return o
}

// lazyMQTT lets the simulator be built before the MQTT driver exists.
type lazyMQTT struct{ d *Daemon }

func (l lazyMQTT) Publish(ctx context.Context, broker, topic string, qos byte, retained bool, payload []byte) error {
	if l.d.p == nil || l.d.p.mqtt == nil {
		return errors.New("mqtt driver not started")
	}
	return l.d.p.mqtt.Publish(ctx, broker, topic, qos, retained, payload)
}

// lateAcker lets the MQTT sink take acks for the manager built after it.
type lateAcker struct{ m *alerting.Manager }

func (a *lateAcker) Ack(ctx context.Context, id, by, note string) error {
	if a.m == nil {
		return errors.New("alerting not started")
	}
	return a.m.Ack(ctx, id, by, note)
}

// gpioOutput adapts a GPIO output (looked up at each call, so a reload that replaced
// it is followed) to the siren sink.
type gpioOutput struct {
	p  *pipeline
	id string
}

func (o gpioOutput) Sound(pt siren.Pattern, maxOn time.Duration) error {
	if o.p.gpio == nil {
		return fmt.Errorf("siren output %s: no GPIO driver", o.id)
	}
	gp := gpiodrv.Steady()
	if pt.Mode == siren.Pulse {
		gp = gpiodrv.Pulse(pt.On, pt.Off)
	}
	return o.p.gpio.Sound(o.id, gp, maxOn)
}

// Silence is a person's silence of the alarm that holds the output. The 30 s re-sound
// rule (GB 50394) is the alarm's: alerting and the siren sink keep a new trigger of
// the silenced alarm quiet for 30 s. The line itself keeps no guard, so a different,
// new alarm on the same siren sounds at once.
func (o gpioOutput) Silence() error {
	if o.p.gpio == nil {
		return nil
	}
	return o.p.gpio.Off(o.id)
}

// Off turns the output off without a person (the alarm cleared, max-on): the next
// trigger sounds at once.
func (o gpioOutput) Off() error {
	if o.p.gpio == nil {
		return nil
	}
	return o.p.gpio.Off(o.id)
}

// handleEvent runs one event through the rule engine and hands its changes to
// alerting, then moves the durability watermark past it: every journal write it caused
// is on disk (Handle returns after the fsync). While the journal cannot write, the
// watermark is held, so inputs stop acknowledging and their sources keep what they
// sent.
func (d *Daemon) handleEvent(ctx context.Context, ev event.Event) {
	d.handleEvents(ctx, []event.Event{ev})
}

// maxBatch bounds the events the main loop takes in one round when they are already
// queued: their journal commits share one fsync.
const maxBatch = 64

// handleEvents runs a batch of events (in bus order) through the rule engine, queues
// every change with alerting, waits for all their commits at once, and only then moves
// the watermark past the last event.
func (d *Daemon) handleEvents(ctx context.Context, evs []event.Event) {
	now := d.clock.Now()
	var waits []commitWait
	changed := false
	for _, ev := range evs {
		d.metrics.loopEvents.Inc()
		cs := d.p.engine.Process(now, ev)
		changed = changed || len(cs) > 0
		waits = d.queueChanges(ctx, cs, waits)
	}
	d.awaitCommits(ctx, waits)
	if changed {
		d.saveRuleState(false)
	}
	last := evs[len(evs)-1].Seq
	d.processed.Advance(last)
	d.settleWatermark()
}

// drainBatch takes ev and the events already waiting behind it, up to maxBatch.
func drainBatch(ev event.Event, in <-chan event.Event) []event.Event {
	batch := []event.Event{ev}
	for len(batch) < maxBatch {
		select {
		case e, ok := <-in:
			if !ok {
				return batch
			}
			batch = append(batch, e)
		default:
			return batch
		}
	}
	return batch
}

// settleWatermark moves the watermark to the last processed event, or holds it while
// alerting has a journal write waiting for a retry.
func (d *Daemon) settleWatermark() {
	if d.p.alerts.Failing() {
		if !d.mark.Held() {
			d.log.Error("journal cannot write: input is no longer acknowledged until it can", "last_durable", d.mark.Durable())
		}
		d.mark.Hold()
		return
	}
	if d.mark.Held() {
		d.log.Info("journal writes again: input is acknowledged again", "durable", d.processed.Durable())
		d.mark.Release(d.processed.Durable())
		return
	}
	d.mark.Advance(d.processed.Durable())
}

// applyResets re-arms the rule instances of alarms a person reset (the console, the
// API, an MQTT command), so the next press raises a new alarm.
func (d *Daemon) applyResets() {
	now := d.clock.Now()
	n := 0
	for _, a := range d.resets.take() {
		if d.p.engine.Reset(now, a.Rule, a.Key) {
			n++
			d.log.Info("rule instance re-armed after a reset", "rule", a.Rule, "key", a.Key, "by", a.ResolvedBy)
		}
	}
	if n > 0 {
		d.saveRuleState(true)
	}
}

// resetQueue hands a person's resets from any goroutine to the main loop, which owns
// the rule engine. It never blocks and never drops.
type resetQueue struct {
	mu    sync.Mutex
	items []alerting.Alarm
	ready chan struct{}
}

func newResetQueue() *resetQueue { return &resetQueue{ready: make(chan struct{}, 1)} }

func (q *resetQueue) add(a alerting.Alarm) {
	q.mu.Lock()
	q.items = append(q.items, a)
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

func (q *resetQueue) take() []alerting.Alarm {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.items
	q.items = nil
	return out
}

// handleTimer runs the engine's due timers.
func (d *Daemon) handleTimer(ctx context.Context) {
	d.handleChanges(ctx, d.p.engine.Tick(d.clock.Now()))
}

func (d *Daemon) handleChanges(ctx context.Context, cs []rules.Change) {
	d.awaitCommits(ctx, d.queueChanges(ctx, cs, nil))
	if len(cs) > 0 {
		d.saveRuleState(false)
	}
}

// commitWait is one change's journal commit being awaited.
type commitWait struct {
	c    rules.Change
	wait func() error
}

// queueChanges hands the engine's changes to alerting (the siren sounds at once) and
// appends the waits for their journal commits.
func (d *Daemon) queueChanges(ctx context.Context, cs []rules.Change, waits []commitWait) []commitWait {
	for _, c := range cs {
		switch {
		case c.Renotify:
			d.log.Info("rule still firing", "rule", c.Rule, "key", c.Key)
		case c.Occurrence:
			d.log.Info("rule triggered again", "rule", c.Rule, "key", c.Key, "severity", c.Severity, "message", c.Message)
		case c.Firing:
			d.log.Info("rule fired", "rule", c.Rule, "key", c.Key, "severity", c.Severity, "message", c.Message)
		default:
			d.log.Info("rule cleared", "rule", c.Rule, "key", c.Key, "reason", c.Reason)
		}
		t := alerting.Trigger{Rule: c.Rule, Key: c.Key, Firing: c.Firing, At: c.At, Severity: alerting.Severity(c.Severity),
			Labels: c.Labels, Message: c.Message, DeviceID: c.DeviceID, Event: c.Event, Reason: c.Reason, Latch: c.Latch,
			Renotify: c.Renotify, Occurrence: c.Occurrence}
		waits = append(waits, commitWait{c: c, wait: d.p.alerts.HandleAsync(ctx, t)})
	}
	return waits
}

// awaitCommits waits for the queued changes' journal commits (they share an fsync). A
// failed commit is kept in memory and retried by alerting; it is logged here.
func (d *Daemon) awaitCommits(ctx context.Context, waits []commitWait) {
	for _, w := range waits {
		if err := w.wait(); err != nil && ctx.Err() == nil {
			d.log.Error("alarm not journaled yet; kept in memory, delivered from memory, retried", "rule", w.c.Rule, "key", w.c.Key, "err", err)
		}
	}
}

// saveRuleState persists the engine's open instances (latched, pending for, open
// absences) at most every 5 s, and always at shutdown; a state equal to the last one
// written is not written again (an idle gateway does not wear its flash).
func (d *Daemon) saveRuleState(force bool) {
	p := d.p
	now := d.clock.Now()
	if !force && now.Sub(p.ruleSave) < 5*time.Second {
		return
	}
	p.ruleSave = now
	b, err := json.Marshal(p.engine.State())
	if err == nil && bytes.Equal(b, p.ruleSaved) {
		return
	}
	if err == nil {
		err = p.journal.PutState(ruleStateKey, b)
	}
	if err != nil {
		d.log.Error("saving rule state", "err", err)
		return
	}
	p.ruleSaved = b
}

// nextDeadline is how long until the engine's next timer (capped, so the state is
// saved regularly).
func (d *Daemon) nextDeadline() time.Duration {
	wait := 5 * time.Second
	if t, ok := d.p.engine.NextDeadline(); ok {
		if w := t.Sub(d.clock.Now()); w < wait {
			wait = w
		}
	}
	if wait < 0 {
		wait = 0
	}
	return wait
}

// applyPipeline hands a validated config to the running components as one
// transaction: every component prepares its new state first (checks, compiles, builds
// new clients) without changing what runs; only when all of them prepared are all
// committed. A failure in any prepare changes nothing. Drivers keep the lines and
// sessions whose config did not change; rules keep unchanged rules' state; every
// reader of the site directory takes the new one in the same step.
func (d *Daemon) applyPipeline(ctx context.Context, cfg *config.Config) error {
	p := d.p
	dir := cfg.Directory()
	var restart []string
	type step struct {
		name   string
		commit func() error
	}
	var steps []step
	add := func(name string, commit func() error) { steps = append(steps, step{name, commit}) }

	if !reflect.DeepEqual(cfg.Sinks, d.cfg.Sinks) || !reflect.DeepEqual(cfg.PoliceLink, d.cfg.PoliceLink) ||
		cfg.Telemetry.Enabled != d.cfg.Telemetry.Enabled {
		// Routes may name sinks that exist only after a restart: keep the old routes.
		restart = append(restart, "sinks (and with them alerting routes)")
	} else if !reflect.DeepEqual(cfg.Alerting, d.cfg.Alerting) {
		commit, err := p.alerts.Prepare(cfg.Alerting)
		if err != nil {
			return err
		}
		add("alerting", func() error { commit(); return nil })
	}
	if p.console != nil {
		commit, err := p.console.Prepare(cfg.Console)
		if err != nil {
			return fmt.Errorf("console: %w", err)
		}
		add("console", commit)
	}
	if p.gpio != nil {
		commit, err := p.gpio.Prepare(cfg.GPIO)
		if err != nil {
			return fmt.Errorf("gpio: %w", err)
		}
		add("gpio", commit)
	}
	mcommit, err := p.mqtt.Prepare(cfg.MQTT, dir)
	if err != nil {
		return fmt.Errorf("mqtt: %w", err)
	}
	add("mqtt", func() error { mcommit(); return nil })
	pcommit, err := p.patrol.Prepare(cfg.Patrol)
	if err != nil {
		return fmt.Errorf("patrol: %w", err)
	}
	add("patrol", pcommit)
	if d.testPrepare != nil {
		if err := d.testPrepare(cfg); err != nil {
			return err
		}
	}

	// Everything prepared: commit. A commit error after this point is a component's
	// fault (its prepare said yes): logged, and the others still take the new config.
	for _, s := range steps {
		if err := s.commit(); err != nil {
			d.log.Error("reload: a component failed to take its prepared config", "component", s.name, "err", err)
		}
	}
	// One live site directory: every reader takes the new one in the same step.
	p.health.SetDevices(dir, d.clock.Now())
	p.alerts.SetDirectory(dir)
	if p.tele != nil {
		p.tele.SetDirectory(dir)
	}
	if p.siren != nil {
		p.siren.SetSite(&cfg.Site)
	}
	if p.police != nil {
		p.police.SetDirectory(dir)
	}
	if p.console != nil {
		p.console.SetSite(&cfg.Site)
	}
	d.handleChanges(ctx, p.engine.Reload(cfg.Rules, dir))
	if !reflect.DeepEqual(cfg.Telemetry, d.cfg.Telemetry) {
		restart = append(restart, "telemetry")
	}
	if cfg.Console.Enabled != d.cfg.Console.Enabled || cfg.Console.Listen != d.cfg.Console.Listen || cfg.Console.TLS != d.cfg.Console.TLS {
		restart = append(restart, "console listener")
	}
	if cfg.HTTP != d.cfg.HTTP || cfg.StateDir != d.cfg.StateDir || cfg.Broker != d.cfg.Broker || !reflect.DeepEqual(cfg.Simulator, d.cfg.Simulator) {
		restart = append(restart, "http/state_dir/broker/simulator")
	}
	if len(restart) > 0 {
		d.log.Warn("these sections changed and take effect at the next restart", "sections", strings.Join(restart, ", "))
	}
	return nil
}

// patrolResult sends a finished patrol run to InfluxDB.
func (d *Daemon) patrolResult(r patrol.RunResult) {
	if d.p.tele == nil {
		return
	}
	guard := ""
	if len(r.Guards) > 0 {
		guard = r.Guards[0].Name
	}
	done := 0
	for _, c := range r.Checkpoints {
		if c.Status != "" && c.Status != "missed" {
			done++
		}
		d.p.tele.RecordPatrol(telemetry.PatrolResult{At: nonZero(c.Scanned, r.Ended), Route: r.Route, Checkpoint: c.Checkpoint,
			Result: c.Status, Run: r.Run, Guard: guard, Expected: c.Expected, Deviation: deviation(c.Scanned, c.Expected)})
	}
	d.p.tele.RecordPatrol(telemetry.PatrolResult{At: r.Ended, Route: r.Route, Result: r.Status, Run: r.Run, Guard: guard,
		Done: done, Planned: len(r.Checkpoints)})
}

func nonZero(a, b time.Time) time.Time {
	if a.IsZero() {
		return b
	}
	return a
}

func deviation(at, exp time.Time) time.Duration {
	if at.IsZero() || exp.IsZero() {
		return 0
	}
	return at.Sub(exp)
}

// statusLoop writes device health and the gateway's own figures to telemetry every
// minute.
func (d *Daemon) statusLoop(ctx context.Context) {
	t := d.clock.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.Chan():
		}
		p := d.p
		for _, s := range p.health.Snapshot() {
			p.tele.RecordDeviceHealth(telemetry.DeviceHealth{At: d.clock.Now(), DeviceID: s.Device, Kind: s.Kind,
				Online: s.Status == devhealth.StatusOnline, LastSeen: s.LastSeen, BatteryPct: s.Battery, SupplyV: s.SupplyV, Status: string(s.Status)})
		}
		q := map[string]int{}
		for _, s := range d.bus.Subscriptions() {
			q[s.Name] = s.Len()
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		p.tele.RecordGateway(telemetry.GatewayStats{At: d.clock.Now(), Uptime: d.clock.Since(d.started), Queues: q,
			Values: map[string]float64{"goroutines": float64(runtime.NumGoroutine()), "heap_bytes": float64(ms.HeapAlloc),
				"events": float64(d.bus.Published()), "alarms_active": float64(len(p.alerts.Active()))}})
	}
}

// startPoliceReceiver runs the demo's stand-in receiving centre and logs each report
// it takes, decoded, so the demo shows what the police would see.
func (d *Daemon) startPoliceReceiver(ctx context.Context, cfg *config.Config) error {
	rc := centre.Config{Listen: cfg.Simulator.PoliceReceiver, NoTimeCheck: true}
	if !cfg.PoliceLink.Key.IsZero() {
		enc, err := dc09.ParseKeyEncoding(cfg.PoliceLink.KeyEncoding)
		if err != nil {
			return fmt.Errorf("simulated receiving centre: %w", err)
		}
		k, err := dc09.ParseKey(cfg.PoliceLink.Key.Reveal(), enc)
		if err != nil {
			return fmt.Errorf("simulated receiving centre: %w", err)
		}
		rc.Key = k
	}
	r := centre.New(rc)
	if err := r.Start(ctx); err != nil {
		return fmt.Errorf("simulated receiving centre: %w", err)
	}
	d.log.Info("simulated police receiving centre listening", "addr", cfg.Simulator.PoliceReceiver)
	d.goRun("police-receiver", func() {
		defer r.Stop()
		for n := 1; ; n++ {
			got, err := r.Wait(ctx, n)
			if err != nil {
				return
			}
			g := got[n-1]
			if g.Message.ID == dc09.TokenNULL {
				continue
			}
			d.log.Info("simulated receiving centre got a report", "token", string(g.Message.ID), "account", g.Message.Account,
				"data", g.Message.Data, "encrypted", g.Message.Encrypted, "answer", g.Answer.String())
		}
	})
	return nil
}
