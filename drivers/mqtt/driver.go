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

	"github.com/campusguard/campusguard/event"
	"github.com/campusguard/campusguard/internal/cfgerr"
	"github.com/campusguard/campusguard/internal/health"
	"github.com/campusguard/campusguard/internal/site"
)

// Publisher takes the driver's events; *event.Bus satisfies it. Publish returns once
// the event is handed on; only then is the MQTT message acknowledged.
type Publisher interface {
	Publish(ctx context.Context, e event.Event) (event.Event, error)
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
	Publisher Publisher
	// Registerer registers the metrics (nil: not registered).
	Registerer prometheus.Registerer
	// Logger for connection changes and (rate-limited) malformed payloads.
	Logger *slog.Logger
	// Clock stamps ReceivedAt and drives rate limits (nil: the real clock).
	Clock clockwork.Clock
	// QueueSize bounds the events waiting for the Publisher (default 1024).
	QueueSize int
}

// ErrUnknownBroker is returned by Publish for a broker name not in the config.
var ErrUnknownBroker = errors.New("unknown mqtt broker")

// Driver runs one client per configured broker and turns their messages into events.
type Driver struct {
	pub   Publisher
	log   *slog.Logger
	clock clockwork.Clock
	m     *metrics
	queue chan item
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
}

type item struct {
	ev  event.Event
	msg paho.Message
}

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
		log:     o.Logger.With("component", "mqtt"),
		clock:   o.Clock,
		m:       newMetrics(o.Registerer),
		queue:   make(chan item, o.QueueSize),
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
	dec    *Decoder
	rate   RateLimitConfig
}

type routeTable []route

func (rt routeTable) match(topic string) *route {
	for i := range rt {
		if matchTopic(rt[i].filter, topic) {
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
	var errs cfgerr.List
	cfg.Validate(&errs)
	if err := errs.Err(); err != nil {
		return err
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
		return err
	}
	// Build new clients before touching the running ones, so a bad TLS file or store
	// dir leaves everything as it was.
	d.mu.Lock()
	defer d.mu.Unlock()
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
	if err := errs.Err(); err != nil {
		return err
	}
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
	return nil
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
// Events still queued at the end are not acknowledged: the broker delivers them again
// to the next session. Run may be called once.
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
	wg.Add(1)
	go func() {
		defer wg.Done()
		d.work(ctx)
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

// work publishes queued events in order and acknowledges each after the hand-off.
func (d *Driver) work(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case it := <-d.queue:
			if _, err := d.pub.Publish(ctx, it.ev); err != nil {
				if ctx.Err() == nil {
					d.log.Error("mqtt event not handed on; the broker will deliver it again", "device", it.ev.DeviceID, "err", err)
				}
				continue
			}
			it.msg.Ack()
		}
	}
}

// enqueue hands an event to the worker, waiting for room while ctx lasts.
func (d *Driver) enqueue(ctx context.Context, broker string, it item) {
	select {
	case d.queue <- it:
		return
	default:
	}
	d.m.stalls.WithLabelValues(broker).Inc()
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
		m.Ack()
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
		reason := Reason(err)
		d.m.invalid.WithLabelValues(label, reason).Inc()
		d.logGated(label, now, "mqtt payload rejected", "broker", b.cfg.Name, "mapping", r.name, "topic", topic, "device", ev.DeviceID, "reason", reason, "err", err)
		m.Ack()
		return
	}
	if dev == nil {
		d.m.dropped.WithLabelValues(unknownDevice, "unknown_device").Inc()
		d.logGated(unknownDevice, now, "mqtt message from a device not in the site config", "broker", b.cfg.Name, "mapping", r.name, "topic", topic, "device", ev.DeviceID)
		m.Ack()
		return
	}
	if dev.Kind != r.dec.Kind() {
		d.m.dropped.WithLabelValues(label, "kind_mismatch").Inc()
		d.logGated(label, now, "mqtt mapping kind differs from the device's kind", "mapping", r.name, "device", dev.ID, "mapping_kind", r.dec.Kind(), "device_kind", dev.Kind)
		m.Ack()
		return
	}
	if !d.lim.allow(r.name, dev.ID, r.rate, now) {
		d.m.dropped.WithLabelValues(label, "rate").Inc()
		m.Ack()
		return
	}
	if dir.Site != nil {
		ev.Site = dir.Site.ID
	}
	d.enqueue(b.ctx(), b.cfg.Name, item{ev: ev, msg: m})
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
