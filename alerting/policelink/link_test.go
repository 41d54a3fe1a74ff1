package policelink

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/alerting/journal"
	"github.com/campusguard/campusguard/alerting/policelink/dc09"
	"github.com/campusguard/campusguard/alerting/policelink/dc09/centre"
	"github.com/campusguard/campusguard/event"
	"github.com/campusguard/campusguard/event/eventtest"
)

var transports = []struct {
	network   string
	encrypted bool
}{{"tcp", false}, {"tcp", true}, {"udp", false}, {"udp", true}}

// TestDeliverACK: fire and restore of a panic alarm are ACKed over TCP and UDP,
// clear and encrypted, with the alarm's own times in [H..]; transitions the link
// does not carry are accepted without sending; a retry reuses the sequence number.
func TestDeliverACK(t *testing.T) {
	for _, tr := range transports {
		t.Run(fmt.Sprintf("%s/encrypted=%v", tr.network, tr.encrypted), func(t *testing.T) {
			ctx := ctxT(t)
			rcv := startReceiver(t, tr.network, tr.encrypted, nil)
			s := newSink(t, baseConfig(tr.network, tr.encrypted, addr(rcv, tr.network)), Options{})
			firedAt := time.Now().Add(-time.Hour).Truncate(time.Second).UTC()
			resolvedAt := firedAt.Add(10 * time.Minute)
			acked := fired("a1", firedAt)
			acked.ID, acked.Transition = "a1/ack", alerting.Acked
			for _, n := range []alerting.Notification{fired("a1", firedAt), acked, resolved("a1", firedAt, resolvedAt), fired("a1", firedAt)} {
				if err := s.Deliver(ctx, n); err != nil {
					t.Fatalf("Deliver %s: %v", n.ID, err)
				}
			}
			recs, err := rcv.Wait(ctx, 3)
			if err != nil {
				t.Fatal(err)
			}
			want := []struct {
				data string
				at   time.Time
			}{{"#1234|1120 00 000", firedAt}, {"#1234|3120 00 000", resolvedAt}, {"#1234|1120 00 000", firedAt}}
			for i, w := range want {
				r := recs[i]
				if r.Err != nil || r.Answer != centre.ACK {
					t.Fatalf("frame %d: err %v answer %v", i, r.Err, r.Answer)
				}
				m := r.Message
				if m.ID != dc09.TokenADMCID || m.Encrypted != tr.encrypted || m.Data != w.data || m.Receiver != "0" || m.Line != "0" {
					t.Errorf("frame %d = %+v, want data %q", i, m, w.data)
				}
				if at, ok := Occurrence(m); !ok || !at.Equal(w.at) {
					t.Errorf("frame %d: time of occurrence %v, want %v", i, at, w.at)
				}
				if m.Timestamp.Before(time.Now().Add(-time.Minute)) {
					t.Errorf("frame %d: timestamp %v is not the sending time", i, m.Timestamp)
				}
			}
			if recs[0].Message.Seq != recs[2].Message.Seq || recs[0].Message.Seq == recs[1].Message.Seq {
				t.Errorf("sequence numbers %d %d %d: a retry must reuse its number, a new notification not",
					recs[0].Message.Seq, recs[1].Message.Seq, recs[2].Message.Seq)
			}
			if rcv.Len() != 3 {
				t.Errorf("receiver got %d frames, want 3 (the acknowledged transition is not sent)", rcv.Len())
			}
		})
	}
}

// TestNAKCorrectsClock: the receiver's clock is 2 minutes ahead: the first frame
// is NAKed, the offset is taken from the NAK and the same sequence number is resent
// and ACKed; the next report goes through at once.
func TestNAKCorrectsClock(t *testing.T) {
	for _, tr := range transports {
		t.Run(fmt.Sprintf("%s/encrypted=%v", tr.network, tr.encrypted), func(t *testing.T) {
			ctx := ctxT(t)
			rcv := startReceiver(t, tr.network, tr.encrypted, func(c *centre.Config) { c.ClockOffset = 2 * time.Minute })
			s := newSink(t, baseConfig(tr.network, tr.encrypted, addr(rcv, tr.network)), Options{})
			if err := s.Deliver(ctx, fired("n1", time.Now())); err != nil {
				t.Fatal(err)
			}
			if err := s.Deliver(ctx, fired("n2", time.Now())); err != nil {
				t.Fatal(err)
			}
			recs := rcv.Received()
			if len(recs) != 3 {
				t.Fatalf("got %d frames, want NAKed + resent + next", len(recs))
			}
			if recs[0].Answer != centre.NAK || recs[1].Answer != centre.ACK || recs[2].Answer != centre.ACK {
				t.Fatalf("answers %v %v %v, want NAK ACK ACK", recs[0].Answer, recs[1].Answer, recs[2].Answer)
			}
			if recs[0].Message.Seq != recs[1].Message.Seq {
				t.Errorf("resent with seq %d, first sent %d", recs[1].Message.Seq, recs[0].Message.Seq)
			}
			if d := recs[1].Message.Timestamp.Sub(recs[1].At); d < -5*time.Second || d > 5*time.Second {
				t.Errorf("resent timestamp %v is %v from the receiver's clock", recs[1].Message.Timestamp, d)
			}
			off := time.Duration(s.rcvs[0].offset.Load())
			if off < 118*time.Second || off > 122*time.Second {
				t.Errorf("clock offset %v, want about 2m", off)
			}
			det := s.Health().Detail["paths"].(map[string]any)["main"].(map[string]any)["receivers"].([]map[string]any)[0]
			if !strings.HasPrefix(det["clock_offset"].(string), "1m5") && !strings.HasPrefix(det["clock_offset"].(string), "2m") {
				t.Errorf("health clock_offset %v", det["clock_offset"])
			}
		})
	}
}

// TestNAKCapped: a receiver that NAKs everything gets 1+nak_retries attempts, then
// the delivery fails (to be retried by the pipeline), never Permanent.
func TestNAKCapped(t *testing.T) {
	ctx := ctxT(t)
	rcv := startReceiver(t, "tcp", false, func(c *centre.Config) { c.Behavior = centre.NAK })
	cfg := baseConfig("tcp", false, rcv.TCPAddr())
	cfg.NAKRetries = 2
	s := newSink(t, cfg, Options{})
	err := s.Deliver(ctx, fired("n", time.Now()))
	var p *alerting.Permanent
	if err == nil || errors.As(err, &p) || !errors.Is(err, dc09.ErrNAK) {
		t.Fatalf("Deliver = %v, want a retryable NAK error", err)
	}
	if rcv.Len() != 3 {
		t.Errorf("receiver got %d frames, want 3", rcv.Len())
	}
}

// TestDUHPermanent: DUH makes the delivery Permanent (journaled as rejected) and
// publishes a report_rejected event for staff; the secondary is not tried.
func TestDUHPermanent(t *testing.T) {
	for _, network := range []string{"tcp", "udp"} {
		t.Run(network, func(t *testing.T) {
			ctx := ctxT(t)
			rcv := startReceiver(t, network, true, func(c *centre.Config) { c.Behavior = centre.DUH })
			second := startReceiver(t, network, true, nil)
			events := eventtest.NewRecorder(time.Now)
			cfg := baseConfig(network, true, addr(rcv, network))
			cfg.Main.Secondary = addr(second, network)
			s := newSink(t, cfg, Options{Publisher: events, Site: "school"})
			err := s.Deliver(ctx, fired("d1", time.Now()))
			var p *alerting.Permanent
			if !errors.As(err, &p) || !errors.Is(err, dc09.ErrDUH) {
				t.Fatalf("Deliver = %v, want Permanent DUH", err)
			}
			e := waitEvent(t, events, TypeReportReject)
			if e.Kind != event.KindSystem || e.DeviceID != DeviceID || e.Site != "school" || e.Fields["notification"] != "d1/1" || e.Fields["alarm"] != "d1" {
				t.Errorf("event = %+v", e)
			}
			if second.Len() != 0 {
				t.Errorf("secondary got %d frames after a DUH", second.Len())
			}
			// An unmapped alarm is rejected the same way.
			n := fired("d2", time.Now())
			n.Alarm.DeviceKind, n.Alarm.Rule = event.KindKitchenCamera, "no_hat"
			if err := s.Deliver(ctx, n); !errors.As(err, &p) || !errors.Is(err, ErrNoMapping) {
				t.Fatalf("Deliver unmapped = %v", err)
			}
			waitEvent(t, events, TypeReportReject)
		})
	}
}

// TestSilentPrimaryFailover: the primary does not answer; after the timeout the
// secondary takes the report, and the next report goes to the secondary first.
func TestSilentPrimaryFailover(t *testing.T) {
	for _, network := range []string{"tcp", "udp"} {
		t.Run(network, func(t *testing.T) {
			ctx := ctxT(t)
			prim := startReceiver(t, network, false, func(c *centre.Config) { c.Behavior = centre.Silent })
			sec := startReceiver(t, network, false, nil)
			cfg := baseConfig(network, false, addr(prim, network))
			cfg.Main.Secondary = addr(sec, network)
			cfg.Timeout = 300 * time.Millisecond
			s := newSink(t, cfg, Options{})
			for _, id := range []string{"s1", "s2"} {
				if err := s.Deliver(ctx, fired(id, time.Now())); err != nil {
					t.Fatal(err)
				}
			}
			if prim.Len() != 1 || sec.Len() != 2 {
				t.Fatalf("primary got %d, secondary %d; want 1 and 2", prim.Len(), sec.Len())
			}
			if got := prim.Received()[0].Message.Seq; got != sec.Received()[0].Message.Seq {
				t.Errorf("secondary got seq %d, primary %d: a retry keeps its number", sec.Received()[0].Message.Seq, got)
			}
			if st := s.Health(); st.State != "up" {
				t.Errorf("health %v: the path is up through its secondary", st)
			}
		})
	}
}

// TestStaleACKIsNotACK: an ACK for another sequence number or account is skipped;
// alone it is no ACK (timeout).
func TestStaleACKIsNotACK(t *testing.T) {
	ctx := ctxT(t)
	srv := newRawServer(t, func(m dc09.Message) [][]byte {
		stale := dc09.NewACK(m, time.Now())
		stale.Seq = dc09.NextSeq(m.Seq)
		other := dc09.NewACK(m, time.Now())
		other.Account = "9999"
		out := [][]byte{mustEncode(t, stale), mustEncode(t, other)}
		if strings.Contains(m.Data, "|1137") {
			return out // the tamper report never gets its ACK
		}
		return append(out, []byte("garbage\r"), mustEncode(t, dc09.NewACK(m, time.Now())))
	})
	cfg := baseConfig("tcp", false, srv)
	cfg.Timeout = 300 * time.Millisecond
	s := newSink(t, cfg, Options{})
	if err := s.Deliver(ctx, fired("x1", time.Now())); err != nil {
		t.Fatalf("Deliver with stale ACKs before the right one: %v", err)
	}
	n := fired("x2", time.Now())
	n.Alarm.Rule, n.Alarm.DeviceKind = "tamper", event.KindSystem
	if err := s.Deliver(ctx, n); err == nil || !errors.Is(err, errTimeout) {
		t.Fatalf("Deliver with only stale ACKs = %v, want a timeout", err)
	}
}

// TestMainPathFailsOverToBackup: both main receivers are silent: the report goes
// to the backup path, a path_fail event is published and CID 350 (zone 1) is
// reported on the backup; while main is down the backup is polled at the main
// interval; when main answers a poll again, path_restore is published and 350 with
// qualifier 3 is reported.
func TestMainPathFailsOverToBackup(t *testing.T) {
	ctx := ctxT(t)
	clock := clockwork.NewFakeClockAt(time.Now())
	silent := func(c *centre.Config) { c.Behavior = centre.Silent; c.Now = clock.Now }
	m1 := startReceiver(t, "tcp", true, silent)
	m2 := startReceiver(t, "tcp", true, silent)
	b1 := startReceiver(t, "tcp", true, func(c *centre.Config) { c.Now = clock.Now })
	events := eventtest.NewRecorder(clock.Now)
	cfg := baseConfig("tcp", true, m1.TCPAddr())
	cfg.Main.Secondary = m2.TCPAddr()
	cfg.Backup = &Path{Primary: b1.TCPAddr()}
	cfg.Timeout = 300 * time.Millisecond
	cfg.PeriodicTest.Disabled = true
	s := newSink(t, cfg, Options{Clock: clock, Publisher: events})

	runSink(t, ctx, s)

	// Run polls both paths at once: main fails, backup answers.
	e := waitEvent(t, events, TypePathFail)
	if e.Fields["path"] != "main" || !strings.Contains(e.Fields["receiver"].(string), m1.TCPAddr()) || e.Fields["error"] == "" {
		t.Errorf("path_fail event %+v", e)
	}
	recs, err := b1.Wait(ctx, 2) // NULL poll and the 350 report, in some order
	if err != nil {
		t.Fatal(err)
	}
	if !hasData(recs, "#1234|1350 00 001") {
		t.Fatalf("backup got %v, want CID 350 zone 1", dataOf(recs))
	}
	// An alarm now goes to the backup at once.
	if err := s.Deliver(ctx, fired("p1", clock.Now())); err != nil {
		t.Fatal(err)
	}
	if recs, _ = b1.Wait(ctx, 3); !hasData(recs, "#1234|1120 00 000") {
		t.Fatalf("backup got %v, want the panic", dataOf(recs))
	}
	if st := s.Health(); st.State != "degraded" {
		t.Errorf("health %v with main down and backup up", st)
	}
	// The backup is now polled at the main interval.
	n := b1.Len()
	if err := clock.BlockUntilContext(ctx, 1); err != nil {
		t.Fatal(err)
	}
	clock.Advance(s.cfg.Supervision.Main + time.Second)
	if _, err := b1.Wait(ctx, n+1); err != nil {
		t.Fatal("backup not polled at the main interval while main is down")
	}
	// Main comes back: the next main poll restores it.
	m1.SetBehavior(centre.ACK)
	m2.SetBehavior(centre.ACK)
	if err := clock.BlockUntilContext(ctx, 1); err != nil {
		t.Fatal(err)
	}
	clock.Advance(s.cfg.Supervision.Main + time.Second)
	e = waitEvent(t, events, TypePathRestore)
	if e.Fields["path"] != "main" {
		t.Errorf("path_restore event %+v", e)
	}
	recs, err = b1.Wait(ctx, n+2)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !hasData(b1.Received(), "#1234|3350 00 001") && time.Now().Before(deadline) {
		b1.Wait(ctx, b1.Len()+1) //nolint:errcheck // bounded by ctx and the loop
	}
	if !hasData(b1.Received(), "#1234|3350 00 001") {
		t.Fatalf("backup got %v, want the 350 restore", dataOf(b1.Received()))
	}
	if st := s.Health(); st.State != "up" {
		t.Errorf("health %v after main restored", st)
	}
}

func hasData(recs []centre.Received, data string) bool {
	for _, r := range recs {
		if r.Message.Data == data && r.Answer == centre.ACK {
			return true
		}
	}
	return false
}

func dataOf(recs []centre.Received) []string {
	var out []string
	for _, r := range recs {
		out = append(out, string(r.Message.ID)+":"+r.Message.Data)
	}
	return out
}

// TestReceiverRestart: the TCP receiver restarts mid-stream: the stale connection
// is replaced and every report arrives, in order.
func TestReceiverRestart(t *testing.T) {
	ctx := ctxT(t)
	rcv := startReceiver(t, "tcp", true, nil)
	s := newSink(t, baseConfig("tcp", true, rcv.TCPAddr()), Options{})
	var ns []alerting.Notification
	for i := range 10 {
		ns = append(ns, fired(fmt.Sprintf("r%02d", i), time.Now()))
	}
	if err := deliverInOrder(ctx, s, ns[:5], nil); err != nil {
		t.Fatal(err)
	}
	if err := rcv.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := rcv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := deliverInOrder(ctx, s, ns[5:], nil); err != nil {
		t.Fatal(err)
	}
	// Restart while a delivery loop is failing.
	rcv.Stop()
	failed := make(chan error, 1)
	done := make(chan error, 1)
	go func() { done <- deliverInOrder(ctx, s, []alerting.Notification{fired("r10", time.Now())}, failed) }()
	<-failed
	if err := rcv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	msgs := messages(rcv.Received())
	if len(msgs) != 11 {
		t.Fatalf("receiver got %d reports, want 11", len(msgs))
	}
	for i := 1; i < len(msgs); i++ {
		if msgs[i].Seq != dc09.NextSeq(msgs[i-1].Seq) {
			t.Errorf("report %d has seq %d after %d", i, msgs[i].Seq, msgs[i-1].Seq)
		}
	}
}

// TestBacklogInOrder: 50 alarms pile up while the receiver is down; when it comes
// back they are delivered in order, each with its original time of occurrence, and
// each with its own sequence number (the retried head keeps its number).
func TestBacklogInOrder(t *testing.T) {
	for _, network := range []string{"tcp", "udp"} {
		t.Run(network, func(t *testing.T) {
			ctx := ctxT(t)
			rcv := startReceiver(t, network, true, nil)
			rcv.Stop()
			cfg := baseConfig(network, true, addr(rcv, network))
			cfg.Timeout = 200 * time.Millisecond
			s := newSink(t, cfg, Options{})
			base := time.Now().Add(-3 * time.Hour).Truncate(time.Second).UTC()
			var ns []alerting.Notification
			for i := range 50 {
				ns = append(ns, fired(fmt.Sprintf("b%02d", i), base.Add(time.Duration(i)*time.Minute)))
			}
			failed := make(chan error, 1)
			done := make(chan error, 1)
			go func() { done <- deliverInOrder(ctx, s, ns, failed) }()
			<-failed
			<-failed // at least two failed attempts of the head
			if err := rcv.Start(ctx); err != nil {
				t.Fatal(err)
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			var got []dc09.Message
			for _, r := range rcv.Received() {
				if r.Answer == centre.ACK {
					got = append(got, r.Message)
				}
			}
			if len(got) != 50 {
				t.Fatalf("receiver acknowledged %d reports, want 50", len(got))
			}
			for i, m := range got {
				at, ok := Occurrence(m)
				if !ok || !at.Equal(ns[i].Alarm.FiredAt) {
					t.Errorf("report %d: time of occurrence %v, want %v", i, at, ns[i].Alarm.FiredAt)
				}
				if i > 0 && m.Seq != dc09.NextSeq(got[i-1].Seq) {
					t.Errorf("report %d: seq %d after %d", i, m.Seq, got[i-1].Seq)
				}
			}
		})
	}
}

// TestSequencePersisted: with the journal as Store, a notification retried after
// a restart keeps its sequence number, and numbering continues.
func TestSequencePersisted(t *testing.T) {
	ctx := ctxT(t)
	j, err := journal.Open(filepath.Join(t.TempDir(), "journal.db"), journal.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	rcv := startReceiver(t, "udp", false, nil)
	cfg := baseConfig("udp", false, rcv.UDPAddr())
	s1 := newSink(t, cfg, Options{Store: j})
	for _, id := range []string{"q1", "q2"} {
		if err := s1.Deliver(ctx, fired(id, time.Now())); err != nil {
			t.Fatal(err)
		}
	}
	s1.Close()
	s2 := newSink(t, cfg, Options{Store: j})
	for _, id := range []string{"q2", "q3"} {
		if err := s2.Deliver(ctx, fired(id, time.Now())); err != nil {
			t.Fatal(err)
		}
	}
	recs := rcv.Received()
	seqs := []int{recs[0].Message.Seq, recs[1].Message.Seq, recs[2].Message.Seq, recs[3].Message.Seq}
	if seqs[1] != seqs[2] || seqs[3] != dc09.NextSeq(seqs[1]) {
		t.Errorf("sequence numbers %v: q2 retried after a restart must keep its number, q3 follow", seqs)
	}
}

// TestTestReport: the installer's test prints each receiver's answer.
func TestTestReport(t *testing.T) {
	ctx := ctxT(t)
	ok := startReceiver(t, "tcp", true, func(c *centre.Config) { c.ClockOffset = 2 * time.Minute })
	duh := startReceiver(t, "tcp", true, func(c *centre.Config) { c.Behavior = centre.DUH })
	cfg := baseConfig("tcp", true, ok.TCPAddr())
	cfg.Main.Secondary = duh.TCPAddr()
	cfg.Backup = &Path{Primary: "127.0.0.1:1"} // nothing listens
	var out strings.Builder
	err := TestReport(ctx, cfg, &out, TestOptions{Seq: 42, Zone: 3})
	if err == nil || !strings.Contains(err.Error(), "2 of 3") {
		t.Errorf("TestReport = %v, want 2 of 3 failed", err)
	}
	text := out.String()
	for _, want := range []string{
		"main primary " + ok.TCPAddr() + " (tcp): ACK in", "after 1 NAK(s): clock offset ",
		`"ADM-CID"0042R0L0#1234[#1234|1601 00 003][H`,
		"main secondary " + duh.TCPAddr() + " (tcp): DUH", `"DUH"0042R0L0#1234[]`,
		"backup primary 127.0.0.1:1 (tcp): failed: connect:",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	if !strings.Contains(text, "clock offset 2m0s") && !strings.Contains(text, "clock offset 1m59s") {
		t.Errorf("output lacks the 2 minute clock offset:\n%s", text)
	}
	if strings.Contains(text, testKeyHex) {
		t.Error("output shows the key")
	}
	recs := ok.Received()
	if len(recs) != 2 || recs[1].Message.Data != "#1234|1601 00 003" || !recs[1].Message.Encrypted {
		t.Errorf("receiver got %v", dataOf(recs))
	}
	t.Log("\n" + text)
}

// TestPeriodicTestReport: Run sends the periodic test (602) when it is due, with
// the scheduled time in [H..], and the schedule survives a restart via the Store.
func TestPeriodicTestReport(t *testing.T) {
	ctx := ctxT(t)
	clock := clockwork.NewFakeClockAt(time.Now())
	rcv := startReceiver(t, "udp", false, func(c *centre.Config) { c.Now = clock.Now })
	j, err := journal.Open(filepath.Join(t.TempDir(), "journal.db"), journal.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	cfg := baseConfig("udp", false, rcv.UDPAddr())
	cfg.PeriodicTest.Interval = 6 * time.Hour
	s := newSink(t, cfg, Options{Clock: clock, Store: j})
	due := clock.Now().Add(6 * time.Hour)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Run(runCtx) }()
	if _, err := rcv.Wait(ctx, 1); err != nil { // the first poll
		t.Fatal(err)
	}
	for clock.Now().Before(due) {
		if err := clock.BlockUntilContext(ctx, 1); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Hour)
	}
	var test dc09.Message
	for test.Data == "" {
		recs, err := rcv.Wait(ctx, rcv.Len()+1)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			if r.Message.Data == "#1234|1602 00 000" {
				test = r.Message
			}
		}
	}
	if at, ok := Occurrence(test); !ok || !at.Equal(due.UTC().Truncate(time.Second)) {
		t.Errorf("periodic test time of occurrence %v, want %v", at, due)
	}
	stop()
	<-done
	s2 := newSink(t, cfg, Options{Clock: clock, Store: j})
	if !s2.lastTest.Equal(due) {
		t.Errorf("after a restart last test %v, want %v", s2.lastTest, due)
	}
}
