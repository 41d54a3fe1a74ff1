package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/campusguard/campusguard/internal/broker"
)

const watchConfig = `site:
  id: w01
  name: 测试学校
  zones: [{id: gate, name: 校门, number: 1}]
devices:
  - {id: panic-gate, kind: panic, location: 校门, zone: gate, driver: mqtt}
  - {id: radar-1, kind: antifall, location: 三楼, zone: gate, driver: sim}
mqtt:
  brokers:
    - {name: campus, url: "tcp://%s"}
  mappings:
    - name: panic-module
      broker: campus
      topic: school/+/panic/+/status
      kind: panic
      device_id: {topic_level: 3}
      type: {field: pressed, map: {"true": pressed, "false": released}}
      time: {field: ts, format: unix}
      fields:
        - {name: supply_v, path: power.v, type: float}
`

func writeWatchConfig(t *testing.T, brokerAddr string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "rules"), 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "campusguard.yaml")
	if err := os.WriteFile(p, []byte(fmt.Sprintf(watchConfig, brokerAddr)), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestMQTTWatchOneMessage(t *testing.T) {
	cfg := writeWatchConfig(t, "127.0.0.1:1")
	tests := []struct {
		topic, payload string
		code           int
		want           string
	}{
		{"school/s1/panic/panic-gate/status", `{"pressed":true,"ts":1780000000,"power":{"v":12.1}}`, 0,
			"event: device=panic-gate kind=panic type=pressed device_time=2026-05-28T20:26:40Z supply_v=12.1"},
		{"school/s1/panic/panic-gate/status", `{"pressed":"maybe"}`, 1, `rejected (bad_value): type "pressed": value "maybe" is not in the map`},
		{"school/s1/panic/panic-gate/status", `{"ts":1}`, 1, `rejected (missing_field)`},
		{"school/s1/panic/panic-9/status", `{"pressed":true}`, 1, `rejected (unknown_device): device "panic-9" is not in devices`},
		{"school/s1/panic/radar-1/status", `{"pressed":true}`, 1, `rejected (kind_mismatch): device "radar-1" is a antifall`},
		{"school/s1/panic/panic-gate/status", `not json`, 1, `rejected (not_json)`},
	}
	for _, tt := range tests {
		var out, errb bytes.Buffer
		code := mqttWatch(context.Background(), []string{"panic-module", "--config", cfg, "--topic", tt.topic, "--payload", tt.payload}, &out, &errb)
		if code != tt.code || !strings.Contains(out.String(), tt.want) {
			t.Errorf("%s: exit %d, want %d and %q:\n%s%s", tt.payload, code, tt.code, tt.want, out.String(), errb.String())
		}
	}
	var out, errb bytes.Buffer
	if code := mqttWatch(context.Background(), []string{"nope", "--config", cfg}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "mappings: panic-module") {
		t.Errorf("unknown mapping: exit %d: %s", code, errb.String())
	}
}

// syncBuf is a bytes.Buffer safe for the watcher's goroutine and the test.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestMQTTWatchLive: against a real broker, the watcher prints the event of a good
// message and the reason for a bad one.
func TestMQTTWatchLive(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := broker.Start(ctx, broker.Options{Listen: addr})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	cfg := writeWatchConfig(t, addr)
	var out, errb syncBuf
	done := make(chan int, 1)
	go func() { done <- mqttWatch(ctx, []string{"panic-module", "--config", cfg, "-n", "2"}, &out, &errb) }()
	for !strings.Contains(errb.String(), "watching") {
		select {
		case code := <-done:
			t.Fatalf("watch ended (%d): %s", code, errb.String())
		case <-ctx.Done():
			t.Fatal("watch did not subscribe")
		case <-time.After(20 * time.Millisecond):
		}
	}
	_ = b.Publish("school/s1/panic/panic-gate/status", []byte(`{"pressed":true}`), false, 0)
	_ = b.Publish("school/s1/panic/panic-gate/status", []byte(`{"pressed":1.5}`), false, 0)
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errb.String())
		}
	case <-ctx.Done():
		t.Fatalf("no two messages:\n%s", out.String())
	}
	for _, w := range []string{"event: device=panic-gate kind=panic type=pressed", `rejected (bad_value): type "pressed": value "1.5"`} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("missing %q in:\n%s", w, out.String())
		}
	}
}
