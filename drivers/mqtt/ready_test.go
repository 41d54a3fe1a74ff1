package mqtt

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/campusguard/campusguard/internal/testenv"
	"github.com/campusguard/campusguard/site"
)

// TestWaitSubscribedAndSubscribeOnce: WaitSubscribed returns once the broker
// acknowledged the subscriptions, and the first connect sends SUBSCRIBE once (the
// broker's log of subscriptions has one line for the filter, not two).
func TestWaitSubscribedAndSubscribeOnce(t *testing.T) {
	m := testenv.StartMosquitto(t, "log_type subscribe\n")
	cfg := kitchenConfig(t, m.URL("tcp"), t.TempDir())
	filter := cfg.Mappings[0].Topic
	h := startDriver(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), awaitTimeout)
	defer cancel()
	if err := h.d.WaitSubscribed(ctx); err != nil {
		t.Fatal(err)
	}
	// Let a second SUBSCRIBE, were one sent, reach the broker's log.
	time.Sleep(300 * time.Millisecond)
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
