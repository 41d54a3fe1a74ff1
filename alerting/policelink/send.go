package policelink

import (
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
	outACK  outcome = iota
	outDUH          // the receiver cannot process the message
	outNAK          // NAK retries exhausted
	outFail         // no answer, connection error
)

// result of one message on one receiver.
type result struct {
	out   outcome
	rcv   *receiver
	sent  dc09.Message // with the timestamp of the last attempt
	frame []byte       // the last frame sent
	resp  dc09.Message
	raw   []byte // the answer
	rtt   time.Duration
	naks  int
	err   error
}

// acceptAnswer decodes an answer frame b to sent: it returns the answer and true for
// an ACK or DUH with sent's sequence number and account, or a NAK; false for
// anything else (garbage, another message's ACK), which is not an answer.
func acceptAnswer(sent dc09.Message, key *dc09.Key, b []byte) (dc09.Message, bool) {
	a, err := dc09.ParseResponse(b, key)
	if err != nil || !matchesSent(sent, a) {
		return dc09.Message{}, false
	}
	return a, true
}

// matchesSent reports whether resp answers sent: same sequence number and account
// (a NAK carries neither and always answers the outstanding message).
func matchesSent(sent, resp dc09.Message) bool {
	if resp.ID == dc09.TokenNAK {
		return true
	}
	return resp.Seq == sent.Seq && strings.EqualFold(resp.Account, sent.Account)
}

// attempt sends m to r: on NAK it corrects r's clock offset from the receiver's
// time and resends the same sequence number, at most NAKRetries times.
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
		var resp dc09.Message
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
			res.out, res.err = outDUH, fmt.Errorf("%s %04d: %w", m.ID, m.Seq, dc09.ErrDUH)
			return res
		}
		s.m.nak.Inc()
		off, err := dc09.ClockOffset(resp, s.clock.Now())
		if err != nil {
			res.out, res.err = outFail, err
			return res
		}
		r.offset.Store(int64(off))
		s.m.offset.WithLabelValues(r.path.name, r.role).Set(off.Seconds())
		if res.naks++; res.naks > s.cfg.NAKRetries {
			res.out = outNAK
			res.err = fmt.Errorf("%s %04d: %d NAKs (receiver time %s): %w", m.ID, m.Seq, res.naks,
				resp.Timestamp.Format(time.RFC3339), dc09.ErrNAK)
			return res
		}
		s.log.Warn("policelink: NAK, clock corrected", "receiver", r.String(), "offset", off, "seq", m.Seq)
	}
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
		last = res
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
		s.events = append(s.events, s.newEvent(TypePathFail, event.Fields{
			"path": p.name, "receiver": strings.Join(addrs, ","), "error": p.lastErr}))
		s.pending = append(s.pending, &linkReport{kind: "link", rep: Report{
			Qualifier: dc09.QualifierNew, Code: s.cfg.PathFail.Code, SIA: s.cfg.PathFail.SIA, Zone: p.num, At: now}, avoid: p})
	case old == stateDown:
		s.log.Info("policelink: path restored", "path", p.name, "down_for", now.Sub(p.downSince))
		p.downSince = time.Time{}
		s.events = append(s.events, s.newEvent(TypePathRestore, event.Fields{
			"path": p.name, "receiver": strings.Join(addrs, ",")}))
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
