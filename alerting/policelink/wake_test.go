package policelink

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/alerting/policelink/dc09"
	"github.com/campusguard/campusguard/alerting/policelink/dc09/centre"
	"github.com/campusguard/campusguard/event/eventtest"
)

// worker is the alerting core's delivery loop in small, as the lead's worker is to
// run it: each notification in turn; after a failure it sleeps its backoff on the
// (fake) clock, or until the sink's Wake fires. failed receives each failure.
func worker(ctx context.Context, clock clockwork.Clock, s *Sink, backoff time.Duration, ns []alerting.Notification, failed chan<- error) error {
	for _, n := range ns {
		for {
			err := s.Deliver(ctx, n)
			var p *alerting.Permanent
			if err == nil || errors.As(err, &p) {
				break
			}
			if ctx.Err() != nil {
				return err
			}
			select {
			case failed <- err:
			default:
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-clock.After(backoff):
			case <-s.Wake():
			}
		}
	}
	return nil
}

// TestRestoreWakesBacklog (finding 6): 20 alarms wait while the only receiver is
// down and the worker sleeps a one-minute backoff (fake clock). The receiver comes
// back; the main path is probed after probe_main (15 s, not the 90 s supervision
// interval); its ACK restores the path and wakes the worker, which sends the
// backlog in order at once, without the backoff running out. The time from the
// restore to the last ACK is logged.
func TestRestoreWakesBacklog(t *testing.T) {
	for _, network := range []string{"tcp", "udp"} {
		t.Run(network, func(t *testing.T) {
			ctx := ctxT(t)
			clock := clockwork.NewFakeClockAt(time.Now())
			rcv := startReceiver(t, network, true, func(c *centre.Config) { c.NoTimeCheck = true })
			rcv.Stop()
			cfg := baseConfig(network, true, addr(rcv, network))
			cfg.Timeout = 200 * time.Millisecond
			cfg.PeriodicTest.Disabled = true
			events := eventtest.NewRecorder(time.Now)
			s := newSink(t, cfg, Options{Clock: clock, Publisher: events})
			runSink(t, ctx, s)
			waitEvent(t, events, TypePathFail)

			base := time.Now().Add(-time.Hour).Truncate(time.Second).UTC()
			var ns []alerting.Notification
			for i := range 20 {
				ns = append(ns, fired(fmt.Sprintf("w%02d", i), base.Add(time.Duration(i)*time.Second)))
			}
			failed := make(chan error, 1)
			wdone := make(chan error, 1)
			go func() { wdone <- worker(ctx, clock, s, time.Minute, ns, failed) }()
			<-failed
			// Run waits for the probe, the worker for its backoff.
			if err := clock.BlockUntilContext(ctx, 2); err != nil {
				t.Fatal(err)
			}
			if err := rcv.Start(ctx); err != nil {
				t.Fatal(err)
			}
			clock.Advance(DefaultProbeMain + time.Second) // < supervision.main, < the backoff
			waitEvent(t, events, TypePathRestore)
			restored := time.Now()
			if err := <-wdone; err != nil {
				t.Fatal(err)
			}
			drained := time.Since(restored)
			var got []dc09.Message
			for _, r := range rcv.Received() {
				if r.Answer == centre.ACK && strings.Contains(r.Message.Data, "|1120") { // not NULL, not the 350 path reports
					got = append(got, r.Message)
				}
			}
			if len(got) != len(ns) {
				t.Fatalf("receiver acknowledged %d reports, want %d", len(got), len(ns))
			}
			for i, m := range got {
				at, ok := Occurrence(m)
				if !ok || !at.Equal(ns[i].Alarm.FiredAt) || m.Data != "#1234|1120 00 000" {
					t.Errorf("report %d: %q at %v, want the panic at %v", i, m.Data, at, ns[i].Alarm.FiredAt)
				}
			}
			t.Logf("%s: backlog of %d drained %v after the path restore (fake clock not advanced to the backoff)", network, len(ns), drained)
		})
	}
}

// TestProbeMainAfterFailover (finding 6): after a failover to the backup the main
// path is probed every probe_main, not only at the next supervision interval.
func TestProbeMainAfterFailover(t *testing.T) {
	ctx := ctxT(t)
	clock := clockwork.NewFakeClockAt(time.Now())
	m1 := startReceiver(t, "tcp", false, func(c *centre.Config) { c.Behavior = centre.Silent; c.Now = clock.Now })
	b1 := startReceiver(t, "tcp", false, func(c *centre.Config) { c.Now = clock.Now })
	events := eventtest.NewRecorder(clock.Now)
	cfg := baseConfig("tcp", false, m1.TCPAddr())
	cfg.Backup = &Path{Primary: b1.TCPAddr()}
	cfg.Timeout = 200 * time.Millisecond
	cfg.PeriodicTest.Disabled = true
	cfg.Supervision.ProbeMain = 10 * time.Second
	s := newSink(t, cfg, Options{Clock: clock, Publisher: events})
	runSink(t, ctx, s)
	waitEvent(t, events, TypePathFail)
	m1.SetBehavior(centre.ACK)
	wake := s.Wake()
	for range 2 { // the first advance may land before Run's poll of the backup
		if err := clock.BlockUntilContext(ctx, 1); err != nil {
			t.Fatal(err)
		}
		clock.Advance(cfg.Supervision.ProbeMain + time.Second)
	}
	e := waitEvent(t, events, TypePathRestore)
	if e.Fields["path"] != "main" || e.Fields["reason"] == "" {
		t.Errorf("path_restore %+v", e.Fields)
	}
	select {
	case <-wake:
	case <-ctx.Done():
		t.Fatal("Wake did not fire on the restore")
	}
}
