// Package testenv runs the real servers that tests share: a Mosquitto broker
// (StartMosquitto, SharedMosquitto, MQTTURL) and an InfluxDB 1.8 server (StartInflux),
// each on free loopback ports with a generated config in a temporary directory, and
// stopped when the test ends; and the checks many packages' tests share: a golden
// file comparison (Golden) and a config validation's expected problems (WantErrors).
//
// A server that cannot run here (not installed, cannot start) skips the test with a
// message saying what is missing, except when CI=true, where the test fails: CI must
// not pass by skipping. CAMPUSGUARD_TEST_MQTT and CAMPUSGUARD_TEST_INFLUX name
// servers run outside the tests, for the tests that do not need to own one.
package testenv

import (
	"fmt"
	"net"
	"os"
	"testing"
	"time"
)

// Guard bounds every wait for a server (start, stop, a log line): a guard against a
// hang, not a timing assertion.
const Guard = 30 * time.Second

// Unavailable skips t because a server it needs cannot run here, or fails t when
// CI=true.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true and %s", msg)
	}
	t.Skip(msg)
}

// FreePort returns a loopback TCP port nobody listens on now.
func FreePort(t testing.TB) int {
	t.Helper()
	p, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// FreeAddr is FreePort as "127.0.0.1:port".
func FreeAddr(t testing.TB) string {
	t.Helper()
	return fmt.Sprintf("127.0.0.1:%d", FreePort(t))
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("testenv: free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
