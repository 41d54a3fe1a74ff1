package policelink

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/alerting/policelink/dc09"
	"github.com/campusguard/campusguard/alerting/policelink/dc09/centre"
	"github.com/campusguard/campusguard/event"
	"github.com/campusguard/campusguard/event/eventtest"
	"github.com/campusguard/campusguard/secret"
)

const (
	testAccount = "1234"
	testKeyHex  = "ABCDABCDABCDABCDABCDABCDABCDABCD"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func testKey(t testing.TB) *dc09.Key {
	t.Helper()
	k, err := dc09.ParseKey(testKeyHex, dc09.KeyHex)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// startReceiver starts a loopback receiver on network; encrypted gives it the test key.
func startReceiver(t testing.TB, network string, encrypted bool, mod func(*centre.Config)) *centre.Receiver {
	t.Helper()
	cfg := centre.Config{Network: network}
	if encrypted {
		cfg.Key = testKey(t)
	}
	if mod != nil {
		mod(&cfg)
	}
	r := centre.New(cfg)
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Stop() })
	return r
}

func addr(r *centre.Receiver, network string) string {
	if network == "udp" {
		return r.UDPAddr()
	}
	return r.TCPAddr()
}

// baseConfig is a link with a panic mapping (CID 120 with restore) to primary.
func baseConfig(network string, encrypted bool, primary string) Config {
	c := Config{
		Enabled: true, Account: testAccount, Transport: network, Timeout: 2 * time.Second,
		Main: Path{Primary: primary},
		Mappings: []Mapping{
			{Match: Match{Kind: event.KindPanic}, Code: 120, Restore: true},
			{Match: Match{Rule: "tamper"}, Code: 137, Area: 2, Zone: 9},
		},
	}
	if encrypted {
		c.Key = secret.Inline(testKeyHex)
	}
	return c
}

func newSink(t testing.TB, cfg Config, opt Options) *Sink {
	t.Helper()
	if opt.Logger == nil {
		opt.Logger = quiet
	}
	s, err := New(cfg, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

var epoch = time.Date(2025, 9, 24, 8, 0, 0, 0, time.UTC)

// fired is the fire notification of a panic alarm raised at `at`.
func fired(id string, at time.Time) alerting.Notification {
	a := alerting.Alarm{ID: id, Rule: "panic", Site: "school", DeviceID: "btn-1", DeviceKind: event.KindPanic,
		Zone: "gate", Severity: alerting.Critical, State: alerting.Firing, FiredAt: at, LastAt: at}
	return alerting.Notification{ID: id + "/1", Transition: alerting.Fired, Alarm: a, Count: 1, At: at}
}

// resolved is the resolve notification of the same alarm.
func resolved(id string, firedAt, at time.Time) alerting.Notification {
	n := fired(id, firedAt)
	n.ID = id + "/2"
	n.Transition = alerting.ResolvedT
	n.Alarm.State, n.Alarm.ResolvedAt = alerting.Resolved, at
	n.At = at
	return n
}

// deliverInOrder is the core's delivery loop in small: each notification in turn,
// retrying the same one on error (with a short pause), Permanent ends it.
func deliverInOrder(ctx context.Context, s *Sink, ns []alerting.Notification, failed chan<- error) error {
	for _, n := range ns {
		for {
			dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := s.Deliver(dctx, n)
			cancel()
			var p *alerting.Permanent
			if err == nil || errors.As(err, &p) {
				break
			}
			if ctx.Err() != nil {
				return fmt.Errorf("delivering %s: %w", n.ID, err)
			}
			if failed != nil {
				select {
				case failed <- err:
				default:
				}
			}
			select {
			case <-ctx.Done():
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	return nil
}

// waitEvent returns the next event of type typ the sink published (others are
// skipped).
func waitEvent(t *testing.T, events *eventtest.Recorder, typ string) event.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		e, err := events.Next(ctx)
		if err != nil {
			t.Fatalf("no %s event: %v", typ, err)
		}
		if e.Type == typ {
			return e
		}
	}
}

// runSink runs s's Run until the test ends.
func runSink(t *testing.T, ctx context.Context, s *Sink) {
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Run(runCtx) }()
	t.Cleanup(func() { stop(); <-done })
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// messages returns the decoded messages of recs that are not NULL.
func messages(recs []centre.Received) []dc09.Message {
	var out []dc09.Message
	for _, r := range recs {
		if r.Message.ID != dc09.TokenNULL {
			out = append(out, r.Message)
		}
	}
	return out
}

// newRawServer is a hand-written TCP receiver that answers each clear frame with
// the frames reply returns, for answers the centre does not script (stale ACKs).
func newRawServer(t *testing.T, reply func(dc09.Message) [][]byte) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				stop := context.AfterFunc(t.Context(), func() { c.Close() })
				defer stop()
				sc := bufio.NewScanner(c)
				sc.Split(dc09.ScanFrames)
				for sc.Scan() {
					m, err := dc09.Decode(sc.Bytes(), nil)
					if err != nil {
						continue
					}
					for _, b := range reply(m) {
						if _, err := c.Write(b); err != nil {
							return
						}
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func mustEncode(t testing.TB, m dc09.Message) []byte {
	t.Helper()
	b, err := dc09.Encode(m, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
