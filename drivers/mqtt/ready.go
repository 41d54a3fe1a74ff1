package mqtt

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
)

// firstSync is closed once a broker's subscriptions were first in step with its
// routes: the broker acknowledged (SUBACK) every filter, or there was none to ask for.
type firstSync struct {
	once sync.Once
	ch   chan struct{}
}

func newFirstSync() *firstSync { return &firstSync{ch: make(chan struct{})} }

func (f *firstSync) done() { f.once.Do(func() { close(f.ch) }) }

// WaitSubscribed blocks until every configured broker has acknowledged its first
// subscriptions (a broker with no mapping counts at once), or ctx ends. The daemon
// waits for it, bounded, before it tells systemd it is ready: a device message sent
// after READY=1 is then taken. On ctx's end it names the brokers still waiting.
func (d *Driver) WaitSubscribed(ctx context.Context) error {
	d.mu.Lock()
	bs := make([]*broker, 0, len(d.brokers))
	for _, b := range d.brokers {
		bs = append(bs, b)
	}
	d.mu.Unlock()
	var waiting []string
	for _, b := range bs {
		select {
		case <-b.first.ch:
		case <-ctx.Done():
			waiting = append(waiting, b.cfg.Name)
		}
	}
	if len(waiting) > 0 {
		sort.Strings(waiting)
		return fmt.Errorf("mqtt brokers not subscribed yet: %s: %w", strings.Join(waiting, ", "), ctx.Err())
	}
	return nil
}
