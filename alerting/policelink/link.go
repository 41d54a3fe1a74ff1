package policelink

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/campusguard/campusguard/alerting/policelink/dc09"
)

// maxAnswer bounds one answer frame (a DC-09 frame is at most about 4 KiB).
const maxAnswer = 8 << 10

// errTimeout reports a receiver that did not answer within the attempt timeout.
var errTimeout = errors.New("no answer")

// link is the connection to one receiver: TCP keeps one connection and reconnects
// after an error; UDP keeps one connected socket. One message is outstanding at a
// time: the caller holds mu for a whole attempt.
type link struct {
	network, addr string

	mu   sync.Mutex
	conn net.Conn
	sc   *bufio.Scanner // TCP: frames of the stream
	buf  []byte         // UDP: datagram buffer
}

func newLink(network, addr string) *link { return &link{network: network, addr: addr} }

// close drops the connection; the next exchange reconnects. Called with mu held.
func (l *link) close() {
	if l.conn != nil {
		l.conn.Close()
		l.conn, l.sc = nil, nil
	}
}

// Close drops the connection.
func (l *link) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.close()
}

// dial connects when there is no connection. Called with mu held.
func (l *link) dial(ctx context.Context, deadline time.Time) error {
	if l.conn != nil {
		return nil
	}
	d := net.Dialer{Deadline: deadline}
	c, err := d.DialContext(ctx, l.network, l.addr)
	if err != nil {
		return err
	}
	l.conn = c
	if l.network == "tcp" {
		l.sc = bufio.NewScanner(c)
		l.sc.Buffer(make([]byte, 0, 512), maxAnswer)
		l.sc.Split(dc09.ScanAnswers)
	} else if l.buf == nil {
		l.buf = make([]byte, maxAnswer)
	}
	return nil
}

// exchange sends frame and reads answers until accept takes one (it returns the
// accepted frame) or the deadline passes (errTimeout). Answers accept refuses (a
// stale or mismatched ACK, garbage) are skipped. A connection that was reused and
// fails before any answer (the receiver restarted) is replaced once. Called with mu
// held.
func (l *link) exchange(ctx context.Context, frame []byte, deadline time.Time, accept func([]byte) bool) ([]byte, error) {
	for try := 0; ; try++ {
		reused := l.conn != nil
		if err := l.dial(ctx, deadline); err != nil {
			return nil, fmt.Errorf("connect: %w", timeoutOr(err))
		}
		ans, got, err := l.roundTrip(ctx, frame, deadline, accept)
		if err == nil {
			return ans, nil
		}
		if isTimeout(err) {
			if l.network == "tcp" {
				l.close() // a late answer must not be read as the next one's
			}
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, errTimeout
		}
		l.close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if reused && !got && try == 0 && time.Now().Before(deadline) {
			continue
		}
		return nil, err
	}
}

// roundTrip writes frame once on the current connection and reads answers. got
// reports whether any bytes came back.
func (l *link) roundTrip(ctx context.Context, frame []byte, deadline time.Time, accept func([]byte) bool) (ans []byte, got bool, err error) {
	c := l.conn
	if err := c.SetDeadline(deadline); err != nil {
		return nil, false, err
	}
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer func() {
		if !stop() && l.conn == c {
			l.close() // the cancel may still touch c: never reuse it
		}
	}()
	if _, err := c.Write(frame); err != nil {
		return nil, false, fmt.Errorf("send: %w", err)
	}
	for {
		var b []byte
		if l.sc != nil {
			if !l.sc.Scan() {
				err := l.sc.Err()
				if err == nil {
					err = errors.New("connection closed by the receiver")
				}
				return nil, got, fmt.Errorf("read: %w", err)
			}
			b = l.sc.Bytes()
		} else {
			n, err := c.Read(l.buf)
			if err != nil {
				return nil, got, fmt.Errorf("read: %w", err)
			}
			b = l.buf[:n]
		}
		got = true
		if accept(b) {
			return bytes.Clone(b), true, nil
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func timeoutOr(err error) error {
	if isTimeout(err) {
		return errTimeout
	}
	return err
}
