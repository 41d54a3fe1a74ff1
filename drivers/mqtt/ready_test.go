package mqtt

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/campusguard/campusguard/event"
	"github.com/campusguard/campusguard/internal/testenv"
	"github.com/campusguard/campusguard/site"
)

// TestWaitSubscribedAndSubscribeOnce: WaitSubscribed returns once the broker
// acknowledged the subscriptions, and the first connect sends SUBSCRIBE once: the
// driver asks for it once, and the broker's log of subscriptions has one line for
// the filter, not two.
func TestWaitSubscribedAndSubscribeOnce(t *testing.T) {
	m := testenv.StartMosquitto(t, "log_type subscribe\n")
	cfg := kitchenConfig(t, m.URL("tcp"), t.TempDir())
	filter := cfg.Mappings[0].Topic
	type syncRun struct {
		connects  int
		subscribe bool
	}
	synced := make(chan syncRun, 100)
	d := New(Options{Publisher: event.NewBus(nil), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	d.hooks.synced = func(_ string, n int, sub bool) { synced <- syncRun{n, sub} }
	if err := d.Apply(cfg, site.NewDirectory(testSite, testDevices)); err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(runCtx) }()
	t.Cleanup(func() { stop(); <-done })

	ctx, cancel := context.WithTimeout(context.Background(), awaitTimeout)
	defer cancel()
	if err := d.WaitSubscribed(ctx); err != nil {
		t.Fatal(err)
	}
	// A second SUBSCRIBE would come from the connect handler: it would set the
	// resubscribe flag in the same step that counts the connect, so every sync that
	// read connects >= 1 ran after it. Once such a sync ended, any SUBSCRIBE the
	// handler caused has been sent and acknowledged.
	subscribes := 0
	for after := false; !after; {
		select {
		case s := <-synced:
			if s.subscribe {
				subscribes++
			}
			after = s.connects >= 1
		case <-ctx.Done():
			t.Fatal("no subscription sync after the connect handler")
		}
	}
	if subscribes != 1 {
		t.Fatalf("the driver sent SUBSCRIBE %d times on the first connect, want 1", subscribes)
	}
	// The broker logs one connection's packets in order: once it logged a marker
	// subscription sent on the same connection, it logged every SUBSCRIBE before it.
	marker := "campusguard-test/marker"
	d.mu.Lock()
	b := d.brokers[cfg.Brokers[0].Name]
	d.mu.Unlock()
	if tok := b.client.Subscribe(marker, 0, nil); !tok.WaitTimeout(awaitTimeout) || tok.Error() != nil {
		t.Fatalf("marker subscription: %v", tok.Error())
	}
	m.AwaitLog(0, marker)
	lines := m.Log()
	n := 0
	for _, l := range lines {
		if strings.Contains(l, cfg.Brokers[0].ClientID) && strings.Contains(l, filter) {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d subscriptions to %s logged by the broker, want 1:\n%s", n, filter, strings.Join(lines, "\n"))
	}
}

// TestWaitSubscribedNamesTheBrokerThatDidNotAnswer: a broker that cannot be reached
// holds WaitSubscribed until its context ends, and the error names it.
func TestWaitSubscribedNamesTheBrokerThatDidNotAnswer(t *testing.T) {
	cfg := kitchenConfig(t, "tcp://127.0.0.1:1", t.TempDir())
	d := New(Options{})
	if err := d.Apply(cfg, site.NewDirectory(testSite, testDevices)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := d.WaitSubscribed(ctx)
	if err == nil || !strings.Contains(err.Error(), cfg.Brokers[0].Name) {
		t.Fatalf("err %v, want one naming broker %s", err, cfg.Brokers[0].Name)
	}
}
