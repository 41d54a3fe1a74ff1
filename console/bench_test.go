package console_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/campusguard/campusguard/alerting"
)

// BenchmarkActiveAPI: GET /api/alarms/active with 100 open alarms (session check,
// sort, JSON), through the handler.
func BenchmarkActiveAPI(b *testing.B) {
	e := newEnv(b, envOpts{})
	for i := range 100 {
		e.camera("kitchen-cam-1", fmt.Sprint("d", i), "未戴厨师帽", "http://10.0.0.21/snap/1.jpg", alerting.Minor)
	}
	c := e.login("wangfang")
	req := httptest.NewRequest("GET", "/api/alarms/active", nil)
	for _, ck := range c.hc.Jar.Cookies(mustURL(e.srv.URL)) {
		req.AddCookie(ck)
	}
	h := e.c.Handler()
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatal(w.Code)
		}
	}
}

// BenchmarkPressToSSE: from Manager.Handle to the alarm event read from an open stream
// (journal commit included).
func BenchmarkPressToSSE(b *testing.B) {
	e := newEnv(b, envOpts{})
	c := e.login("zhangwei")
	s := c.events()
	s.expect("ready")
	ctx := b.Context()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		dev := fmt.Sprint("dev-", i)
		if err := e.m.Handle(ctx, alerting.Trigger{Rule: "bench", Key: dev, Firing: true, Severity: alerting.Critical, DeviceID: dev}); err != nil {
			b.Fatal(err)
		}
		s.expect("alarm")
	}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}
