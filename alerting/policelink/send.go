package policelink

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/campusguard/campusguard/alerting/policelink/dc09"
	"github.com/campusguard/campusguard/event"
)

// pathState is what the sink knows of a path.
type pathState int

const (
	stateUnknown pathState = iota // not tried yet
	stateUp                       // a receiver of the path acknowledged the last message sent on it
	stateDown                     // every receiver of the path failed its last message
)

func (p pathState) String() string {
	switch p {
	case stateUp:
		return "up"
	case stateDown:
		return "down"
	}
	return "unknown"
}

// path is a transmission path: its receivers in order. Fields below rcvs are
// guarded by Sink.mu.
type path struct {
	name  string // "main" or "backup"
	num   int    // 1 main, 2 backup: the zone number of its path-failure reports
	rcvs  []*receiver
	state pathState
	// active is when the path last carried an acknowledged message or was polled:
	// the supervision timer restarts from it.
	active    time.Time
	lastACK   time.Time
	downSince time.Time
	lastErr   string
}

// receiver is one receiver of a path. Fields below link are guarded by Sink.mu,
// except offset.
type receiver struct {
	path   *path
	role   string // "primary" or "secondary"
	addr   string
	link   *link
	offset atomic.Int64 // clock correction learnt from NAKs, in nanoseconds

	tried   bool
	ok      bool // its last message was answered (ACK or DUH)
	lastErr string
	lastACK time.Time
	rtt     time.Duration
	// rejection is the diagnosis of the receiver's last rejecting NAK, with the
	// answer, until it acknowledges again.
	rejection string
}

func (r *receiver) String() string { return r.path.name + " " + r.role + " " + r.addr }

func (s *Sink) newPath(name string, num int, cfg Path) *path {
	p := &path{name: name, num: num}
	for _, rc := range []struct{ role, addr string }{{"primary", cfg.Primary}, {"secondary", cfg.Secondary}} {
		if rc.addr != "" {
			p.rcvs = append(p.rcvs, &receiver{path: p, role: rc.role, addr: rc.addr, link: newLink(s.cfg.Transport, rc.addr)})
		}
	}
	return p
}

func (p *path) detail() map[string]any {
	d := map[string]any{"state": p.state.String()}
	if !p.lastACK.IsZero() {
		d["last_ack"] = p.lastACK
	}
	if !p.downSince.IsZero() {
		d["down_since"] = p.downSince
	}
	if p.lastErr != "" {
		d["last_error"] = p.lastErr
	}
	var rs []map[string]any
	for _, r := range p.rcvs {
		rd := map[string]any{"role": r.role, "addr": r.addr, "tried": r.tried, "ok": r.ok,
			"clock_offset": time.Duration(r.offset.Load()).String()}
		if r.lastErr != "" {
			rd["last_error"] = r.lastErr
		}
		if r.rejection != "" {
			rd["rejected"] = r.rejection
		}
		if !r.lastACK.IsZero() {
			rd["last_ack"] = r.lastACK
			rd["rtt"] = r.rtt.String()
		}
		rs = append(rs, rd)
	}
	d["receivers"] = rs
	return d
}

// outcome of one message on one receiver.
type outcome int

const (
	outACK    outcome = iota
	outDUH            // the receiver cannot process the message
	outNAK            // NAK retries exhausted (clock NAKs)
	outReject         // NAK retries exhausted, the last NAK a rejection (account, key, format)
	outFail           // no answer, connection error
)

// result of one message on one receiver.
type result struct {
	out    outcome
	rcv    *receiver
	sent   dc09.Message // with the timestamp of the last attempt
	frame  []byte       // the last frame sent
	resp   dc09.Answer
	raw    []byte // the answer
	rtt    time.Duration
	naks   int
	reject string // the diagnosis of a rejecting NAK, with the answer (redacted)
	err    error
}

// Diagnoses of a receiver's refusal, for logs, health, events and the installer test.
const (
	// DiagRejected is a NAK that the clock does not explain: the receiver could not
	// decrypt or parse the report, or does not know the account.
	DiagRejected = "receiver rejected the report: check account, key and key_encoding"
	// DiagDUH is a DUH: the receiver cannot process an otherwise valid report.
	DiagDUH = "the receiver cannot process the report: check account, code and key"
)

// ErrRejected marks a delivery that receivers refused with NAKs the clock does not
// explain (see DiagRejected).
var ErrRejected = errors.New(DiagRejected)

// rejectedError is the diagnosis of a rejection, with the answer; it is ErrRejected.
type rejectedError string

func (e rejectedError) Error() string        { return string(e) }
func (e rejectedError) Is(target error) bool { return target == ErrRejected }

// nakClockTolerance: a NAK whose receiver time is this close to the timestamp sent
// is not about the clock (receivers accept 40 s in the past, 20 s in the future).
const nakClockTolerance = 5 * time.Second

// isRejection reports whether a NAK answer to a message sent with timestamp sent
// rejects the report itself rather than its timestamp: a NAK in a non-standard
// form (the field receiver's "cannot decrypt or parse" and "unknown account"
// answers), without a time, or with a time the sent timestamp already agreed with.
func isRejection(a dc09.Answer, sent time.Time) bool {
	if a.Form != dc09.FormStandard || a.Timestamp.IsZero() || sent.IsZero() {
		return true
	}
	d := a.Timestamp.Sub(sent)
	return d > -nakClockTolerance && d < nakClockTolerance
}

// answerText is an answer as it may be logged, printed or shown: printable, the
// key blocks redacted.
func answerText(raw []byte) string {
	raw = bytes.Trim(raw, "\r\n")
	var b strings.Builder
	for _, c := range raw {
		if c >= 0x20 && c < 0x7F {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "\\x%02X", c)
		}
	}
	return dc09.RedactKeys(b.String())
}

// acceptAnswer decodes an answer b to sent: it returns the answer and true for an
// ACK with sent's sequence number and account, a NAK in any form, or a DUH with
// sent's sequence number and account (or none: a bare "DUH"); false for anything
// else (garbage, another message's ACK), which is not an answer.
func acceptAnswer(sent dc09.Message, key *dc09.Key, b []byte) (dc09.Answer, bool) {
	a, err := dc09.ParseAnswer(b, key)
	if err != nil || !matchesSent(sent, a) {
		return dc09.Answer{}, false
	}
	return a, true
}

// matchesSent reports whether resp answers sent: same sequence number and account
// (a NAK carries neither and always answers the outstanding message; so does a DUH
// that carries neither).
func matchesSent(sent dc09.Message, resp dc09.Answer) bool {
	switch {
	case resp.ID == dc09.TokenNAK:
		return true
	case resp.ID == dc09.TokenDUH && resp.Form != dc09.FormStandard && resp.Seq == 0 && resp.Account == "":
		return true
	}
	return resp.Seq == sent.Seq && strings.EqualFold(resp.Account, sent.Account)
}

// attempt sends m to r: on NAK it corrects r's clock offset from the receiver's
// time and resends the same sequence number, at most NAKRetries times. A NAK that
// rejects the report (isRejection) is logged and shown in health at once.
func (s *Sink) attempt(ctx context.Context, r *receiver, m dc09.Message) result {
	r.link.mu.Lock()
	defer r.link.mu.Unlock()
	res := result{rcv: r}
	for {
		m.Timestamp = s.clock.Now().Add(time.Duration(r.offset.Load())).UTC().Truncate(time.Second)
		res.sent = m
		frame, err := dc09.Encode(m, s.key, s.pad)
		if err != nil {
			res.out, res.err = outDUH, fmt.Errorf("encode: %w", err) // cannot be sent anywhere
			return res
		}
		res.frame = frame
		timeout := s.cfg.Timeout
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < timeout {
			timeout = time.Until(dl)
		}
		start := time.Now()
		var resp dc09.Answer
		raw, err := r.link.exchange(ctx, frame, start.Add(timeout), func(b []byte) bool {
			a, ok := acceptAnswer(m, s.key, b)
			if ok {
				resp = a
			}
			return ok
		})
		res.rtt = time.Since(start)
		if err != nil {
			res.out, res.err = outFail, err
			return res
		}
		res.resp, res.raw = resp, raw
		switch resp.ID {
		case dc09.TokenACK:
			res.out = outACK
			return res
		case dc09.TokenDUH:
			res.out, res.err = outDUH, fmt.Errorf("%s %04d: %s (answer %s): %w", m.ID, m.Seq, DiagDUH, answerText(raw), dc09.ErrDUH)
			return res
		}
		s.m.nak.Inc()
		rejection := isRejection(resp, m.Timestamp)
		if !resp.Timestamp.IsZero() {
			off := resp.Timestamp.Sub(s.clock.Now())
			r.offset.Store(int64(off))
			s.m.offset.WithLabelValues(r.path.name, r.role).Set(off.Seconds())
		}
		res.naks++
		if rejection {
			res.reject = s.noteRejection(r, m, raw)
		} else {
			res.reject = ""
		}
		if res.naks > s.cfg.NAKRetries {
			if rejection {
				res.out = outReject
				res.err = fmt.Errorf("%s %04d: %d NAKs: %w: %w", m.ID, m.Seq, res.naks, rejectedError(res.reject), dc09.ErrNAK)
				return res
			}
			res.out = outNAK
			res.err = fmt.Errorf("%s %04d: %d NAKs (receiver time %s): %w", m.ID, m.Seq, res.naks,
				resp.Timestamp.Format(time.RFC3339), dc09.ErrNAK)
			return res
		}
		if !rejection {
			s.log.Warn("policelink: NAK, clock corrected", "receiver", r.String(), "offset", time.Duration(r.offset.Load()), "seq", m.Seq)
		}
	}
}

// noteRejection records that r rejected m with answer raw: the first time since r last
// acknowledged, it is logged at once and shown in health. It returns the diagnosis.
func (s *Sink) noteRejection(r *receiver, m dc09.Message, raw []byte) string {
	diag := DiagRejected
	if m.ID == dc09.TokenADMCID && len(m.Ext) > 0 {
		diag += " (or set omit_time_block: some receivers refuse extended blocks with ADM-CID)"
	}
	diag += " (answer " + answerText(raw) + ")"
	s.mu.Lock()
	first := r.rejection == ""
	r.rejection = diag
	s.mu.Unlock()
	if first {
		s.log.Error("policelink: "+DiagRejected, "receiver", r.String(), "seq", m.Seq, "answer", answerText(raw),
			"account", s.cfg.Account, "key_encoding", s.cfg.KeyEncoding, "encrypted", s.key != nil)
	}
	return diag
}

// send tries m on the receivers in order until one acknowledges it or answers DUH.
// kind labels the metrics (alarm, link, null, test).
func (s *Sink) send(ctx context.Context, m dc09.Message, kind string, order []*receiver) (result, error) {
	var errs []error
	last := result{out: outFail}
	for _, r := range order {
		if ctx.Err() != nil {
			break
		}
		res := s.attempt(ctx, r, m)
		s.observe(ctx, res, kind)
		if res.out == outACK || res.out == outDUH {
			return res, res.err
		}
		if last.out != outReject || res.out == outReject {
			last = res // a rejection is the more telling failure
		}
		errs = append(errs, fmt.Errorf("%s: %w", r, res.err))
	}
	if ctx.Err() != nil {
		errs = append(errs, ctx.Err())
	}
	if len(errs) == 0 {
		errs = append(errs, errNoReceiver)
	}
	return last, errors.Join(errs...)
}

// observe records the outcome of one attempt: metrics, the receiver's and the
// path's state, and the path-failure and path-restore reports and events.
func (s *Sink) observe(ctx context.Context, res result, kind string) {
	r, p := res.rcv, res.rcv.path
	label := resultError
	switch {
	case res.out == outACK:
		label = resultACK
		s.m.rtt.WithLabelValues(p.name).Observe(res.rtt.Seconds())
	case res.out == outDUH:
		label = resultDUH
		if res.resp.ID == dc09.TokenDUH {
			s.m.duh.Inc()
		}
	case res.out == outNAK:
		label = resultNAK
	case res.out == outReject:
		label = resultRejected
	case errors.Is(res.err, errTimeout):
		label = resultTimeout
	}
	s.m.reports.WithLabelValues(p.name, kind, label).Inc()
	if res.out == outFail && ctx.Err() != nil {
		return // cut short by the caller, not the receiver's fault
	}
	if res.out == outDUH && res.resp.ID != dc09.TokenDUH {
		return // could not encode: says nothing about the receiver
	}
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	r.tried = true
	r.ok = res.out == outACK || res.out == outDUH
	if r.ok {
		r.lastErr = ""
		p.active = now
		if res.out == outACK {
			r.lastACK, r.rtt, p.lastACK = now, res.rtt, now
			r.rejection = ""
		}
	} else {
		r.lastErr = res.err.Error()
		p.lastErr = r.String() + ": " + r.lastErr
	}
	s.updatePath(p, now)
}

// updatePath derives p's state from its receivers and, on a change, queues the
// path-failure or path-restore report and event. Called with mu held.
func (s *Sink) updatePath(p *path, now time.Time) {
	st := stateDown
	for _, r := range p.rcvs {
		if r.ok {
			st = stateUp
			break
		}
		if !r.tried {
			st = stateUnknown
		}
	}
	if st == stateUnknown || st == p.state {
		return
	}
	old := p.state
	p.state = st
	up := 0.0
	if st == stateUp {
		up = 1
	}
	s.m.pathUp.WithLabelValues(p.name).Set(up)
	var addrs []string
	for _, r := range p.rcvs {
		addrs = append(addrs, r.addr)
	}
	switch {
	case st == stateDown:
		p.downSince = now
		s.log.Error("policelink: path failed", "path", p.name, "err", p.lastErr)
		reason := reasonPathFail(p.name)
		for _, r := range p.rcvs {
			if r.rejection != "" {
				reason += ": " + ReasonRejected
				break
			}
		}
		s.events = append(s.events, s.newEvent(TypePathFail, event.Fields{
			"path": p.name, "receiver": strings.Join(addrs, ","), "error": p.lastErr, "reason": reason}))
		s.pending = append(s.pending, &linkReport{kind: "link", rep: Report{
			Qualifier: dc09.QualifierNew, Code: s.cfg.PathFail.Code, SIA: s.cfg.PathFail.SIA, Zone: p.num, At: now}, avoid: p})
	case old == stateDown:
		s.log.Info("policelink: path restored", "path", p.name, "down_for", now.Sub(p.downSince))
		p.downSince = time.Time{}
		s.events = append(s.events, s.newEvent(TypePathRestore, event.Fields{
			"path": p.name, "receiver": strings.Join(addrs, ","), "reason": reasonPathRestore(p.name)}))
		s.pending = append(s.pending, &linkReport{kind: "link", rep: Report{
			Qualifier: dc09.QualifierRestore, Code: s.cfg.PathFail.Code, SIA: s.cfg.PathFail.SIARestore, Zone: p.num, At: now}, avoid: p})
	default:
		return // unknown → up: nothing to report
	}
	s.retryAt = time.Time{}
	select {
	case s.kick <- struct{}{}:
	default:
	}
	if st == stateUp {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// deliveryOrder is the order receivers are tried in: configured order (main
// primary, main secondary, backup primary, backup secondary), with the receivers
// whose last message failed moved behind the others, so that while the main path
// is down the backup takes reports at once and the delivery timeout is not spent on
// silent receivers.
func (s *Sink) deliveryOrder() []*receiver {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := append([]*receiver(nil), s.rcvs...)
	sort.SliceStable(out, func(i, j int) bool { return rank(out[i]) < rank(out[j]) })
	return out
}

func rank(r *receiver) int {
	if r.tried && !r.ok {
		return 1
	}
	return 0
}
