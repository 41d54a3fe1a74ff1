package centre

import (
	"bufio"
	"context"
	"net"
	"testing"
	"time"

	"github.com/campusguard/campusguard/alerting/policelink/dc09"
)

// base is the local clock of the tests' receivers.
var base = time.Date(2025, 9, 24, 16, 20, 1, 0, time.UTC)

func fixedClock() time.Time { return base }

// ioTimeout only guards against a hung test; no test waits for it to pass.
const ioTimeout = 10 * time.Second

func startReceiver(t *testing.T, cfg Config) *Receiver {
	t.Helper()
	if cfg.Now == nil {
		cfg.Now = fixedClock
	}
	r := New(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	if err := r.Start(ctx); err != nil {
		cancel()
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		if err := r.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return r
}

func waitN(t *testing.T, r *Receiver, n int) []Received {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	recs, err := r.Wait(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// tcpClient is a panel-side TCP connection.
type tcpClient struct {
	t  *testing.T
	c  net.Conn
	sc *bufio.Scanner
}

func dialTCP(t *testing.T, addr string) *tcpClient {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, ioTimeout)
	if err != nil {
		t.Fatalf("dial tcp %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	sc := bufio.NewScanner(c)
	sc.Split(dc09.ScanFrames)
	return &tcpClient{t: t, c: c, sc: sc}
}

func (tc *tcpClient) send(frame []byte) {
	tc.t.Helper()
	if _, err := tc.c.Write(frame); err != nil {
		tc.t.Fatalf("write: %v", err)
	}
}

func (tc *tcpClient) read(key *dc09.Key) dc09.Message {
	tc.t.Helper()
	tc.c.SetReadDeadline(time.Now().Add(ioTimeout))
	if !tc.sc.Scan() {
		tc.t.Fatalf("no answer: %v", tc.sc.Err())
	}
	m, err := dc09.ParseResponse(tc.sc.Bytes(), key)
	if err != nil {
		tc.t.Fatalf("answer %q: %v", tc.sc.Bytes(), err)
	}
	return m
}

// udpRaw sends one datagram and returns the raw answer.
func udpRaw(t *testing.T, addr string, frame []byte) []byte {
	t.Helper()
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(frame); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(ioTimeout))
	buf := make([]byte, 8192)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("udp answer: %v", err)
	}
	return buf[:n]
}

// udpExchange sends one datagram and reads one answer.
func udpExchange(t *testing.T, addr string, frame []byte, key *dc09.Key) dc09.Message {
	t.Helper()
	b := udpRaw(t, addr, frame)
	m, err := dc09.ParseResponse(b, key)
	if err != nil {
		t.Fatalf("udp answer %q: %v", b, err)
	}
	return m
}

func cidMessage(t *testing.T, seq int, ts time.Time) dc09.Message {
	t.Helper()
	data, err := dc09.FormatCID("1234", dc09.CID{Qualifier: 1, Code: 120, Area: 1, Zone: 15})
	if err != nil {
		t.Fatal(err)
	}
	return dc09.Message{ID: dc09.TokenADMCID, Seq: seq, Receiver: "0", Line: "0", Account: "1234", Data: data, Timestamp: ts}
}

func encode(t *testing.T, m dc09.Message, key *dc09.Key) []byte {
	t.Helper()
	b, err := dc09.Encode(m, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
