package mqtt

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/campusguard/campusguard/cfgerr"
	"github.com/campusguard/campusguard/drivers/mqtt/payload"
	"github.com/campusguard/campusguard/event"
	"github.com/campusguard/campusguard/health"
	"github.com/campusguard/campusguard/mqtttopic"
	"github.com/campusguard/campusguard/site"
)

// Durability tells when an event is durable: Wait returns nil once every journal write
// the event with sequence number seq caused is on disk (or ctx's error when ctx ends
// first). *event.Watermark satisfies it.
type Durability interface {
	Wait(ctx context.Context, seq uint64) error
}

// DefaultQueueSize is the hand-off queue's size when Options.QueueSize is 0.
const DefaultQueueSize = 1024

// logInterval is how often a malformed-payload log line per device may be written.
const logInterval = time.Minute

// unknownDevice is the device label for messages that name no known device (ids from
// the outside are never used as label values, so the label stays bounded).
const unknownDevice = "_unknown"

// Options are the driver's collaborators.
type Options struct {
	// Publisher receives the events (required).
	Publisher event.Publisher
	// Registerer registers the metrics (nil: not registered).
	Registerer prometheus.Registerer
	// Logger for connection changes and (rate-limited) malformed payloads.
	Logger *slog.Logger
	// Clock stamps ReceivedAt and drives rate limits (nil: the real clock).
	Clock clockwork.Clock
	// QueueSize bounds the events waiting for the Publisher, and the messages waiting
	// for Durable before their acknowledgement (default 1024 each).
	QueueSize int
	// Durable, when set, holds back each QoS 1 message's acknowledgement (PUBACK) until
	// its event is durable: Durable.Wait(ctx, ev.Seq) returned. Nil acknowledges once
	// the event is handed to the Publisher (tests and tools).
	Durable Durability
}

// ErrUnknownBroker is returned by Publish for a broker name not in the config.
var ErrUnknownBroker = errors.New("unknown mqtt broker")

// Driver runs one client per configured broker and turns their messages into events.
type Driver struct {
	pub   event.Publisher
	dur   Durability
	log   *slog.Logger
	clock clockwork.Clock
	m     *metrics
	queue chan item
	acks  chan pending // handed on, waiting for dur before their ack
	lim   *limiter
	gate  *logGate
	dir   atomic.Pointer[site.Directory]

	mu      sync.Mutex
	brokers map[string]*broker
	runCtx  context.Context // set while Run runs
	ran     bool

	hooks hooks
}

// hooks let tests await internal signals instead of sleeping.
type hooks struct {
	subscribed func(broker string, connects int, filters map[string]byte)
	// synced is called after each sync that brought the subscriptions in step:
	// connects is the connect count as the sync read it (under the lock that also
	// hands it the resubscribe flag onConnect sets), subscribe whether it sent
	// SUBSCRIBE.
	synced func(broker string, connects int, subscribe bool)
	// acked is called after a message whose event had sequence number seq was
	// acknowledged to its broker.
	acked func(seq uint64)
}

// item is an event for the Publisher and the message it came from (nil for an event
// the driver raises itself, such as a flood fault).
type item struct {
	ev  event.Event
	msg paho.Message
}

// pending is a message whose event was handed on with sequence number seq.
type pending struct {
	seq uint64
	msg paho.Message
}

// sweepInterval is how often the driver looks for floods that ended while their device
// stayed silent.
const sweepInterval = time.Second

// New returns a driver with no brokers; call Apply to configure it, Run to start it.
func New(o Options) *Driver {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Clock == nil {
		o.Clock = clockwork.NewRealClock()
	}
	if o.QueueSize <= 0 {
		o.QueueSize = DefaultQueueSize
	}
	return &Driver{
		pub:     o.Publisher,
		dur:     o.Durable,
		log:     o.Logger,
		clock:   o.Clock,
		m:       newMetrics(o.Registerer),
		queue:   make(chan item, o.QueueSize),
		acks:    make(chan pending, o.QueueSize),
		lim:     newLimiter(),
		gate:    newLogGate(logInterval),
		brokers: map[string]*broker{},
	}
}

// route is one mapping compiled for the hot path.
type route struct {
	name   string
	filter string
	qos    byte
	dec    *payload.Decoder
	rate   RateLimitConfig
}

type routeTable []route

func (rt routeTable) match(topic string) *route {
	for i := range rt {
		if mqtttopic.Match(rt[i].filter, topic) {
			return &rt[i]
		}
	}
	return nil
}

// filters is the subscription set: filter → QoS (the highest any mapping asks for).
func (rt routeTable) filters() map[string]byte {
	m := make(map[string]byte, len(rt))
	for _, r := range rt {
		if q, ok := m[r.filter]; !ok || r.qos > q {
			m[r.filter] = r.qos
		}
	}
	return m
}

// Apply installs cfg (defaults already applied, secrets resolved) and the site's device
// directory. It validates first and changes nothing when cfg is invalid (the error is a
// *cfgerr.List). Brokers whose config is unchanged keep their client and session;
// changed mappings are applied by subscribing and unsubscribing on the running client.
// Apply may be called before Run and while it runs.
func (d *Driver) Apply(cfg Config, dir *site.Directory) error {
	commit, err := d.Prepare(cfg, dir)
	if err != nil {
		return err
	}
	commit()
	return nil
}

// Prepare validates cfg, compiles its mappings and builds the clients of new or
// changed brokers (not connected yet), changing nothing that runs; the commit it
// returns swaps them in. A reload that fails elsewhere drops the prepared clients
// unused: the running sessions are untouched.
func (d *Driver) Prepare(cfg Config, dir *site.Directory) (commit func(), err error) {
	var errs cfgerr.List
	cfg.Validate(&errs)
	if err := errs.Err(); err != nil {
		return nil, err
	}
	tables := map[string]routeTable{}
	for i, mc := range cfg.Mappings {
		dec, err := NewDecoder(mc)
		if err != nil {
			errs.Merge(cfgerr.Index("mappings", i), cfgerr.As(err))
			continue
		}
		var bq int
		for _, b := range cfg.Brokers {
			if b.Name == mc.Broker && b.QoS != nil {
				bq = *b.QoS
			}
		}
		if mc.QoS != nil {
			bq = *mc.QoS
		}
		mc.SetDefaults()
		tables[mc.Broker] = append(tables[mc.Broker], route{name: mc.Name, filter: mc.Topic, qos: byte(bq), dec: dec, rate: mc.RateLimit})
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	// Build new clients before touching the running ones, so a bad TLS file or store
	// dir leaves everything as it was.
	d.mu.Lock()
	fresh := map[string]*broker{}
	for i, bc := range cfg.Brokers {
		if old := d.brokers[bc.Name]; old != nil && sameBroker(old.cfg, bc) {
			continue
		}
		b, err := newBroker(d, bc)
		if err != nil {
			errs.Add(cfgerr.Index("brokers", i), "%v", err)
			continue
		}
		fresh[bc.Name] = b
	}
	d.mu.Unlock()
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return func() { d.commit(cfg, dir, tables, fresh) }, nil
}

// commit swaps a prepared config in.
func (d *Driver) commit(cfg Config, dir *site.Directory, tables map[string]routeTable, fresh map[string]*broker) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.dir.Store(dir)
	keep := map[string]bool{}
	for _, bc := range cfg.Brokers {
		keep[bc.Name] = true
	}
	for name, old := range d.brokers {
		if !keep[name] || fresh[name] != nil {
			old.stop()
			delete(d.brokers, name)
			d.m.forget(name)
			d.log.Info("mqtt broker removed", "broker", name)
		}
	}
	for name, b := range fresh {
		d.brokers[name] = b
		if d.runCtx != nil {
			b.start(d.runCtx)
		}
	}
	for name, b := range d.brokers {
		b.setRoutes(tables[name])
	}
}

func sameBroker(a, b BrokerConfig) bool {
	qa, qb := -1, -1
	if a.QoS != nil {
		qa = *a.QoS
	}
	if b.QoS != nil {
		qb = *b.QoS
	}
	a.QoS, b.QoS = nil, nil
	return a == b && qa == qb
}

// Run connects every broker and delivers events until ctx ends, then disconnects.
// Messages still queued, or still waiting for Durable, at the end are not acknowledged:
// the broker delivers them again to the next session. Run may be called once.
func (d *Driver) Run(ctx context.Context) error {
	if d.pub == nil {
		return errors.New("mqtt: no publisher")
	}
	d.mu.Lock()
	if d.ran {
		d.mu.Unlock()
		return errors.New("mqtt: Run called twice")
	}
	d.ran = true
	d.runCtx = ctx
	for _, b := range d.brokers {
		b.start(ctx)
	}
	d.mu.Unlock()

	var wg sync.WaitGroup
	wg.Add(3)
	go func() {
		defer wg.Done()
		d.work(ctx)
	}()
	go func() {
		defer wg.Done()
		d.ack(ctx)
	}()
	go func() {
		defer wg.Done()
		d.sweep(ctx)
	}()
	<-ctx.Done()

	d.mu.Lock()
	d.runCtx = nil
	for _, b := range d.brokers {
		b.stop()
	}
	d.mu.Unlock()
	wg.Wait()
	return nil
}

// work publishes queued events in order. Without Durable it acknowledges each message
// after the hand-off; with it, it passes the message on to ack and goes on with the
// next event at once, so the bus keeps filling while earlier messages wait.
func (d *Driver) work(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case it := <-d.queue:
			waits := it.msg != nil && d.dur != nil && it.msg.Qos() > 0
			if waits {
				d.m.awaiting.Inc() // before the event is seen on the bus
			}
			ev, err := d.pub.Publish(ctx, it.ev)
			if err != nil {
				if waits {
					d.m.awaiting.Dec()
				}
				if ctx.Err() == nil {
					d.log.Error("mqtt event not handed on; the broker will deliver it again", "device", it.ev.DeviceID, "type", it.ev.Type, "err", err)
				}
				continue
			}
			if it.msg == nil {
				continue
			}
			if !waits {
				d.ackNow(it.msg, ev.Seq)
				continue
			}
			select {
			case d.acks <- pending{seq: ev.Seq, msg: it.msg}:
			case <-ctx.Done():
				d.m.awaiting.Dec()
				return // not acknowledged: delivered again to the next session
			}
		}
	}
}

// ack acknowledges handed-on messages in sequence order, each once Durable has passed
// its event. It stops at ctx's end, leaving the rest unacknowledged.
func (d *Driver) ack(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case p := <-d.acks:
			if err := d.dur.Wait(ctx, p.seq); err != nil {
				return // shutting down: the broker delivers it again
			}
			d.m.awaiting.Dec()
			d.ackNow(p.msg, p.seq)
		}
	}
}

// ackNothing acknowledges a message that raises no event (no mapping, malformed, an
// unknown device, a kind mismatch, a rate-limited repeat of a state already passed):
// nothing of it needs to be durable, so the broker may forget it at once. A message
// that became an event is acknowledged by ackNow, once its event is durable.
func (d *Driver) ackNothing(m paho.Message) { m.Ack() }

func (d *Driver) ackNow(m paho.Message, seq uint64) {
	m.Ack()
	if h := d.hooks.acked; h != nil {
		h(seq)
	}
}

// sweep restores the fault of every device whose flood ended while it stayed silent.
func (d *Driver) sweep(ctx context.Context) {
	t := d.clock.NewTicker(sweepInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.Chan():
			now := d.clock.Now() // not the tick's time: a fake clock may skip ticks
			for _, end := range d.lim.sweep(now) {
				d.floodEnded(ctx, end.device, end.dropped, now)
			}
		}
	}
}

// enqueue hands an event to the worker, waiting for room while ctx lasts. broker labels
// the stall metric ("" for the driver's own events).
func (d *Driver) enqueue(ctx context.Context, broker string, it item) {
	select {
	case d.queue <- it:
		return
	default:
	}
	if broker != "" {
		d.m.stalls.WithLabelValues(broker).Inc()
	}
	select {
	case d.queue <- it:
	case <-ctx.Done():
		// Not acknowledged: delivered again to the next session.
	}
}

// handle is the message path of one broker's messages (paho's router goroutine).
func (d *Driver) handle(b *broker, m paho.Message) {
	d.m.messages.WithLabelValues(b.cfg.Name).Inc()
	topic := m.Topic()
	r := b.routes.Load().match(topic)
	if r == nil {
		d.m.dropped.WithLabelValues(unknownDevice, "no_mapping").Inc()
		d.ackNothing(m)
		return
	}
	now := d.clock.Now()
	ev, err := r.dec.Decode(topic, m.Payload(), now)
	dir := d.dir.Load()
	dev := dir.Device(ev.DeviceID)
	label := unknownDevice
	if dev != nil {
		label = dev.ID
	}
	if err != nil {
		reason := payload.Reason(err)
		d.m.invalid.WithLabelValues(label, reason).Inc()
		d.logGated(label, now, "mqtt payload rejected", "broker", b.cfg.Name, "mapping", r.name, "topic", topic, "device", ev.DeviceID, "reason", reason, "err", err)
		d.ackNothing(m)
		return
	}
	if dev == nil {
		d.m.dropped.WithLabelValues(unknownDevice, "unknown_device").Inc()
		d.logGated(unknownDevice, now, "mqtt message from a device not in the site config", "broker", b.cfg.Name, "mapping", r.name, "topic", topic, "device", ev.DeviceID)
		d.ackNothing(m)
		return
	}
	if dev.Kind != r.dec.Kind() {
		d.m.dropped.WithLabelValues(label, "kind_mismatch").Inc()
		d.logGated(label, now, "mqtt mapping kind differs from the device's kind", "mapping", r.name, "device", dev.ID, "mapping_kind", r.dec.Kind(), "device_kind", dev.Kind)
		d.ackNothing(m)
		return
	}
	if dir.Site != nil {
		ev.Site = dir.Site.ID
	}
	v := d.lim.allow(r.name, dev.ID, r.rate, ev, now)
	if v.ended {
		d.floodEnded(b.ctx(), dev.ID, v.endedDropped, now)
	}
	if !v.allow {
		d.m.dropped.WithLabelValues(label, "rate").Inc()
		if v.started {
			// This message raises the flood fault: it is acknowledged once the fault is
			// durable, like any message that became an event.
			d.log.Warn("mqtt device floods: repeats over its rate limit are dropped; raising a device fault",
				"broker", b.cfg.Name, "mapping", r.name, "device", dev.ID, "type", ev.Type, "rate", r.rate.Rate, "burst", r.rate.Burst)
			d.raise(b.ctx(), dev.ID, event.TypeFault, v.dropped, now, m)
		} else {
			d.ackNothing(m) // a repeat of a state already passed
			d.logGated("flood/"+dev.ID, now, "mqtt device still floods", "mapping", r.name, "device", dev.ID, "dropped", v.dropped)
		}
		return
	}
	d.enqueue(b.ctx(), b.cfg.Name, item{ev: ev, msg: m})
}

// floodEnded logs a device's flood as over and restores its fault.
func (d *Driver) floodEnded(ctx context.Context, device string, dropped int, now time.Time) {
	d.log.Info("mqtt device within its rate limit again; restoring its fault", "device", device, "dropped", dropped)
	d.raise(ctx, device, event.TypeFaultRestore, dropped, now, nil)
}

// raise hands on a flood fault (or its restore) of device: fields reason "flood" and
// dropped, the number of messages dropped so far. msg, when not nil, is the message
// that raised it: acknowledged once the event is durable.
func (d *Driver) raise(ctx context.Context, device, typ string, dropped int, now time.Time, msg paho.Message) {
	dir := d.dir.Load()
	dev := dir.Device(device)
	if dev == nil {
		if msg != nil {
			d.ackNothing(msg) // gone in a reload: nothing raised
		}
		return
	}
	ev := event.Event{DeviceID: dev.ID, Kind: dev.Kind, Type: typ, ReceivedAt: now, Source: Source,
		Fields: event.Fields{"reason": "flood", "dropped": int64(dropped)}}
	if dir.Site != nil {
		ev.Site = dir.Site.ID
	}
	d.enqueue(ctx, "", item{ev: ev, msg: msg})
}

func (d *Driver) logGated(key string, now time.Time, msg string, args ...any) {
	ok, suppressed := d.gate.allow(key, now)
	if !ok {
		return
	}
	if suppressed > 0 {
		args = append(args, "suppressed", suppressed)
	}
	d.log.Warn(msg, args...)
}

// Publish sends payload to topic on the named broker and waits for the broker's
// acknowledgement (PUBACK at QoS 1) until ctx ends. For the alerting MQTT sink and the
// simulator.
func (d *Driver) Publish(ctx context.Context, broker, topic string, qos byte, retained bool, payload []byte) error {
	d.mu.Lock()
	b := d.brokers[broker]
	d.mu.Unlock()
	if b == nil {
		return fmt.Errorf("mqtt %s: %w", broker, ErrUnknownBroker)
	}
	return b.publish(ctx, topic, qos, retained, payload)
}

// Health reports every broker: up when all are connected, down when none is,
// degraded in between. Detail holds each broker's BrokerHealth.
func (d *Driver) Health() health.Status {
	d.mu.Lock()
	bs := make([]*broker, 0, len(d.brokers))
	for _, b := range d.brokers {
		bs = append(bs, b)
	}
	d.mu.Unlock()
	sort.Slice(bs, func(i, j int) bool { return bs[i].cfg.Name < bs[j].cfg.Name })
	st := health.Status{State: health.Up, Detail: map[string]any{}}
	up := 0
	var down []string
	for _, b := range bs {
		h := b.health()
		st.Detail[b.cfg.Name] = h
		if h.State == health.Up {
			up++
		} else {
			down = append(down, b.cfg.Name)
		}
	}
	switch {
	case len(down) == 0:
	case up == 0:
		st.State = health.Down
		st.Reason = fmt.Sprintf("no broker connected: %v", down)
	default:
		st.State = health.Degraded
		st.Reason = fmt.Sprintf("not connected: %v", down)
	}
	return st
}

// BrokerHealth reports one broker (false when it is not configured).
func (d *Driver) BrokerHealth(name string) (health.Status, bool) {
	d.mu.Lock()
	b := d.brokers[name]
	d.mu.Unlock()
	if b == nil {
		return health.Status{}, false
	}
	return b.health(), true
}

// Reporter returns a health.Reporter for one broker, for per-broker registration.
func (d *Driver) Reporter(name string) health.Reporter {
	return health.Func(func() health.Status {
		st, ok := d.BrokerHealth(name)
		if !ok {
			return health.Status{State: health.Down, Reason: "not configured"}
		}
		return st
	})
}
