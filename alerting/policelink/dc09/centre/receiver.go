package centre

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/campusguard/campusguard/alerting/policelink/dc09"
)

// Config configures a Receiver. The zero value is a clear-text receiver on
// TCP and UDP that acknowledges everything within the default time window.
type Config struct {
	// Network is "tcp", "udp", or "" for both.
	Network string
	// Key decrypts encrypted messages and encrypts the answers to them
	// (build it with dc09.ParseKey, hex or ASCII). nil: clear text only;
	// encrypted messages are then answered with NAK.
	Key *dc09.Key
	// Behavior is the default answer (ACK when zero).
	Behavior Behavior
	// ClockOffset is added to Now to give the receiver's clock.
	ClockOffset time.Duration
	// PastWindow and FutureWindow bound the accepted message timestamps
	// around the receiver's clock; zero means DefaultPastWindow and
	// DefaultFutureWindow.
	PastWindow, FutureWindow time.Duration
	// NoTimeCheck accepts any timestamp.
	NoTimeCheck bool
	// Now is the local clock; nil means time.Now.
	Now func() time.Time
	// Listen is the address to serve on (TCP and UDP alike); "" means a free
	// loopback port (127.0.0.1:0). The demo's stand-in receiving centre uses a fixed one.
	Listen string
	// Field, when set, makes the receiver answer like the receiver library in the
	// field (see FieldConfig); Key is then not used.
	Field *FieldConfig
}

// Received is one frame the Receiver got, with what it answered.
type Received struct {
	Network string    // "tcp" or "udp"
	From    string    // the sender's address
	At      time.Time // the receiver's clock (Now + ClockOffset) on arrival
	Raw     []byte    // the frame as received
	// Message is the decoded message; on a decode error it holds what was
	// decoded (for ErrNoKey, the header).
	Message dc09.Message
	// Err is the decode error (the frame was then answered with NAK), or the
	// error building the reply.
	Err    error
	Answer Behavior // what was answered
	Reply  []byte   // the frame sent back; nil when Silent
}

// Receiver is a loopback DC-09 alarm receiver. Its methods are safe for
// concurrent use.
type Receiver struct {
	mu        sync.Mutex
	cfg       Config
	script    []Behavior
	records   []Received
	changed   chan struct{} // closed and replaced when records grows
	tcpAddr   string
	udpAddr   string
	run       *run       // the current run; nil when stopped
	lifecycle sync.Mutex // serialises Start and Stop
}

// New returns a stopped Receiver; call Start.
func New(cfg Config) *Receiver {
	if cfg.PastWindow == 0 {
		cfg.PastWindow = DefaultPastWindow
	}
	if cfg.FutureWindow == 0 {
		cfg.FutureWindow = DefaultFutureWindow
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Receiver{cfg: cfg, changed: make(chan struct{}), tcpAddr: cfg.Listen, udpAddr: cfg.Listen}
}

// TCPAddr returns the TCP address ("127.0.0.1:port") once started, "" when
// TCP is not served. It stays the same across Stop and Start.
func (r *Receiver) TCPAddr() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.tcpAddr
}

// UDPAddr returns the UDP address ("127.0.0.1:port") once started, "" when
// UDP is not served. It stays the same across Stop and Start.
func (r *Receiver) UDPAddr() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.udpAddr
}

// SetBehavior changes the default answer.
func (r *Receiver) SetBehavior(b Behavior) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cfg.Behavior = b
}

// Script queues one-shot answers: each valid message takes the next one,
// before the default behaviour applies again. Undecodable frames (always
// answered with NAK) do not consume the script.
func (r *Receiver) Script(bs ...Behavior) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.script = append(r.script, bs...)
}

// SetClockOffset changes the offset of the receiver's clock.
func (r *Receiver) SetClockOffset(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cfg.ClockOffset = d
}

// Now returns the receiver's clock: the local clock plus the offset.
func (r *Receiver) Now() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.nowLocked()
}

func (r *Receiver) nowLocked() time.Time { return r.cfg.Now().Add(r.cfg.ClockOffset).UTC() }

// Len returns the number of frames received so far.
func (r *Receiver) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.records)
}

// Received returns a copy of the frames received so far, in order.
func (r *Receiver) Received() []Received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Received(nil), r.records...)
}

// Wait blocks until at least n frames have been received (in total, since
// New) and returns them all, or returns ctx's error.
func (r *Receiver) Wait(ctx context.Context, n int) ([]Received, error) {
	for {
		r.mu.Lock()
		if len(r.records) >= n {
			recs := append([]Received(nil), r.records...)
			r.mu.Unlock()
			return recs, nil
		}
		ch, have := r.changed, len(r.records)
		r.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, fmt.Errorf("centre: waiting for %d frames, have %d: %w", n, have, ctx.Err())
		}
	}
}

// handle decodes one frame, decides and records the answer, and returns the
// reply to send (nil for none).
func (r *Receiver) handle(network, from string, raw []byte) []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.nowLocked()
	rec := Received{Network: network, From: from, At: now, Raw: raw}
	if r.cfg.Field != nil {
		r.fieldHandle(&rec, now)
		r.record(rec)
		return rec.Reply
	}
	rec.Message, rec.Err = dc09.Decode(raw, r.cfg.Key)
	m := rec.Message
	switch {
	case rec.Err != nil:
		rec.Answer = NAK
	case len(r.script) > 0:
		rec.Answer, r.script = r.script[0], r.script[1:]
	default:
		rec.Answer = r.cfg.Behavior
	}
	if rec.Answer == ACK && rec.Err == nil && !r.inWindow(m.Timestamp, now) {
		rec.Answer = NAK
	}
	var resp dc09.Message
	switch rec.Answer {
	case ACK:
		resp = dc09.NewACK(m, now)
	case DUH:
		resp = dc09.NewDUH(m, now)
	case Silent:
	default:
		rec.Answer = NAK
		resp = dc09.NewNAK(now)
	}
	if rec.Answer != Silent {
		reply, err := dc09.Encode(resp, r.cfg.Key, nil)
		if err != nil && rec.Err == nil {
			rec.Err = fmt.Errorf("centre: building %v: %w", rec.Answer, err)
		}
		rec.Reply = reply
	}
	r.record(rec)
	return rec.Reply
}

// record appends rec and wakes Wait. Called with mu held.
func (r *Receiver) record(rec Received) {
	r.records = append(r.records, rec)
	close(r.changed)
	r.changed = make(chan struct{})
}

// inWindow reports whether a message timestamp is acceptable; messages
// without a timestamp always are.
func (r *Receiver) inWindow(ts, now time.Time) bool {
	if r.cfg.NoTimeCheck || ts.IsZero() {
		return true
	}
	return !ts.Before(now.Add(-r.cfg.PastWindow)) && !ts.After(now.Add(r.cfg.FutureWindow))
}
