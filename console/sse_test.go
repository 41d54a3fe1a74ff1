package console_test

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

// stream is an open /api/events response read line by line.
type stream struct {
	t    testing.TB
	resp *http.Response
	r    *bufio.Reader
}

func (c *client) events() *stream {
	c.t.Helper()
	req, _ := http.NewRequest("GET", c.e.srv.URL+"/api/events", nil)
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		c.t.Fatalf("events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	s := &stream{t: c.t, resp: resp, r: bufio.NewReader(resp.Body)}
	c.t.Cleanup(func() { resp.Body.Close() })
	return s
}

// next returns the next SSE message: its event name (or ":" for a comment) and data.
func (s *stream) next() (name, data string) {
	s.t.Helper()
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			return "EOF", ""
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case line == "":
			if name != "" || data != "" {
				return name, data
			}
		case strings.HasPrefix(line, ":"):
			return ":", strings.TrimSpace(line[1:])
		case strings.HasPrefix(line, "event: "):
			name = line[len("event: "):]
		case strings.HasPrefix(line, "data: "):
			data = line[len("data: "):]
		case strings.HasPrefix(line, "retry: "):
		}
	}
}

func (s *stream) expect(name string) string {
	s.t.Helper()
	got, data := s.next()
	if got != name {
		s.t.Fatalf("SSE: got %q (%s), want %q", got, data, name)
	}
	return data
}

// TestEvents: ready, then every alarm change, heartbeats on the clock, the stream ends at
// logout and when the console stops.
func TestEvents(t *testing.T) {
	clock := clockwork.NewFakeClockAt(time.Date(2026, 11, 20, 21, 0, 0, 0, shanghai))
	e := newEnv(t, envOpts{clock: clock})
	g := e.login("zhangwei")
	v := e.login("wangfang")
	gs := g.events()
	gs.expect("ready")
	vs := v.events()
	vs.expect("ready")

	a := e.press()
	for _, s := range []*stream{gs, vs} {
		if d := s.expect("alarm"); !strings.Contains(d, `"id":"`+a.ID+`"`) || !strings.Contains(d, `"state":"firing"`) {
			t.Fatalf("alarm event: %s", d)
		}
	}
	if resp, b := g.do("POST", "/api/alarms/"+a.ID+"/ack", map[string]string{"note": "到场"}, nil); resp.StatusCode != 200 {
		t.Fatalf("ack: %d %s", resp.StatusCode, b)
	}
	if d := vs.expect("alarm"); !strings.Contains(d, `"state":"acknowledged"`) || !strings.Contains(d, `"acked_by":"zhangwei"`) {
		t.Fatalf("ack event: %s", d)
	}
	gs.expect("alarm")

	// Heartbeat: both streams' tickers and the Manager's wait on the fake clock.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := clock.BlockUntilContext(ctx, 3); err != nil {
		t.Fatal(err)
	}
	clock.Advance(15 * time.Second)
	if n, _ := gs.next(); n != "ping" {
		t.Fatalf("heartbeat: %q", n)
	}
	vs.expect("ping")

	// The viewer logs out: at the next heartbeat the stream says so and ends.
	if resp, _ := v.do("POST", "/api/logout", nil, nil); resp.StatusCode != 204 {
		t.Fatal("logout")
	}
	clock.Advance(15 * time.Second)
	vs.expect("logout")
	vs.expect("EOF")
	gs.expect("ping")

	// Stopping the console tells the guard's stream and ends it.
	e.stop()
	gs.expect("stopping")
	gs.expect("EOF")
	if n := e.c.Health().Detail["streams"]; n != int64(0) {
		t.Fatalf("streams after stop: %v", n)
	}
}
