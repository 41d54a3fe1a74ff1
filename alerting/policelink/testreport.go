package policelink

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/campusguard/campusguard/alerting/policelink/dc09"
)

// TestOptions tune TestReport; the zero value sends a manual test (CID 601).
type TestOptions struct {
	// Periodic sends the periodic test (periodic_test.code, 602) instead of the manual
	// one (test.code, 601).
	Periodic bool
	Area     int // area of the report (default 0 = panel)
	Zone     int // zone or user number of the report (default 0)
	// Seq is the sequence number (0: derived from the clock, 0001..9999).
	Seq   int
	Clock clockwork.Clock // nil: the real clock
	Pad   io.Reader       // encryption pad source (nil: crypto/rand)
}

// TestReport sends one test report to every configured receiver independently
// (main primary, main secondary, backup primary, backup secondary) and writes each
// answer to w: ACK, NAK (the clock is corrected and the report resent, as in
// service), DUH or no answer, with the round-trip time and the frames in clear text.
// It returns an error when a receiver did not acknowledge. This is what
// `campusguard policelink test` runs, with the receiving centre on the phone.
func TestReport(ctx context.Context, cfg Config, w io.Writer, opt TestOptions) error {
	cfg.Enabled = true
	cfg.PeriodicTest.Disabled = true // not scheduled here
	s, err := New(cfg, Options{Clock: opt.Clock, Pad: opt.Pad, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	defer s.Close()
	cfg = s.cfg
	rep := Report{Qualifier: dc09.QualifierNew, Code: cfg.Test.Code, SIA: cfg.Test.SIA, Area: opt.Area, Zone: opt.Zone,
		At: s.clock.Now(), Test: true}
	if opt.Periodic {
		rep.Code, rep.SIA = cfg.PeriodicTest.Code, cfg.PeriodicTest.SIA
	}
	seq := opt.Seq
	if seq < dc09.MinSeq || seq > dc09.MaxSeq {
		seq = int(s.clock.Now().Unix()%dc09.MaxSeq) + 1
	}
	msg, err := cfg.message(rep, seq, s.key != nil)
	if err != nil {
		return fmt.Errorf("policelink %s: test report: %w", cfg.Name, err)
	}
	enc := "clear text"
	if s.key != nil {
		enc = "encrypted, " + s.key.String()
	}
	fmt.Fprintf(w, "police link %s: account %s, %s over %s (%s), report %s\n",
		cfg.Name, cfg.Account, cfg.Protocol, cfg.Transport, enc, msg.Data)
	failed := 0
	for _, r := range s.rcvs {
		res := s.attempt(ctx, r, msg)
		fmt.Fprintf(w, "\n%s (%s): %s\n", r, cfg.Transport, testVerdict(res))
		if res.frame != nil {
			fmt.Fprintf(w, "  frame:  %s\n", clearText(res.sent))
		}
		if res.raw != nil {
			fmt.Fprintf(w, "  answer: %s\n", clearText(res.resp))
		}
		if res.out != outACK {
			failed++
		}
		if ctx.Err() != nil {
			break
		}
	}
	if failed > 0 {
		return fmt.Errorf("policelink %s: test report: %d of %d receivers did not acknowledge", cfg.Name, failed, len(s.rcvs))
	}
	return nil
}

func testVerdict(res result) string {
	var b strings.Builder
	switch res.out {
	case outACK:
		fmt.Fprintf(&b, "ACK in %s", res.rtt.Round(100*time.Microsecond))
	case outDUH:
		fmt.Fprintf(&b, "DUH (the receiver cannot process the report: check account, code and key): %v", res.err)
	case outNAK:
		fmt.Fprintf(&b, "NAK after every clock correction: %v", res.err)
	default:
		if errors.Is(res.err, errTimeout) {
			fmt.Fprintf(&b, "no answer within %s", res.rtt.Round(time.Millisecond))
		} else {
			fmt.Fprintf(&b, "failed: %v", res.err)
		}
	}
	if res.naks > 0 && res.out != outNAK {
		fmt.Fprintf(&b, " after %d NAK(s): clock offset %s", res.naks, time.Duration(res.rcv.offset.Load()).Round(time.Second))
	}
	return b.String()
}

// clearText shows m as a clear-text frame body (CRC and length of the clear form).
func clearText(m dc09.Message) string {
	m.Encrypted = false
	b, err := dc09.Encode(m, nil, nil)
	if err != nil {
		return fmt.Sprintf("%+v", m)
	}
	return strings.Trim(string(b), "\r\n")
}
