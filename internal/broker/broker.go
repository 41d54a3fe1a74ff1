// Package broker runs the embedded MQTT broker (mochi-mqtt) for the demo campus and
// for sites that have no broker of their own. Sessions and retained messages persist
// in a bbolt file under the state directory, so QoS 1 messages queued for the gateway
// survive a restart of the daemon.
package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/hooks/storage/bolt"
	"github.com/mochi-mqtt/server/v2/listeners"
	"go.etcd.io/bbolt"

	"github.com/campusguard/campusguard/health"
)

// Broker is a running embedded broker.
type Broker struct {
	srv     *mqtt.Server
	addr    string
	running atomic.Bool
	done    chan struct{}
}

// Options configures the embedded broker.
type Options struct {
	Listen   string // host:port
	StateDir string // where the session store lives ("" = in memory only)
	Logger   *slog.Logger
}

// Start listens on opts.Listen and serves until ctx ends or Close is called.
func Start(ctx context.Context, opts Options) (*Broker, error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	// The broker logs every connection at info; keep it at warn so the daemon's own
	// log stays readable.
	quiet := slog.New(levelFilter{h: log.Handler(), min: slog.LevelWarn})
	srv := mqtt.New(&mqtt.Options{InlineClient: true, Logger: quiet})
	if err := srv.AddHook(new(auth.AllowHook), nil); err != nil {
		return nil, fmt.Errorf("embedded broker: %w", err)
	}
	if opts.StateDir != "" {
		if err := os.MkdirAll(opts.StateDir, 0o750); err != nil {
			return nil, fmt.Errorf("embedded broker: %w", err)
		}
		err := srv.AddHook(new(bolt.Hook), &bolt.Options{
			Path:    filepath.Join(opts.StateDir, "broker.db"),
			Options: &bbolt.Options{Timeout: 2 * time.Second},
		})
		if err != nil {
			return nil, fmt.Errorf("embedded broker store: %w", err)
		}
	}
	// Listen ourselves so a busy port is an error now, not a log line later.
	ln, err := net.Listen("tcp", opts.Listen)
	if err != nil {
		_ = srv.Close()
		return nil, fmt.Errorf("embedded broker listen %s: %w", opts.Listen, err)
	}
	tcp := listeners.NewNet("tcp", ln)
	if err := srv.AddListener(tcp); err != nil {
		_ = ln.Close()
		_ = srv.Close()
		return nil, fmt.Errorf("embedded broker: %w", err)
	}
	b := &Broker{srv: srv, addr: ln.Addr().String(), done: make(chan struct{})}
	if err := srv.Serve(); err != nil {
		_ = srv.Close()
		return nil, fmt.Errorf("embedded broker: %w", err)
	}
	b.running.Store(true)
	go func() {
		defer close(b.done)
		<-ctx.Done()
		b.Close()
	}()
	return b, nil
}

// Addr is the address the broker listens on.
func (b *Broker) Addr() string { return b.addr }

// URL is the broker's address as a client URL.
func (b *Broker) URL() string { return "tcp://" + b.addr }

// Close stops the broker.
func (b *Broker) Close() {
	if b.running.CompareAndSwap(true, false) {
		_ = b.srv.Close()
	}
}

// Publish sends a message from inside the process.
func (b *Broker) Publish(topic string, payload []byte, retain bool, qos byte) error {
	if !b.running.Load() {
		return errors.New("embedded broker stopped")
	}
	return b.srv.Publish(topic, payload, retain, qos)
}

// Health reports whether the broker runs and how many clients it has.
func (b *Broker) Health() health.Status {
	if !b.running.Load() {
		return health.Status{State: health.Down, Reason: "stopped"}
	}
	return health.Status{State: health.Up, Detail: map[string]any{
		"listen":  b.addr,
		"clients": atomic.LoadInt64(&b.srv.Info.ClientsConnected),
	}}
}

type levelFilter struct {
	h   slog.Handler
	min slog.Level
}

func (f levelFilter) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= f.min && f.h.Enabled(ctx, l)
}
func (f levelFilter) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == "failed to get data" {
		// mochi's bolt store logs a missing key at error level on every first start
		// (the empty $SYS record); that is not an error for us.
		notFound := false
		r.Attrs(func(a slog.Attr) bool {
			notFound = a.Key == "error" && strings.Contains(a.Value.String(), "not found")
			return !notFound
		})
		if notFound {
			return nil
		}
	}
	return f.h.Handle(ctx, r)
}
func (f levelFilter) WithAttrs(a []slog.Attr) slog.Handler {
	return levelFilter{h: f.h.WithAttrs(a), min: f.min}
}
func (f levelFilter) WithGroup(n string) slog.Handler {
	return levelFilter{h: f.h.WithGroup(n), min: f.min}
}
