package mqtt

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/campusguard/campusguard/health"
)

// subscribeRetry is how long the broker goroutine waits before retrying a failed
// SUBSCRIBE or UNSUBSCRIBE.
const subscribeRetry = 5 * time.Second

// broker is one client, its session and its subscriptions.
type broker struct {
	d      *Driver
	cfg    BrokerConfig
	client paho.Client
	routes atomic.Pointer[routeTable]
	resync chan struct{} // cap 1: subscriptions or connection changed
	first  *firstSync    // closed once the subscriptions were first in step

	runCtx atomic.Pointer[context.Context]
	cancel context.CancelFunc
	done   chan struct{}

	mu         sync.Mutex
	started    bool
	full       bool            // resubscribe everything (after a connect)
	subscribed map[string]byte // what the broker has from us
	connects   int
	lastErr    string
	lastErrAt  time.Time
	since      time.Time // of the last connect or loss
}

func newBroker(d *Driver, cfg BrokerConfig) (*broker, error) {
	b := &broker{d: d, cfg: cfg, resync: make(chan struct{}, 1), first: newFirstSync(), subscribed: map[string]byte{}}
	b.routes.Store(&routeTable{})
	o := paho.NewClientOptions()
	o.AddBroker(cfg.URL)
	o.SetClientID(cfg.ClientID)
	o.SetUsername(cfg.Username)
	o.SetPassword(cfg.Password.Reveal())
	o.SetCleanSession(false)
	o.SetResumeSubs(true)
	o.SetOrderMatters(true)
	o.SetAutoAckDisabled(true)
	o.SetAutoReconnect(true)
	o.SetConnectRetry(false) // the first connect is retried by run, which watches ctx
	o.SetMaxReconnectInterval(cfg.MaxReconnectInterval)
	o.SetKeepAlive(cfg.KeepAlive)
	o.SetConnectTimeout(cfg.ConnectTimeout)
	o.SetWriteTimeout(cfg.ConnectTimeout)
	o.SetProtocolVersion(4)
	if cfg.StoreDir == "" {
		return nil, errors.New("no store dir")
	}
	// paho's FileStore panics when it cannot create its directory: create it here.
	if err := os.MkdirAll(cfg.StoreDir, 0o700); err != nil {
		return nil, fmt.Errorf("store dir: %w", err)
	}
	o.SetStore(newHybridStore(cfg.StoreDir))
	tc, err := cfg.TLS.Config()
	if err != nil {
		return nil, err
	}
	o.SetTLSConfig(tc)
	if open := bufferedOpener(cfg.URL); open != nil {
		o.SetCustomOpenConnectionFn(open)
	}
	o.SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) { d.handle(b, m) })
	o.SetOnConnectHandler(func(paho.Client) { b.onConnect() })
	o.SetConnectionLostHandler(func(_ paho.Client, err error) { b.onLost(err) })
	b.client = paho.NewClient(o)
	return b, nil
}

// ctx is the context the message handler may wait on: it ends when the broker stops.
func (b *broker) ctx() context.Context {
	if p := b.runCtx.Load(); p != nil {
		return *p
	}
	return stoppedCtx
}

var stoppedCtx = func() context.Context {
	c, cancel := context.WithCancel(context.Background())
	cancel()
	return c
}()

func (b *broker) start(parent context.Context) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.started {
		return
	}
	b.started = true
	ctx, cancel := context.WithCancel(parent)
	b.runCtx.Store(&ctx)
	b.cancel = cancel
	b.done = make(chan struct{})
	go func() {
		defer close(b.done)
		b.run(ctx)
	}()
}

// stop disconnects and waits for the broker goroutine to end.
func (b *broker) stop() {
	b.mu.Lock()
	started := b.started
	b.mu.Unlock()
	if !started {
		return
	}
	b.cancel()
	<-b.done
}

func (b *broker) setRoutes(rt routeTable) {
	b.routes.Store(&rt)
	b.signal()
}

func (b *broker) signal() {
	select {
	case b.resync <- struct{}{}:
	default:
	}
}

func (b *broker) run(ctx context.Context) {
	log := b.d.log.With("broker", b.cfg.Name)
	defer func() {
		b.client.Disconnect(250)
		b.d.m.connected.WithLabelValues(b.cfg.Name).Set(0)
		log.Info("mqtt disconnected")
	}()
	// First connect: retried with back-off until it succeeds or ctx ends. After it,
	// paho reconnects by itself (SetAutoReconnect) and onConnect resubscribes.
	wait := time.Second
	for {
		tok := b.client.Connect()
		select {
		case <-ctx.Done():
			return
		case <-tok.Done():
		}
		err := tok.Error()
		if err == nil {
			break
		}
		b.setErr(err)
		log.Warn("mqtt connect failed", "url", b.cfg.URL, "err", err, "retry_in", wait)
		select {
		case <-ctx.Done():
			return
		case <-b.d.clock.After(wait):
		}
		wait = min(2*wait, max(b.cfg.MaxReconnectInterval, time.Second))
	}
	var retry <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-b.resync:
		case <-retry:
		}
		retry = nil
		if err := b.sync(ctx); err != nil {
			b.setErr(err)
			log.Warn("mqtt subscriptions not in step", "err", err)
			retry = b.d.clock.After(subscribeRetry)
		}
	}
}

// sync brings the broker's subscriptions in line with the routes.
func (b *broker) sync(ctx context.Context) error {
	if !b.client.IsConnectionOpen() {
		return nil // onConnect will signal again
	}
	want := b.routes.Load().filters()
	b.mu.Lock()
	full := b.full
	b.full = false
	have := b.subscribed
	connects := b.connects
	b.mu.Unlock()
	add := map[string]byte{}
	var remove []string
	for f, q := range want {
		if hq, ok := have[f]; full || !ok || hq != q {
			add[f] = q
		}
	}
	for f := range have {
		if _, ok := want[f]; !ok {
			remove = append(remove, f)
		}
	}
	fail := func(err error) error {
		b.mu.Lock()
		b.full = b.full || full
		b.mu.Unlock()
		return err
	}
	if len(remove) > 0 {
		if err := b.await(ctx, b.client.Unsubscribe(remove...)); err != nil {
			return fail(fmt.Errorf("mqtt %s: unsubscribe %v: %w", b.cfg.Name, remove, err))
		}
		b.mu.Lock()
		for _, f := range remove {
			delete(b.subscribed, f)
		}
		b.mu.Unlock()
	}
	if len(add) > 0 {
		tok := b.client.SubscribeMultiple(add, nil) // nil: messages go to the default handler
		if err := b.await(ctx, tok); err != nil {
			return fail(fmt.Errorf("mqtt %s: subscribe: %w", b.cfg.Name, err))
		}
		var refused []string
		if st, ok := tok.(*paho.SubscribeToken); ok {
			for f, code := range st.Result() {
				if code == 0x80 {
					refused = append(refused, f)
				}
			}
		}
		b.mu.Lock()
		for f, q := range add {
			b.subscribed[f] = q
		}
		for _, f := range refused {
			delete(b.subscribed, f)
		}
		b.mu.Unlock()
		if len(refused) > 0 {
			return fail(fmt.Errorf("mqtt %s: broker refused subscriptions %v", b.cfg.Name, refused))
		}
		b.d.log.Info("mqtt subscribed", "broker", b.cfg.Name, "filters", len(add), "resubscribe", full)
	}
	b.first.done()
	if h := b.d.hooks.synced; h != nil {
		h(b.cfg.Name, connects, len(add) > 0)
	}
	if h := b.d.hooks.subscribed; h != nil {
		b.mu.Lock()
		cp := make(map[string]byte, len(b.subscribed))
		for f, q := range b.subscribed {
			cp[f] = q
		}
		n := b.connects
		b.mu.Unlock()
		h(b.cfg.Name, n, cp)
	}
	return nil
}

// await waits for a token until the connect timeout or ctx.
func (b *broker) await(ctx context.Context, tok paho.Token) error {
	timeout := b.cfg.ConnectTimeout
	if timeout <= 0 {
		timeout = DefaultConnectTimeout
	}
	t := b.d.clock.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-tok.Done():
		return tok.Error()
	case <-ctx.Done():
		return ctx.Err()
	case <-t.Chan():
		return errors.New("timed out")
	}
}

func (b *broker) onConnect() {
	b.mu.Lock()
	b.connects++
	n := b.connects
	// A reconnect subscribes everything again (the broker may have lost the session).
	// The first connect does not need to: nothing is subscribed yet, so the first sync
	// asks for every filter anyway; setting full here too sent SUBSCRIBE twice at start
	// when paho ran this handler after that sync.
	b.full = n > 1
	b.since = b.d.clock.Now()
	b.mu.Unlock()
	b.d.m.connected.WithLabelValues(b.cfg.Name).Set(1)
	if n > 1 {
		b.d.m.reconnects.WithLabelValues(b.cfg.Name).Inc()
	}
	b.d.log.Info("mqtt connected", "broker", b.cfg.Name, "url", b.cfg.URL, "connects", n)
	b.signal()
}

func (b *broker) onLost(err error) {
	b.d.m.connected.WithLabelValues(b.cfg.Name).Set(0)
	b.mu.Lock()
	b.since = b.d.clock.Now()
	b.mu.Unlock()
	b.setErr(fmt.Errorf("connection lost: %w", err))
	b.d.log.Warn("mqtt connection lost; reconnecting", "broker", b.cfg.Name, "err", err)
}

func (b *broker) setErr(err error) {
	b.mu.Lock()
	b.lastErr = err.Error()
	b.lastErrAt = b.d.clock.Now()
	b.mu.Unlock()
}

func (b *broker) health() health.Status {
	connected := b.client.IsConnectionOpen()
	b.mu.Lock()
	defer b.mu.Unlock()
	st := health.Status{State: health.Up, Detail: map[string]any{
		"url":           b.cfg.URL,
		"connected":     connected,
		"subscriptions": len(b.subscribed),
		"connects":      b.connects,
	}}
	if !b.since.IsZero() {
		st.Detail["since"] = b.since
	}
	if b.lastErr != "" {
		st.Detail["last_error"] = b.lastErr
		st.Detail["last_error_at"] = b.lastErrAt
	}
	if !connected {
		st.State = health.Down
		st.Reason = "not connected"
		if b.lastErr != "" {
			st.Reason += ": " + b.lastErr
		}
	}
	return st
}

func (b *broker) publish(ctx context.Context, topic string, qos byte, retained bool, payload []byte) error {
	if qos > 1 {
		return fmt.Errorf("mqtt %s: qos %d not supported", b.cfg.Name, qos)
	}
	tok := b.client.Publish(topic, qos, retained, payload)
	select {
	case <-tok.Done():
		if err := tok.Error(); err != nil {
			return fmt.Errorf("mqtt %s: publish %s: %w", b.cfg.Name, topic, err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("mqtt %s: publish %s: %w", b.cfg.Name, topic, ctx.Err())
	}
}
