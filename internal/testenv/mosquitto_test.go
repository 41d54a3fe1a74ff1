package testenv

import (
	"net"
	"testing"
)

// dial fails t unless something accepts TCP connections at addr.
func dial(t *testing.T, addr string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	c.Close()
}

// TestMosquittoStartRestart: the broker accepts connections once started, logs, and
// does again after a restart (with and without its persistence).
func TestMosquittoStartRestart(t *testing.T) {
	m := StartMosquitto(t, "")
	addr := m.Addr()
	dial(t, addr)
	for _, wipe := range []bool{false, true} {
		mk := m.Mark()
		m.Restart(wipe)
		m.AwaitLog(mk, "running")
		dial(t, addr)
	}
	if len(m.Log()) == 0 {
		t.Fatal("no log kept")
	}
}

// TestSharedMosquitto: the shared broker starts once and serves every caller.
func TestSharedMosquitto(t *testing.T) {
	var s SharedMosquitto
	defer s.Close()
	u := s.URL(t)
	if again := s.URL(t); again != u {
		t.Fatalf("second URL %s, first %s", again, u)
	}
	if s.m != nil {
		dial(t, s.m.Addr())
	}
}
