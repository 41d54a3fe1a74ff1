package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/cfgerr"
	"github.com/campusguard/campusguard/event"
	"github.com/campusguard/campusguard/health"
	"github.com/campusguard/campusguard/internal/testenv"
	"github.com/campusguard/campusguard/secret"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var quiet = slog.New(slog.DiscardHandler)

// testNow is 2026-11-20 21:03:12 in Shanghai.
var testNow = time.Date(2026, 11, 20, 13, 3, 12, 0, time.UTC)

func newSink(t testing.TB, cfg Config, clock clockwork.Clock, reg prometheus.Registerer) *Sink {
	t.Helper()
	if cfg.Name == "" {
		cfg.Name = string(cfg.Format)
		if cfg.Name == "" {
			cfg.Name = "hook"
		}
	}
	s, err := New(cfg, Options{Clock: clock, Registerer: reg, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func groupNotification() alerting.Notification {
	n := SampleNotification()
	a := n.Alarm
	a.ID, a.DeviceID, a.DeviceKind, a.Zone, a.Location = "k1", "cam-2", event.KindKitchenCamera, "kitchen", "食堂后厨灶台区"
	a.Severity, a.Message, a.Latched = alerting.Minor, "未戴厨师帽", false
	a.Fields = event.Fields{"snapshot": "http://10.0.0.21/snap/8813.jpg", "confidence": 0.91}
	a.Count = 4
	b := a
	b.ID, b.Location, b.Message, b.LastAt = "k2", "食堂后厨洗消间", "未戴口罩", a.LastAt.Add(40*time.Second)
	return alerting.Notification{ID: "grp-1", Transition: alerting.Fired, Alarm: a, Group: []alerting.Alarm{a, b}, Count: 2, At: b.LastAt}
}

func TestRobotsAcceptSignedMessages(t *testing.T) {
	clock := clockwork.NewFakeClockAt(testNow)
	tests := []struct {
		name   string
		format Format
		secret string
		card   bool
		check  func(t *testing.T, body map[string]any)
	}{
		{"wecom", FormatWeCom, "", false, func(t *testing.T, b map[string]any) {
			c := b["markdown"].(map[string]any)["content"].(string)
			if !strings.HasPrefix(c, "### 【紧急】一键报警 校门门卫室 2026-11-20 21:03:12 已触发\n") ||
				!strings.Contains(c, "[抓拍图片](http://10.0.0.21/snap/8812.jpg)") {
				t.Fatalf("content %q", c)
			}
		}},
		{"dingtalk signed", FormatDingTalk, "SEC0123456789abcdef", false, func(t *testing.T, b map[string]any) {
			md := b["markdown"].(map[string]any)
			if md["title"] != "【紧急】一键报警 校门门卫室 2026-11-20 21:03:12 已触发" {
				t.Fatalf("title %q", md["title"])
			}
		}},
		{"dingtalk unsigned", FormatDingTalk, "", false, nil},
		{"feishu text signed", FormatFeishu, "feishu-secret-key", false, func(t *testing.T, b map[string]any) {
			txt := b["content"].(map[string]any)["text"].(string)
			if !strings.HasPrefix(txt, "【紧急】一键报警 校门门卫室 2026-11-20 21:03:12 已触发\n级别：紧急\n位置：校门门卫室") {
				t.Fatalf("text %q", txt)
			}
		}},
		{"feishu card", FormatFeishu, "feishu-secret-key", true, func(t *testing.T, b map[string]any) {
			h := b["card"].(map[string]any)["header"].(map[string]any)
			if h["template"] != "red" {
				t.Fatalf("header %v", h)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newRobotServer(t, tc.format, "tok-123", tc.secret, clock)
			reg := prometheus.NewRegistry()
			s := newSink(t, Config{Format: tc.format, URL: srv.URL(), Secret: secret.Inline(tc.secret), FeishuCard: tc.card}, clock, reg)
			n := SampleNotification()
			if err := s.Deliver(context.Background(), n); err != nil {
				t.Fatal(err)
			}
			got := srv.bodies()
			if len(got) != 1 {
				t.Fatalf("server accepted %d messages", len(got))
			}
			if h := srv.headers[0].Get(NotificationHeader); h != n.ID {
				t.Fatalf("notification header %q", h)
			}
			if tc.check != nil {
				tc.check(t, got[0])
			}
			if v := testutil.ToFloat64(s.m.requests.WithLabelValues("ok")); v != 1 {
				t.Fatalf("ok deliveries %v", v)
			}
			if h := s.Health(); h.State != health.Up || h.Detail["last_success"] == nil {
				t.Fatalf("health %+v", h)
			}
		})
	}
}

func TestRobotErrors(t *testing.T) {
	clock := clockwork.NewFakeClockAt(testNow)
	tests := []struct {
		name      string
		format    Format
		srvSecret string
		secret    string
		token     string
		limit     int
		permanent bool
		code      int
		retry     time.Duration
	}{
		{"dingtalk wrong secret", FormatDingTalk, "right", "wrong", "tok", 0, true, 310000, 0},
		{"dingtalk unsigned to a signed robot", FormatDingTalk, "right", "", "tok", 0, true, 310000, 0},
		{"feishu wrong secret", FormatFeishu, "right", "wrong", "tok", 0, true, 19021, 0},
		{"wecom wrong key", FormatWeCom, "", "", "other", 0, true, 93000, 0},
		{"wecom rate limit", FormatWeCom, "", "", "tok", -1, false, 45009, time.Minute},
		{"dingtalk rate limit", FormatDingTalk, "", "", "tok", -1, false, 130101, time.Minute},
		{"feishu rate limit", FormatFeishu, "", "", "tok", -1, false, 11232, time.Minute},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newRobotServer(t, tc.format, "tok", tc.srvSecret, clock)
			if tc.limit < 0 {
				srv.limit = 1
				srv.received = []map[string]any{{}} // the minute's quota is used up
			}
			url := strings.Replace(srv.URL(), "tok", tc.token, 1)
			s := newSink(t, Config{Format: tc.format, URL: url, Secret: secret.Inline(tc.secret)}, clock, nil)
			err := s.Deliver(context.Background(), SampleNotification())
			var p *alerting.Permanent
			if errors.As(err, &p) != tc.permanent {
				t.Fatalf("permanent=%v, want %v: %v", p != nil, tc.permanent, err)
			}
			var e *Error
			if !errors.As(err, &e) || e.Code != tc.code || e.RetryDelay() != tc.retry {
				t.Fatalf("error %#v, want code %d retry %s", e, tc.code, tc.retry)
			}
			if strings.Contains(err.Error(), "tok") && tc.token == "tok" {
				t.Fatalf("the robot key leaked into %q", err)
			}
		})
	}
}

// A signature older than an hour is rejected by the robot, as the real services do.
func TestSignatureTimestampWindow(t *testing.T) {
	srvClock := clockwork.NewFakeClockAt(testNow)
	sinkClock := clockwork.NewFakeClockAt(testNow.Add(-2 * time.Hour)) // the gateway's clock is off
	for _, f := range []Format{FormatDingTalk, FormatFeishu} {
		srv := newRobotServer(t, f, "tok", "s3cret", srvClock)
		s := newSink(t, Config{Format: f, URL: srv.URL(), Secret: secret.Inline("s3cret")}, sinkClock, nil)
		var p *alerting.Permanent
		if err := s.Deliver(context.Background(), SampleNotification()); !errors.As(err, &p) {
			t.Fatalf("%s: a stale signature was accepted: %v", f, err)
		}
	}
}

func TestHTTPStatusClassification(t *testing.T) {
	clock := clockwork.NewFakeClockAt(testNow)
	tests := []struct {
		status     int
		retryAfter string
		body       string
		want       string // ok, retry, rejected
		delay      time.Duration
	}{
		{200, "", `{"whatever":1}`, "ok", 0},
		{204, "", "", "ok", 0},
		{301, "", "", "rejected", 0},
		{400, "", `{"error":"bad"}`, "rejected", 0},
		{401, "", "", "rejected", 0},
		{404, "", "", "rejected", 0},
		{408, "", "", "retry", 0},
		{429, "7", "", "retry", 7 * time.Second},
		{429, testNow.Add(90 * time.Second).Format(http.TimeFormat), "", "retry", 90 * time.Second},
		{500, "", "oops", "retry", 0},
		{503, "120", "", "retry", 2 * time.Minute},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.status, tc.retryAfter), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.retryAfter != "" {
					w.Header().Set("Retry-After", tc.retryAfter)
				}
				if tc.status == 301 {
					w.Header().Set("Location", "/elsewhere")
				}
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
			}))
			defer srv.Close()
			s := newSink(t, Config{URL: srv.URL + "/hook"}, clock, nil)
			err := s.Deliver(context.Background(), SampleNotification())
			var p *alerting.Permanent
			var e *Error
			got := "ok"
			switch {
			case errors.As(err, &p):
				got = "rejected"
			case err != nil:
				got = "retry"
			}
			if got != tc.want {
				t.Fatalf("result %s (%v), want %s", got, err, tc.want)
			}
			if err != nil && (!errors.As(err, &e) || e.Status != tc.status || e.RetryDelay() != tc.delay) {
				t.Fatalf("error %#v, want status %d delay %s", e, tc.status, tc.delay)
			}
			if v := testutil.ToFloat64(s.m.requests.WithLabelValues(tc.want)); v != 1 {
				t.Fatalf("%s deliveries %v", tc.want, v)
			}
		})
	}
}

// One attempt is bounded by the timeout, and a timeout is retryable.
func TestTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	s := newSink(t, Config{URL: srv.URL, Timeout: 50 * time.Millisecond}, nil, nil)
	err := s.Deliver(context.Background(), SampleNotification())
	var p *alerting.Permanent
	if err == nil || errors.As(err, &p) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v", err)
	}
}

func TestKeyNotInErrors(t *testing.T) {
	s := newSink(t, Config{Format: FormatWeCom, URL: "http://127.0.0.1:1/cgi-bin/webhook/send?key=SUPERSECRETKEY"}, nil, nil)
	err := s.Deliver(context.Background(), SampleNotification())
	if err == nil || strings.Contains(err.Error(), "SUPERSECRETKEY") {
		t.Fatalf("err %v", err)
	}
	if h := s.Health(); h.State != health.Degraded || strings.Contains(fmt.Sprint(h), "SUPERSECRETKEY") {
		t.Fatalf("health %+v", h)
	}
	for range 2 {
		_ = s.Deliver(context.Background(), SampleNotification())
	}
	if h := s.Health(); h.State != health.Down {
		t.Fatalf("health after 3 failures %+v", h)
	}
}

func TestJSONFormatAndHeaders(t *testing.T) {
	var got []byte
	var hdr http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = io.ReadAll(r.Body)
		hdr = r.Header.Clone()
	}))
	defer srv.Close()
	s := newSink(t, Config{URL: srv.URL, Method: "PUT", Headers: map[string]string{"Authorization": "Bearer abc"}}, nil, nil)
	n := SampleNotification()
	if err := s.Deliver(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	var back alerting.Notification
	if err := json.Unmarshal(got, &back); err != nil || back.ID != n.ID || back.Alarm.Location != "校门门卫室" {
		t.Fatalf("body %s: %v", got, err)
	}
	if hdr.Get("Authorization") != "Bearer abc" || hdr.Get(NotificationHeader) != n.ID {
		t.Fatalf("headers %v", hdr)
	}
}

func TestTemplateFormat(t *testing.T) {
	tpl := `{"title": {{json .Title}}, "sev": {{json (severity .Alarm.Severity)}}, "at": {{json (time .At)}}, "id": {{json .ID}}, "count": {{.Count}}}`
	var got []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got, _ = io.ReadAll(r.Body) }))
	defer srv.Close()
	s := newSink(t, Config{URL: srv.URL, Format: FormatTemplate, Template: tpl}, nil, nil)
	if err := s.Deliver(context.Background(), SampleNotification()); err != nil {
		t.Fatal(err)
	}
	want := `{"title": "【紧急】一键报警 校门门卫室 2026-11-20 21:03:12 已触发", "sev": "紧急", "at": "2026-11-20 21:03:12", "id": "s01-panic-box-gate-1/fired", "count": 1}`
	if string(got) != want {
		t.Fatalf("body\n%s\nwant\n%s", got, want)
	}
	// A template that fails at delivery is permanent (a notification with a message
	// that breaks JSON when not quoted).
	s = newSink(t, Config{URL: srv.URL, Format: FormatTemplate, Template: `{"m": "{{.Alarm.Message}}"}`}, nil, nil)
	n := SampleNotification()
	n.Alarm.Message = `say "hi"`
	var p *alerting.Permanent
	if err := s.Deliver(context.Background(), n); !errors.As(err, &p) {
		t.Fatalf("err %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "secret")
	if err := os.WriteFile(secretFile, []byte("SECabc\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CG_TEST_FEISHU_SECRET", "xyz")
	tests := []struct {
		name string
		cfg  Config
		want []string
	}{
		{"minimal", Config{Name: "hook", URL: "https://example.org/x"}, nil},
		{"secret file", Config{Name: "dt", URL: "https://oapi.dingtalk.com/robot/send?access_token=x", Format: FormatDingTalk, SecretFile: secretFile}, nil},
		{"secret env", Config{Name: "fs", URL: "https://open.feishu.cn/open-apis/bot/v2/hook/x", Format: FormatFeishu, SecretEnv: "CG_TEST_FEISHU_SECRET"}, nil},
		{"missing all", Config{}, []string{"name: is required", "url: is required"}},
		{"bad values", Config{Name: "a b", URL: "ftp://x", Method: "GET", Timeout: -1, Format: "slack", Language: "fr", Timezone: "Mars/Base"},
			[]string{`name: "a b" is not`, "url: is not an http(s) URL", `method: "GET" is not POST or PUT`, "timeout: must be positive",
				`format: unknown format "slack"`, `language: "fr" is not zh or en`, `timezone: unknown time zone "Mars/Base"`}},
		{"template missing", Config{Name: "t", URL: "http://x", Format: FormatTemplate}, []string{"template: is required"}},
		{"template not json", Config{Name: "t", URL: "http://x", Format: FormatTemplate, Template: `{"m": {{.Alarm.Message}}}`},
			[]string{"template: rendering a sample notification: the template did not produce valid JSON"}},
		{"template bad field", Config{Name: "t", URL: "http://x", Format: FormatTemplate, Template: `{"m": {{json .Nope}}}`},
			[]string{"template: rendering a sample notification"}},
		{"template syntax", Config{Name: "t", URL: "http://x", Format: FormatTemplate, Template: `{{if}}`}, []string{"template: template: body"}},
		{"two secrets", Config{Name: "d", URL: "http://x", Format: FormatDingTalk, Secret: secret.Inline("a"), SecretEnv: "B"},
			[]string{"secret: secret and secret_env are both given", "secret_env: environment variable B is not set"}},
		{"missing ca file", Config{Name: "c", URL: "https://x", TLS: secret.TLSClient{CAFile: filepath.Join(dir, "nope.pem")}}, []string{"ca_file: open"}},
		{"missing secret file", Config{Name: "d", URL: "http://x", Format: FormatDingTalk, SecretFile: filepath.Join(dir, "nope")}, []string{"secret_file: open"}},
		{"unset env", Config{Name: "d", URL: "http://x", Format: FormatFeishu, SecretEnv: "CG_TEST_UNSET_VAR"}, []string{"secret_env: environment variable CG_TEST_UNSET_VAR is not set"}},
		{"secret on wecom", Config{Name: "w", URL: "http://x", Format: FormatWeCom, Secret: secret.Inline("a")}, []string{"secret: only the dingtalk and feishu"}},
		{"bad header", Config{Name: "w", URL: "http://x", Headers: map[string]string{"Bad Header": "x"}}, []string{`headers: "Bad Header" is not`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.cfg
			c.SetDefaults(cfgerr.Env{})
			var errs cfgerr.List
			c.Validate(&errs)
			c.Resolve(&errs, secret.Lookup{})
			testenv.WantErrors(t, &errs, tc.want)
		})
	}
	c := Config{SecretFile: secretFile}
	var errs cfgerr.List
	if c.Resolve(&errs, secret.Lookup{}); errs.Len() != 0 || c.Secret.Reveal() != "SECabc" {
		t.Fatalf("secret %q %v", c.Secret.Reveal(), errs.Err())
	}
}

// The bodies of every format for a single and a grouped notification, in Chinese and
// English, against golden files (go test -run Golden -update rewrites them).
func TestGoldenBodies(t *testing.T) {
	clock := clockwork.NewFakeClockAt(testNow)
	notes := map[string]alerting.Notification{"single": SampleNotification(), "group": groupNotification()}
	acked := SampleNotification()
	acked.Transition, acked.Alarm.State, acked.Alarm.AckedBy, acked.Alarm.AckNote = alerting.Acked, alerting.Acknowledged, "王师傅", "误触，已复位"
	acked.Alarm.AckedAt = testNow.Add(2 * time.Minute)
	acked.At = acked.Alarm.AckedAt
	notes["acked"] = acked
	cfgs := map[string]Config{
		"wecom":          {Format: FormatWeCom},
		"dingtalk":       {Format: FormatDingTalk, Secret: secret.Inline("SECtest"), MentionAll: true},
		"feishu-text":    {Format: FormatFeishu, Secret: secret.Inline("feishu"), MentionAll: true},
		"feishu-card":    {Format: FormatFeishu, FeishuCard: true},
		"feishu-text-en": {Format: FormatFeishu, Language: "en"},
		"json":           {Format: FormatJSON},
	}
	for cname, cfg := range cfgs {
		cfg.URL = "http://127.0.0.1:1/"
		s := newSink(t, cfg, clock, nil)
		for nname, n := range notes {
			name := cname + "-" + nname
			t.Run(name, func(t *testing.T) {
				body, q, err := s.body(n, clock.Now())
				if err != nil {
					t.Fatal(err)
				}
				var pretty bytes.Buffer
				if err := json.Indent(&pretty, body, "", "  "); err != nil {
					t.Fatal(err)
				}
				if len(q) > 0 {
					fmt.Fprintf(&pretty, "\nquery: %s", q.Encode())
				}
				pretty.WriteString("\n")
				testenv.Golden(t, filepath.Join("testdata", name+".golden"), pretty.Bytes(), *update)
			})
		}
	}
}

func TestWeComContentLimit(t *testing.T) {
	n := SampleNotification()
	n.Alarm.Message = strings.Repeat("很长的消息", 600)
	s := newSink(t, Config{Format: FormatWeCom, URL: "http://x/"}, nil, nil)
	body, _, err := s.body(n, testNow)
	if err != nil {
		t.Fatal(err)
	}
	var b wecomBody
	if err := json.Unmarshal(body, &b); err != nil {
		t.Fatal(err)
	}
	if len(b.Markdown.Content) > 4096 || !strings.HasSuffix(b.Markdown.Content, "…") || !json.Valid(body) {
		t.Fatalf("content of %d bytes", len(b.Markdown.Content))
	}
}

func TestMetricsRegisterOnce(t *testing.T) {
	reg := prometheus.NewRegistry()
	newSink(t, Config{Name: "a", URL: "http://x/"}, nil, reg)
	newSink(t, Config{Name: "b", URL: "http://x/"}, nil, reg)
	if _, err := New(Config{Name: "a", URL: "http://x/"}, Options{Registerer: reg}); err == nil {
		t.Fatal("a second sink named a registered its metrics")
	}
	if n, err := testutil.GatherAndCount(reg, "campusguard_webhook_up"); err != nil || n != 2 {
		t.Fatalf("%d series, %v", n, err)
	}
}

func TestParseRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0}, {"0", 0}, {"-5", 0}, {"30", 30 * time.Second}, {"99999", time.Hour}, {"soon", 0},
		{testNow.Add(-time.Minute).Format(http.TimeFormat), 0},
		{testNow.Add(time.Minute).Format(http.TimeFormat), time.Minute},
		{testNow.Add(5 * time.Hour).Format(http.TimeFormat), time.Hour},
	} {
		if got := ParseRetryAfter(tc.in, testNow); got != tc.want {
			t.Errorf("ParseRetryAfter(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestParseRobotResponse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want RobotResponse
		err  bool
	}{
		{`{"errcode":0,"errmsg":"ok"}`, RobotResponse{0, "ok"}, false},
		{`{"errcode":45009,"errmsg":"api freq out of limit"}`, RobotResponse{45009, "api freq out of limit"}, false},
		{`{"code":0,"msg":"success","data":{}}`, RobotResponse{0, "success"}, false},
		{`{"StatusCode":0,"StatusMessage":"success"}`, RobotResponse{0, "success"}, false},
		{`{"data":{}}`, RobotResponse{}, true},
		{`<html>portal</html>`, RobotResponse{}, true},
		{``, RobotResponse{}, true},
	} {
		got, err := ParseRobotResponse([]byte(tc.in))
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseRobotResponse(%s) = %+v, %v", tc.in, got, err)
		}
	}
}

func FuzzParseRobotResponse(f *testing.F) {
	for _, s := range []string{`{"errcode":0,"errmsg":"ok"}`, `{"code":19021,"msg":"sign"}`, `{"StatusCode":1}`, `[]`, `{"errcode":"x"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseRobotResponse(b)
		if err != nil && r != (RobotResponse{}) {
			t.Fatalf("error with a result: %+v", r)
		}
		_ = excerpt(b)
	})
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"", "10", "-1", "Fri, 20 Nov 2026 13:04:12 GMT", "9999999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if d := ParseRetryAfter(s, testNow); d < 0 || d > time.Hour {
			t.Fatalf("ParseRetryAfter(%q) = %s", s, d)
		}
	})
}

func BenchmarkBodyWeCom(b *testing.B) {
	s := newSink(b, Config{Format: FormatWeCom, URL: "http://x/"}, nil, nil)
	n := groupNotification()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := s.body(n, testNow); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDeliverDingTalk(b *testing.B) {
	clock := clockwork.NewFakeClockAt(testNow)
	srv := newRobotServer(b, FormatDingTalk, "tok", "SEC", clock)
	s := newSink(b, Config{Format: FormatDingTalk, URL: srv.URL(), Secret: secret.Inline("SEC")}, clock, nil)
	n := SampleNotification()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Deliver(ctx, n); err != nil {
			b.Fatal(err)
		}
	}
}

func TestJSONFormatDropsUnencodableFields(t *testing.T) {
	n := SampleNotification()
	n.Alarm.Fields = event.Fields{"confidence": math.NaN()}
	s := newSink(t, Config{URL: "http://x/"}, nil, nil)
	body, _, err := s.body(n, testNow)
	if err != nil || strings.Contains(string(body), "confidence") || !json.Valid(body) {
		t.Fatalf("%s %v", body, err)
	}
}
