package console_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"golang.org/x/crypto/bcrypt"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/alerting/journal"
	"github.com/campusguard/campusguard/console"
	"github.com/campusguard/campusguard/console/auth"
	"github.com/campusguard/campusguard/devhealth"
	"github.com/campusguard/campusguard/event"
	"github.com/campusguard/campusguard/patrol"
	"github.com/campusguard/campusguard/patrol/report"
	"github.com/campusguard/campusguard/site"
)

var quiet = slog.New(slog.DiscardHandler)

var shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return time.FixedZone("CST", 8*3600)
	}
	return loc
}()

// The test accounts: one per role. Passwords are the names + "-pw".
var testUsers = []struct {
	name, display string
	role          auth.Role
}{
	{"wangfang", "王芳", auth.Viewer},
	{"zhangwei", "张伟", auth.Guard},
	{"admin", "李主任", auth.Operator},
}

var (
	hashOnce sync.Once
	hashes   = map[string]string{}
)

// testConfig is an enabled console with the three test accounts (bcrypt at MinCost so
// the tests stay fast; production hashes come from HashPassword at cost 12).
func testConfig() console.Config {
	hashOnce.Do(func() {
		for _, u := range testUsers {
			h, err := bcrypt.GenerateFromPassword([]byte(u.name+"-pw"), bcrypt.MinCost)
			if err != nil {
				panic(err)
			}
			hashes[u.name] = string(h)
		}
	})
	cfg := console.Config{Enabled: true}
	for _, u := range testUsers {
		cfg.Users = append(cfg.Users, console.User{Name: u.name, DisplayName: u.display, PasswordHash: hashes[u.name], Role: u.role})
	}
	return cfg
}

// testSite: the gate's panic button, two kitchen cameras, an anti-fall radar, a patrol
// reader and the siren.
func testSite() (*site.Site, *site.Directory) {
	s := &site.Site{ID: "s01", Name: "实验小学", Plan: "campus.svg",
		Buildings: []site.Building{{ID: "main", Name: "教学楼", Floors: []site.Floor{{ID: "1f", Name: "一楼"}, {ID: "3f", Name: "三楼", Plan: "main-3f.svg"}}},
			{ID: "canteen", Name: "食堂"}},
		Zones: []site.Zone{
			{ID: "gate", Name: "校门", Number: 1, Contacts: []site.Contact{{Name: "王建国", Role: "保卫科长", Phone: "13800000001"}, {Name: "校长室", Phone: "024-8888 0001"}}},
			{ID: "kitchen", Name: "食堂后厨", Number: 2, Building: "canteen", Contacts: []site.Contact{{Name: "刘师傅", Role: "食堂主管", Phone: "13800000002"}}},
			{ID: "b3", Name: "教学楼三楼", Number: 3, Building: "main", Contacts: []site.Contact{{Name: "赵老师", Role: "年级组长", Phone: "13800000003"}}},
			{ID: "yard", Name: "操场", Number: 4}}}
	devs := []site.Device{
		{ID: "panic-gate", Kind: event.KindPanic, Name: "门卫室一键报警", Zone: "gate", Location: "校门门卫室", Driver: "gpio", Position: &site.Position{X: 48, Y: 88}},
		{ID: "kitchen-cam-1", Kind: event.KindKitchenCamera, Name: "后厨摄像机1", Zone: "kitchen", Location: "食堂后厨灶台区", Driver: "mqtt"},
		{ID: "kitchen-cam-2", Kind: event.KindKitchenCamera, Name: "后厨摄像机2", Zone: "kitchen", Location: "食堂备餐间", Driver: "mqtt"},
		{ID: "radar-b3", Kind: event.KindAntiFall, Name: "三楼东侧阳台雷达", Zone: "b3", Location: "教学楼三楼东侧阳台", Driver: "mqtt", Floor: "3f", Position: &site.Position{X: 86, Y: 30}},
		{ID: "reader-3", Kind: event.KindPatrol, Name: "操场巡更点", Zone: "yard", Location: "操场北侧围墙", Driver: "mqtt"},
		{ID: "siren-gate", Kind: event.KindSiren, Name: "校门声光报警器", Zone: "gate", Location: "校门", Driver: "gpio"},
	}
	return s, site.NewDirectory(s, devs)
}

// env is a console over a real alerting.Manager and a real journal in a temp dir.
type env struct {
	t       testing.TB
	clock   clockwork.Clock
	j       *journal.Journal
	m       *alerting.Manager
	tracker *devhealth.Tracker
	c       *console.Console
	srv     *httptest.Server
	stop    context.CancelFunc
	done    chan struct{}
}

type envOpts struct {
	clock  clockwork.Clock
	cfg    *console.Config
	noDeps bool // only Alarms
	tls    bool
}

func newEnv(t testing.TB, o envOpts) *env {
	t.Helper()
	if o.clock == nil {
		o.clock = clockwork.NewRealClock()
	}
	e := &env{t: t, clock: o.clock}
	j, err := journal.Open(filepath.Join(t.TempDir(), "journal.db"), journal.Options{Clock: o.clock})
	if err != nil {
		t.Fatal(err)
	}
	s, dir := testSite()
	m, err := alerting.New(alerting.Options{Logger: quiet, Store: j, Directory: dir, Clock: o.clock, TickEvery: time.Hour,
		Config: alerting.Config{Routes: alerting.Route{Sinks: []string{}}}})
	if err != nil {
		t.Fatal(err)
	}
	e.j, e.m = j, m
	e.tracker = devhealth.NewTracker(dir, o.clock.Now())
	cfg := testConfig()
	if o.cfg != nil {
		cfg = *o.cfg
	}
	deps := console.Deps{Alarms: m}
	if !o.noDeps {
		deps = console.Deps{Alarms: m, History: j, Devices: e.tracker, Site: s, Audit: j, Directory: dir,
			Patrol: &report.Handler{Store: j, Location: shanghai, Now: o.clock.Now}, Live: func() []patrol.RunResult { return nil }}
	}
	c, err := console.New(cfg, deps, console.Options{Clock: o.clock, Location: shanghai, SiteName: s.Name, Logger: quiet,
		ConfigFS: os.DirFS(filepath.Join("testdata", "site"))})
	if err != nil {
		t.Fatal(err)
	}
	e.c = c
	ctx, cancel := context.WithCancel(context.Background())
	e.stop = cancel
	e.done = make(chan struct{})
	go func() {
		defer close(e.done)
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); _ = m.Run(ctx) }()
		go func() { defer wg.Done(); _ = c.Run(ctx) }()
		wg.Wait()
	}()
	if o.tls {
		e.srv = httptest.NewTLSServer(c.Handler())
	} else {
		e.srv = httptest.NewServer(c.Handler())
	}
	t.Cleanup(e.close)
	return e
}

func (e *env) close() {
	e.srv.CloseClientConnections()
	e.stop()
	<-e.done
	e.srv.Close()
	_ = e.j.Close()
}

// press is the simulated press of the gate's panic button, at the alerting level.
func (e *env) press() alerting.Alarm {
	e.t.Helper()
	before := map[string]bool{}
	for _, a := range e.m.Active() {
		before[a.ID] = true
	}
	err := e.m.Handle(context.Background(), alerting.Trigger{Rule: "panic-pressed", Key: "panic-gate", Firing: true,
		Severity: alerting.Critical, DeviceID: "panic-gate", Message: "校门门卫室一键报警", At: e.clock.Now(),
		Event: &event.Event{DeviceID: "panic-gate", Kind: event.KindPanic, Type: event.TypePressed, Source: "gpio"}})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, a := range e.m.Active() {
		if !before[a.ID] && a.DeviceID == "panic-gate" {
			return a
		}
	}
	e.t.Fatal("the press raised no alarm")
	return alerting.Alarm{}
}

// camera raises a kitchen-camera detection alarm with a snapshot URL.
func (e *env) camera(dev, detection, msg, snapshot string, sev alerting.Severity) alerting.Alarm {
	e.t.Helper()
	f := event.Fields{"detection": detection, "confidence": 0.93}
	if snapshot != "" {
		f["snapshot"] = snapshot
	}
	if err := e.m.Handle(context.Background(), alerting.Trigger{Rule: "kitchen-" + detection, Key: dev, Firing: true,
		Severity: sev, DeviceID: dev, Message: msg, At: e.clock.Now(),
		Event: &event.Event{DeviceID: dev, Kind: event.KindKitchenCamera, Type: event.TypeDetection, Fields: f}}); err != nil {
		e.t.Fatal(err)
	}
	for _, a := range e.m.Active() {
		if a.Rule == "kitchen-"+detection && a.DeviceID == dev {
			return a
		}
	}
	e.t.Fatal("no camera alarm")
	return alerting.Alarm{}
}

// client is one logged-in (or not) API client with its own cookie jar.
type client struct {
	t    testing.TB
	e    *env
	hc   *http.Client
	csrf string
}

func (e *env) client() *client {
	jar, _ := cookiejar.New(nil)
	hc := *e.srv.Client() // a copy: the server's client is shared
	hc.Jar = jar
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &client{t: e.t, e: e, hc: &hc}
}

// login logs in by the JSON API and keeps the CSRF token.
func (e *env) login(name string) *client {
	e.t.Helper()
	c := e.client()
	resp, body := c.do("POST", "/api/login", map[string]string{"name": name, "password": name + "-pw"}, nil)
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("login %s: %d %s", name, resp.StatusCode, body)
	}
	var info struct {
		CSRF string `json:"csrf_token"`
	}
	if err := json.Unmarshal(body, &info); err != nil || info.CSRF == "" {
		e.t.Fatalf("login %s: %s", name, body)
	}
	c.csrf = info.CSRF
	return c
}

// do sends a request; body is JSON-encoded unless it is a string or nil. State changes
// carry the client's CSRF token unless hdr sets X-CSRF-Token itself.
func (c *client) do(method, path string, body any, hdr map[string]string) (*http.Response, []byte) {
	c.t.Helper()
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
		ct = "application/json"
	case url.Values:
		rd = strings.NewReader(b.Encode())
		ct = "application/x-www-form-urlencoded"
	default:
		bs, _ := json.Marshal(b)
		rd = strings.NewReader(string(bs))
		ct = "application/json"
	}
	req, err := http.NewRequest(method, c.e.srv.URL+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if c.csrf != "" && method != "GET" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// getJSON GETs path and decodes a 200 answer into v.
func (c *client) getJSON(path string, v any) {
	c.t.Helper()
	resp, b := c.do("GET", path, nil, nil)
	if resp.StatusCode != http.StatusOK {
		c.t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		c.t.Fatalf("GET %s: %v: %s", path, err, b)
	}
}

func errCode(b []byte) string {
	var e struct {
		Code string `json:"code"`
	}
	_ = json.Unmarshal(b, &e)
	return e.Code
}
