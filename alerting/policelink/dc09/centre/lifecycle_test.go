package centre

import (
	"bufio"
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/campusguard/campusguard/alerting/policelink/dc09"
)

// TestRestart stops the receiver (connections drop, new ones are refused)
// and starts it again on the same ports.
func TestRestart(t *testing.T) {
	r := startReceiver(t, Config{})
	tcpAddr, udpAddr := r.TCPAddr(), r.UDPAddr()
	tc := dialTCP(t, tcpAddr)
	tc.send(encode(t, cidMessage(t, 1, base), nil))
	tc.read(nil)

	if err := r.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := r.Stop(); err != nil { // idempotent
		t.Fatal(err)
	}
	tc.c.SetReadDeadline(time.Now().Add(ioTimeout))
	if tc.sc.Scan() {
		t.Fatalf("old connection still answers: %q", tc.sc.Bytes())
	}
	if c, err := net.Dial("tcp", tcpAddr); err == nil {
		c.Close()
		t.Fatal("dial succeeded while stopped")
	}

	if err := r.Start(context.Background()); err != nil {
		t.Fatalf("restart: %v", err)
	}
	if r.TCPAddr() != tcpAddr || r.UDPAddr() != udpAddr {
		t.Fatalf("addresses changed: %s %s -> %s %s", tcpAddr, udpAddr, r.TCPAddr(), r.UDPAddr())
	}
	tc2 := dialTCP(t, tcpAddr)
	tc2.send(encode(t, cidMessage(t, 2, base), nil))
	if m := tc2.read(nil); m.Seq != 2 {
		t.Fatalf("answer after restart %#v", m)
	}
	if m := udpExchange(t, udpAddr, encode(t, cidMessage(t, 3, base), nil), nil); m.Seq != 3 {
		t.Fatalf("UDP answer after restart %#v", m)
	}
	if recs := waitN(t, r, 3); recs[0].Message.Seq != 1 || recs[2].Message.Seq != 3 {
		t.Fatalf("records lost across restart: %+v", recs)
	}
}

func TestContextStopsReceiver(t *testing.T) {
	r := New(Config{Network: "tcp", Now: fixedClock})
	ctx, cancel := context.WithCancel(context.Background())
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.Start(ctx); err == nil {
		t.Fatal("second Start succeeded")
	}
	tc := dialTCP(t, r.TCPAddr())
	tc.send(encode(t, cidMessage(t, 1, base), nil))
	tc.read(nil)
	cancel()
	tc.c.SetReadDeadline(time.Now().Add(ioTimeout))
	if tc.sc.Scan() { // the connection is closed by the cancellation
		t.Fatalf("connection still answers: %q", tc.sc.Bytes())
	}
	if err := r.Stop(); err != nil {
		t.Fatal(err)
	}
	if c, err := net.Dial("tcp", r.TCPAddr()); err == nil {
		c.Close()
		t.Fatal("dial succeeded after cancel")
	}
	// A receiver stopped by its context can be started again.
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	if err := r.Start(ctx2); err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	if r.UDPAddr() != "" {
		t.Fatalf("UDPAddr = %q on a TCP-only receiver", r.UDPAddr())
	}
	tc2 := dialTCP(t, r.TCPAddr())
	tc2.send(encode(t, cidMessage(t, 2, base), nil))
	if m := tc2.read(nil); m.Seq != 2 {
		t.Fatalf("answer %#v", m)
	}
}

func TestTCPStreamFraming(t *testing.T) {
	r := startReceiver(t, Config{Network: "tcp"})
	var stream []byte
	for seq := 1; seq <= 3; seq++ {
		stream = append(stream, encode(t, cidMessage(t, seq, base), nil)...)
	}
	stream = append(stream, []byte("F68B003B\"ADM-CID\"0028L0#9757[#9757|1602 00 000]_20:59:45,02-20-2024\r")...) // no LF
	tc := dialTCP(t, r.TCPAddr())
	// Dribble the stream in small pieces.
	for i := 0; i < len(stream); i += 7 {
		tc.send(stream[i:min(i+7, len(stream))])
	}
	for _, want := range []int{1, 2, 3} {
		if m := tc.read(nil); m.ID != dc09.TokenACK || m.Seq != want {
			t.Fatalf("answer %#v, want ACK %04d", m, want)
		}
	}
	if m := tc.read(nil); m.ID != dc09.TokenNAK { // 2024 timestamp: out of window
		t.Fatalf("answer %#v, want NAK", m)
	}
}

func TestWaitHonoursContext(t *testing.T) {
	r := New(Config{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.Wait(ctx, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait = %v", err)
	}
	if recs, err := r.Wait(ctx, 0); err != nil || len(recs) != 0 {
		t.Fatalf("Wait(0) = %v, %v", recs, err)
	}
}

func TestBadNetwork(t *testing.T) {
	if err := New(Config{Network: "sctp"}).Start(context.Background()); err == nil {
		t.Fatal("Start with network sctp succeeded")
	}
}

// TestConcurrentSenders sends from many goroutines over both transports while
// the behaviour changes, for the race detector.
func TestConcurrentSenders(t *testing.T) {
	r := startReceiver(t, Config{})
	const senders, each = 4, 10
	var wg sync.WaitGroup
	for s := range senders {
		wg.Go(func() {
			c, err := net.Dial("tcp", r.TCPAddr())
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			var stream []byte
			for i := range each {
				b, _ := dc09.Encode(dc09.Message{ID: dc09.TokenNULL, Seq: s*each + i, Line: "0", Account: "1234"}, nil, nil)
				stream = append(stream, b...)
			}
			if _, err := c.Write(stream); err != nil {
				t.Error(err)
				return
			}
			// Read every answer: closing with unread data would reset the
			// connection and could discard frames not yet read by the receiver.
			sc := bufio.NewScanner(c)
			sc.Split(dc09.ScanFrames)
			c.SetReadDeadline(time.Now().Add(ioTimeout))
			for range each {
				if !sc.Scan() {
					t.Errorf("TCP answers: %v", sc.Err())
					return
				}
			}
		})
		wg.Go(func() {
			c, err := net.Dial("udp", r.UDPAddr())
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			for i := range each {
				b, _ := dc09.Encode(dc09.Message{ID: dc09.TokenNULL, Seq: s*each + i, Line: "0", Account: "5678"}, nil, nil)
				if _, err := c.Write(b); err != nil {
					t.Error(err)
					return
				}
				// Wait for this datagram to be handled before the next one,
				// so that none is dropped by a full socket buffer.
				buf := make([]byte, 512)
				c.SetReadDeadline(time.Now().Add(ioTimeout))
				if _, err := c.Read(buf); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for i := range 20 {
			r.SetBehavior(Behavior(i % 2 * int(DUH)))
			r.SetClockOffset(time.Duration(i) * time.Second)
			_ = r.Received()
			_ = r.Now()
		}
		r.SetBehavior(ACK)
	})
	wg.Wait()
	recs := waitN(t, r, 2*senders*each)
	if len(recs) != 2*senders*each {
		t.Fatalf("%d records", len(recs))
	}
}
