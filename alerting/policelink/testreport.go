package policelink

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/campusguard/campusguard/alerting/policelink/dc09"
	"github.com/campusguard/campusguard/cfgerr"
)

// TestOptions tune TestReport; the zero value sends a manual test (CID 601).
type TestOptions struct {
	// Periodic sends the periodic test (periodic_test.code, 602) instead of the manual
	// one (test.code, 601).
	Periodic bool
	Area     int // area of the report (default 0 = panel)
	Zone     int // zone or user number of the report (default 0)
	// Seq is the sequence number (0: the next one of the link's persistent counter).
	Seq int
	// Store holds the link's sequence counter (the journal, as the daemon's sink
	// uses it), so that a test report never repeats a number the link used, nor the
	// link one the test used. nil: a counter in memory, starting at 0001.
	Store Store
	Clock clockwork.Clock // nil: the real clock
	Pad   io.Reader       // encryption pad source (nil: crypto/rand)
}

// TestReport sends one test report to every configured receiver independently
// (main primary, main secondary, backup primary, backup secondary) and writes each
// answer to w: ACK, NAK (the clock is corrected and the report resent, as in
// service), DUH or no answer, with the round-trip time and the frames in clear text.
// It returns an error when a receiver did not acknowledge. This is what
// `campusguard policelink test` runs, with the receiving centre on the phone.
// Answers are shown with any key the receiver echoes ([K…]) redacted.
func TestReport(ctx context.Context, cfg Config, w io.Writer, opt TestOptions) error {
	cfg.Enabled = true
	cfg.PeriodicTest.Disabled = true // not scheduled here
	cfg.SetDefaults(cfgerr.Env{})
	var notes cfgerr.List
	cfg.Notes(&notes)
	s, err := New(cfg, Options{Clock: opt.Clock, Pad: opt.Pad, Store: opt.Store, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	defer s.Close()
	return s.testReport(ctx, w, opt, &notes)
}

// ServeTest is the installer's test through the running sink, for the daemon to
// serve at POST /-/policelink/test (gateway only): the same report and output as
// TestReport, sent over the sink's own receivers with its clock corrections, and
// numbered from its sequence counter, so a test while the daemon runs never takes
// a number the link uses. Query parameters: periodic=1 (602 instead of 601),
// zone=N, area=N. Status 200 when every receiver acknowledged, 502 otherwise; the
// body is the text report either way.
func (s *Sink) ServeTest(w http.ResponseWriter, r *http.Request) {
	var opt TestOptions
	q := r.URL.Query()
	opt.Periodic = q.Get("periodic") == "1" || q.Get("periodic") == "true"
	for _, p := range []struct {
		name string
		v    *int
	}{{"zone", &opt.Zone}, {"area", &opt.Area}} {
		if v := q.Get(p.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				http.Error(w, fmt.Sprintf("%s=%q is not a number", p.name, v), http.StatusBadRequest)
				return
			}
			*p.v = n
		}
	}
	var b strings.Builder
	var notes cfgerr.List
	cfg := s.cfg
	cfg.Notes(&notes)
	err := s.testReport(r.Context(), &b, opt, &notes)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err != nil {
		w.WriteHeader(http.StatusBadGateway)
		fmt.Fprintf(&b, "\n%v\n", err)
	}
	io.WriteString(w, b.String())
}

// testReport sends the test report over s's receivers and writes the report to w.
func (s *Sink) testReport(ctx context.Context, w io.Writer, opt TestOptions, notes *cfgerr.List) error {
	cfg := s.cfg
	for _, n := range notes.Errs {
		fmt.Fprintf(w, "note: policelink.%s: %s\n", n.Key, n.Msg)
	}
	rep := Report{Qualifier: dc09.QualifierNew, Code: cfg.Test.Code, SIA: cfg.Test.SIA, Area: opt.Area, Zone: opt.Zone,
		At: s.clock.Now(), Test: true}
	if opt.Periodic {
		rep.Code, rep.SIA = cfg.PeriodicTest.Code, cfg.PeriodicTest.SIA
	}
	seq := opt.Seq
	if seq < dc09.MinSeq || seq > dc09.MaxSeq {
		seq = s.nextSeq()
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
	failed, rejected := 0, false
	for _, r := range s.rcvs {
		res := s.attempt(ctx, r, msg)
		fmt.Fprintf(w, "\n%s (%s): %s\n", r, cfg.Transport, testVerdict(res))
		if res.frame != nil {
			fmt.Fprintf(w, "  frame:  %s\n", clearText(res.sent))
		}
		if res.raw != nil {
			fmt.Fprintf(w, "  answer: %s\n", answerShown(res))
		}
		if res.out != outACK {
			failed++
		}
		rejected = rejected || res.out == outReject || res.out == outDUH
		if ctx.Err() != nil {
			break
		}
	}
	if rejected && s.key != nil {
		if fix := otherEncoding(cfg); fix != "" {
			fmt.Fprintf(w, "\nhint: %s\n", fix)
		}
	}
	outcome := fmt.Sprintf("installer test: acknowledged by %d of %d receivers", len(s.rcvs)-failed, len(s.rcvs))
	s.journalReport(ActionTestReport, reportNote(rep, seq, outcome))
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
		fmt.Fprintf(&b, "DUH (%s)", DiagDUH)
	case outReject:
		diag, _, _ := strings.Cut(res.reject, " (answer ")
		fmt.Fprintf(&b, "NAK: %s", diag)
	case outNAK:
		fmt.Fprintf(&b, "NAK after every clock correction: %v", res.err)
	default:
		if errors.Is(res.err, errTimeout) {
			fmt.Fprintf(&b, "no answer within %s", res.rtt.Round(time.Millisecond))
		} else {
			fmt.Fprintf(&b, "failed: %v", res.err)
		}
	}
	if res.naks > 0 && res.out != outNAK && res.out != outReject && res.rcv.offset.Load() != 0 {
		fmt.Fprintf(&b, " after %d NAK(s): clock offset %s", res.naks, time.Duration(res.rcv.offset.Load()).Round(time.Second))
	}
	return b.String()
}

// answerShown is the receiver's answer as the test prints it: a standard answer in
// clear text (decrypted), any other form as received; key blocks redacted.
func answerShown(res result) string {
	if res.resp.Form != dc09.FormStandard {
		return answerText(res.raw) + "  (" + res.resp.Form.String() + " " + string(res.resp.ID) + ")"
	}
	return dc09.RedactKeys(clearText(dc09.RedactMessage(res.resp.Message)))
}

// otherEncoding suggests the other key_encoding when the key parses with it.
func otherEncoding(cfg Config) string {
	fix := keyFix(cfg.Key.Reveal(), cfg.KeyEncoding)
	if fix == "" {
		return ""
	}
	return "the receiver may read the key the other way (key_encoding " + cfg.KeyEncoding + " now): " + strings.TrimPrefix(fix, "; ")
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
