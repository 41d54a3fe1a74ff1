// Package webhook is the alert sink that POSTs notifications to HTTP endpoints: a
// generic JSON receiver (the Notification as JSON, or a text/template of your own), and
// the group-chat robots Chinese schools use: WeCom (企业微信群机器人), DingTalk (钉钉
// 自定义机器人, with its signed URL) and Feishu (飞书自定义机器人, with its signed body).
//
// Deliver makes one attempt with the configured timeout; the alerting pipeline owns
// retries and backoff. The outcome maps onto the pipeline's contract:
//
//   - 2xx (and, for robots, errcode/code 0 in the body): delivered, nil;
//   - 408, 429, 5xx, a network error, or a robot's rate-limit or busy code: an *Error
//     the pipeline retries; its RetryAfter (method RetryDelay) carries the server's
//     Retry-After header, or rate_limit_backoff for a rate-limited robot;
//   - any other 3xx/4xx, a robot's other error codes (bad key, bad signature, keyword
//     missing, IP not allowed...) and a template that fails: *alerting.Permanent
//     wrapping an *Error (or the template error).
//
// Robots answer HTTP 200 even for errors; the body says what happened:
//
//	WeCom     {"errcode":0,"errmsg":"ok"}           45009 = rate limit, -1 = busy
//	DingTalk  {"errcode":0,"errmsg":"ok"}           130101 / 410100 = too fast, -1 = busy
//	Feishu    {"code":0,"msg":"success","data":{}}  11232, 9499 "too many request" = rate limit
//	          (older endpoints: {"StatusCode":0,"StatusMessage":"success"})
//
// Messages are in Chinese by default ("language: en" for English) and carry severity,
// location, time, the message, the trigger count, the group's alarms and a camera
// alarm's snapshot URL. Every request has the header X-Campusguard-Notification: the
// notification id, stable across retries, so a receiver can drop duplicates.
//
// The URL of a robot holds its key: errors and logs show only scheme and host.
package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"text/template"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/cfgerr"
	"github.com/campusguard/campusguard/health"
)

// NotificationHeader carries the notification id on every request.
const NotificationHeader = "X-Campusguard-Notification"

// maxResponse is how much of a response body is read.
const maxResponse = 64 << 10

// Error is a failed delivery attempt. The alerting pipeline may use RetryDelay (through
// an interface of its own: interface{ RetryDelay() time.Duration }) as the least delay
// before its next attempt.
type Error struct {
	Sink       string        // sink name
	Endpoint   string        // scheme://host of the URL (the rest may hold a key)
	Status     int           // HTTP status; 0 when no response came
	Code       int           // the robot's errcode / code; 0 when none
	Msg        string        // the robot's errmsg / msg, or an excerpt of the body
	RetryAfter time.Duration // the server's Retry-After, or rate_limit_backoff; 0 if none
	Err        error         // the transport error, if any
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "webhook %s %s", e.Sink, e.Endpoint)
	if e.Status != 0 {
		fmt.Fprintf(&b, ": HTTP %d", e.Status)
	}
	if e.Code != 0 {
		fmt.Fprintf(&b, ": code %d", e.Code)
	}
	if e.Msg != "" {
		fmt.Fprintf(&b, ": %s", e.Msg)
	}
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	return b.String()
}

// Unwrap returns the transport error.
func (e *Error) Unwrap() error { return e.Err }

// RetryDelay is the least delay before the next attempt the server asked for (0: none).
func (e *Error) RetryDelay() time.Duration { return e.RetryAfter }

// Options are the sink's collaborators; every field may be left zero.
type Options struct {
	Clock      clockwork.Clock       // nil: the real clock (also signs requests)
	Registerer prometheus.Registerer // nil: metrics are not registered
	Logger     *slog.Logger          // nil: slog.Default()
	// Transport replaces the HTTP transport (nil: a clone of http.DefaultTransport,
	// with ca_file added when set).
	Transport http.RoundTripper
}

// Sink posts notifications to one endpoint. It implements alerting.Sink and
// health.Reporter; it is safe for concurrent use.
type Sink struct {
	cfg      Config
	endpoint string
	secret   string
	tpl      *template.Template
	text     *texter
	client   *http.Client
	clock    clockwork.Clock
	log      *slog.Logger
	m        *metrics

	mu       sync.Mutex
	inflight int
	fails    int // consecutive failed attempts
	lastErr  error
	errAt    time.Time
	okAt     time.Time
}

var (
	_ alerting.Sink   = (*Sink)(nil)
	_ health.Reporter = (*Sink)(nil)
)

// New builds a sink; it applies defaults and validates cfg, whose secret must have been
// resolved (Config.Resolve).
func New(cfg Config, opt Options) (*Sink, error) {
	cfg.SetDefaults(cfgerr.Env{})
	var errs cfgerr.List
	cfg.Validate(&errs)
	if err := errs.Err(); err != nil {
		return nil, fmt.Errorf("webhook %s: %w", cfg.Name, err)
	}
	if cfg.Secret.IsZero() && (cfg.SecretFile != "" || cfg.SecretEnv != "") {
		return nil, fmt.Errorf("webhook %s: the secret is not resolved (Config.Resolve reads secret_file and secret_env)", cfg.Name)
	}
	if opt.Clock == nil {
		opt.Clock = clockwork.NewRealClock()
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	loc, _ := time.LoadLocation(cfg.Timezone)
	w := &zh
	if cfg.Language == "en" {
		w = &en
	}
	u, _ := url.Parse(cfg.URL)
	s := &Sink{
		cfg:      cfg,
		endpoint: u.Scheme + "://" + u.Host,
		secret:   cfg.Secret.Reveal(),
		text:     &texter{w: w, loc: loc},
		clock:    opt.Clock,
		log:      opt.Logger,
	}
	if cfg.Format == FormatTemplate {
		tpl, err := template.New("body").Option("missingkey=error").Funcs(templateFuncs(s.text)).Parse(cfg.Template)
		if err != nil {
			return nil, fmt.Errorf("webhook %s: template: %w", cfg.Name, err)
		}
		s.tpl = tpl
	}
	tr := opt.Transport
	if tr == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		tc, err := cfg.TLS.Config()
		if err != nil {
			return nil, fmt.Errorf("webhook %s: %w", cfg.Name, err)
		}
		t.TLSClientConfig = tc
		tr = t
	}
	s.client = &http.Client{
		Transport: tr,
		// A redirect of a POST is a misconfigured URL: report it, never follow it as a GET.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	m, err := newMetrics(cfg.Name, opt.Registerer)
	if err != nil {
		return nil, fmt.Errorf("webhook %s: %w", cfg.Name, err)
	}
	s.m = m
	return s, nil
}

// Name is the sink's name.
func (s *Sink) Name() string { return s.cfg.Name }

// Deliver makes one attempt to post n (see the package doc for the outcomes).
func (s *Sink) Deliver(ctx context.Context, n alerting.Notification) error {
	now := s.clock.Now()
	body, query, err := s.body(n, now)
	if err != nil {
		err = &alerting.Permanent{Err: fmt.Errorf("webhook %s: notification %s: body: %w", s.cfg.Name, n.ID, err)}
		s.done(now, "rejected", err)
		return err
	}
	s.mu.Lock()
	s.inflight++
	s.m.inflight.Set(float64(s.inflight))
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.inflight--
		s.m.inflight.Set(float64(s.inflight))
		s.mu.Unlock()
	}()
	err = s.post(ctx, n.ID, body, query)
	result := "ok"
	var p *alerting.Permanent
	switch {
	case errors.As(err, &p):
		result = "rejected"
	case err != nil:
		result = "retry"
	}
	s.m.duration.Observe(s.clock.Since(now).Seconds())
	s.done(now, result, err)
	if err != nil {
		s.log.Warn("webhook delivery failed", "notification", n.ID, "result", result, "err", err)
	}
	return err
}

func (s *Sink) post(ctx context.Context, id string, body []byte, query url.Values) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	target := s.cfg.URL
	if len(query) > 0 {
		u, _ := url.Parse(target)
		q := u.Query()
		for k, v := range query {
			q[k] = v
		}
		u.RawQuery = q.Encode()
		target = u.String()
	}
	req, err := http.NewRequestWithContext(ctx, strings.ToUpper(s.cfg.Method), target, bytes.NewReader(body))
	if err != nil {
		return &alerting.Permanent{Err: s.fail(0, fmt.Errorf("request: %w", redact(err)))}
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "campusguard")
	for k, v := range s.cfg.Headers {
		req.Header.Set(k, v)
	}
	req.Header.Set(NotificationHeader, id)
	resp, err := s.client.Do(req)
	if err != nil {
		return s.fail(0, redact(err))
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil && resp.StatusCode/100 == 2 {
		return s.fail(resp.StatusCode, fmt.Errorf("reading the response: %w", redact(err)))
	}
	return s.classify(resp.StatusCode, resp.Header.Get("Retry-After"), rb)
}

func (s *Sink) fail(status int, err error) *Error {
	return &Error{Sink: s.cfg.Name, Endpoint: s.endpoint, Status: status, Err: err}
}

// classify turns a response into nil, a retryable *Error or a Permanent one.
func (s *Sink) classify(status int, retryAfter string, body []byte) error {
	now := s.clock.Now()
	e := &Error{Sink: s.cfg.Name, Endpoint: s.endpoint, Status: status}
	switch {
	case status/100 == 2:
		switch s.cfg.Format {
		case FormatWeCom, FormatDingTalk, FormatFeishu:
		default:
			return nil
		}
		r, err := ParseRobotResponse(body)
		if err != nil {
			e.Msg = "unreadable robot response: " + excerpt(body)
			return e // a proxy or portal in the way: try again later
		}
		if r.Code == 0 {
			return nil
		}
		e.Code, e.Msg = r.Code, r.Msg
		if rateLimited(s.cfg.Format, r) {
			e.RetryAfter = s.cfg.RateLimitBackoff
			return e
		}
		if r.Code == -1 { // "system busy"
			return e
		}
		return &alerting.Permanent{Err: e}
	case status == http.StatusRequestTimeout, status == http.StatusTooManyRequests, status/100 == 5:
		e.Msg = excerpt(body)
		e.RetryAfter = ParseRetryAfter(retryAfter, now)
		return e
	}
	e.Msg = excerpt(body)
	return &alerting.Permanent{Err: e}
}

// rateLimited reports whether a robot's code means "too many messages, try later".
// Feishu uses 9499 both for "too many request" and for "Bad Request": the message
// tells them apart.
func rateLimited(f Format, r RobotResponse) bool {
	switch f {
	case FormatWeCom:
		return r.Code == 45009
	case FormatDingTalk:
		return r.Code == 130101 || r.Code == 410100
	case FormatFeishu:
		return r.Code == 11232 || (r.Code == 9499 && strings.Contains(strings.ToLower(r.Msg), "too many"))
	}
	return false
}

// RobotResponse is the status part of a robot's answer.
type RobotResponse struct {
	Code int    // errcode (WeCom, DingTalk), code or StatusCode (Feishu)
	Msg  string // errmsg, msg or StatusMessage
}

// ParseRobotResponse reads a WeCom, DingTalk or Feishu answer body. A body without any
// status field is an error.
func ParseRobotResponse(body []byte) (RobotResponse, error) {
	var raw struct {
		ErrCode       *int   `json:"errcode"`
		ErrMsg        string `json:"errmsg"`
		Code          *int   `json:"code"`
		Msg           string `json:"msg"`
		StatusCode    *int   `json:"StatusCode"`
		StatusMessage string `json:"StatusMessage"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return RobotResponse{}, fmt.Errorf("robot response: %w", err)
	}
	switch {
	case raw.ErrCode != nil:
		return RobotResponse{Code: *raw.ErrCode, Msg: raw.ErrMsg}, nil
	case raw.Code != nil:
		return RobotResponse{Code: *raw.Code, Msg: raw.Msg}, nil
	case raw.StatusCode != nil:
		return RobotResponse{Code: *raw.StatusCode, Msg: raw.StatusMessage}, nil
	}
	return RobotResponse{}, errors.New("robot response: no errcode, code or StatusCode")
}

// ParseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date (relative
// to now). It returns 0 for an absent, past or unreadable value, and caps it at one hour.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		if n > 3600 {
			n = 3600
		}
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	switch {
	case d < 0:
		return 0
	case d > time.Hour:
		return time.Hour
	}
	return d
}

// redact drops the URL (which may hold a robot's key) from a *url.Error.
func redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

func excerpt(b []byte) string {
	s := strings.TrimSpace(string(b))
	return truncate(oneLine(strings.ToValidUTF8(s, "?")), 200)
}

func (s *Sink) done(now time.Time, result string, err error) {
	s.m.requests.WithLabelValues(result).Inc()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil {
		s.fails, s.okAt = 0, now
		s.m.up.Set(1)
		return
	}
	s.fails++
	s.lastErr, s.errAt = err, now
	s.m.up.Set(0)
}

// Health is Up after a success (or before any attempt), Degraded after one or two
// failed attempts in a row, Down after three or more.
func (s *Sink) Health() health.Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := health.Status{State: health.Up, Detail: map[string]any{
		"endpoint": s.endpoint, "format": string(s.cfg.Format), "inflight": s.inflight,
		"consecutive_failures": s.fails,
	}}
	if !s.okAt.IsZero() {
		st.Detail["last_success"] = s.okAt
	}
	if s.lastErr != nil {
		st.Detail["last_error"] = s.lastErr.Error()
		st.Detail["last_error_at"] = s.errAt
	}
	switch {
	case s.fails >= 3:
		st.State, st.Reason = health.Down, fmt.Sprintf("%d deliveries failed in a row", s.fails)
	case s.fails > 0:
		st.State, st.Reason = health.Degraded, "last delivery failed"
	}
	return st
}
