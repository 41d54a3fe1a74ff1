package daemon

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"io/fs"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/campusguard/campusguard/console"
	"github.com/campusguard/campusguard/console/consoletest"
	"github.com/campusguard/campusguard/internal/config"
	"github.com/campusguard/campusguard/internal/testenv"
)

// The duty console in a real browser against a real daemon running the demo campus:
// alarms come from real inputs (MQTT messages on the embedded broker, the simulator's
// GPIO line), the page is looked at as a guard would at the duty room's sizes, and the
// screenshots of every view are what docs/console.md shows.

var updateConsoleShots = flag.Bool("update-console-screenshots", false, "rewrite docs/console/*.png from the browser test")

// consoleShotDir is docs/console with -update-console-screenshots, else a temp dir.
var consoleShotDir = sync.OnceValue(func() string {
	if *updateConsoleShots {
		return filepath.Join("..", "..", "docs", "console")
	}
	dir, err := os.MkdirTemp("", "cg-console-shots")
	if err != nil {
		return os.TempDir()
	}
	return dir
})

// The duty room's screens: the security room's two monitors and a guard's phone.
var dutySizes = []struct {
	name   string
	w, h   int64
	mobile bool
}{
	{"1366", 1366, 768, false},
	{"1400", 1400, 900, false},
	{"phone", 390, 844, true},
}

// kioskToken is the duty-room PC's device token in the test's config.
const kioskToken = "test-duty-pc-token-4f9a1c2e7b"

// demoCampus copies the demo config into a temp dir with free ports and no scenarios
// playing by themselves (the test plays them), plus a kiosk for the duty PC.
type demoCampus struct {
	dir, state, http, broker string
}

func newDemoCampus(t *testing.T) *demoCampus {
	t.Helper()
	c := &demoCampus{dir: t.TempDir(), http: testenv.FreeAddr(t), broker: testenv.FreeAddr(t)}
	c.state = filepath.Join(c.dir, "state")
	police := testenv.FreeAddr(t)
	src := filepath.Join("..", "..", "configs", "demo")
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		dst := filepath.Join(c.dir, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		s := strings.NewReplacer("127.0.0.1:18830", c.broker, "127.0.0.1:17001", police).Replace(string(b))
		if rel == "campusguard.yaml" {
			s = strings.Replace(s, "  scenarios: [panic, antifall, kitchen, tamper, camera-offline]", "  scenarios: []", 1)
			sum := sha256.Sum256([]byte(kioskToken))
			s += "  kiosks:\n    - {name: duty-pc, display_name: 值班室电脑, token_sha256: " + hex.EncodeToString(sum[:]) + "}\n"
		}
		return os.WriteFile(dst, []byte(s), 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// start runs the daemon until the returned stop is called (or the test ends).
func (c *demoCampus) start(t *testing.T) (d *Daemon, stop func()) {
	t.Helper()
	ready := make(chan *Daemon, 1)
	d, err := New(Options{Source: config.Source{FS: os.DirFS(c.dir), Main: "campusguard.yaml", Prefix: c.dir + "/", Dir: c.dir, Demo: true},
		StateDir: c.state, HTTP: c.http, Logger: harnessLogger(), Notify: func(string) {},
		WatchInterval: time.Hour, Ready: func(d *Daemon) { ready <- d }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("daemon stopped with %v", err)
			}
		})
	}
	t.Cleanup(stop)
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("daemon did not start: %v", err)
	}
	// The plan images are read from the config directory (console.Options.ConfigFS).
	d.p.console.SetConfigFS(os.DirFS(c.dir))
	return d, stop
}

// devicePublisher sends vendor JSON to the embedded broker, as the campus devices do.
func devicePublisher(t *testing.T, broker string) func(topic string, payload any) {
	t.Helper()
	c := paho.NewClient(paho.NewClientOptions().AddBroker("tcp://" + broker).SetClientID("browser-test-devices"))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("device client: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return func(topic string, payload any) {
		t.Helper()
		b, ok := payload.([]byte)
		if !ok {
			b, _ = json.Marshal(payload)
		}
		if tok := c.Publish(topic, 1, false, b); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("publish %s: %v", topic, tok.Error())
		}
	}
}

// dutyBrowser starts headless Chromium as on the duty-room kiosk; the page's script
// errors are reported when the test ends.
func dutyBrowser(t *testing.T) context.Context {
	t.Helper()
	return consoletest.Browser(t, 1400, 900, 4*time.Minute)
}

// viewport sets one of the duty sizes.
func viewport(w, h int64, mobile bool) chromedp.Action[chromedp.Void] {
	if mobile {
		return chromedp.EmulateViewport(w, h, chromedp.EmulateScale(1), chromedp.EmulateMobile)
	}
	return chromedp.EmulateViewport(w, h, chromedp.EmulateScale(1))
}

// snap saves the viewport as console-name.png once images and fonts are in.
func snap(name string) chromedp.Action[chromedp.Void] {
	return consoletest.Screenshot(consoleShotDir, "console-"+name+".png")
}

// englishOnPage lists visible English sentences in the Chinese page (untranslated
// text from the server: notes, reasons, headers).
const englishOnPage = `(() => {
  const out = [];
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walk.nextNode(); n; n = walk.nextNode()) {
    const s = n.textContent.trim();
    const el = n.parentElement;
    if (!s || !el || el.closest('script, .lang, .id, .hidden, dialog:not([open])')) continue;
    if (/^[\x00-\x7F]+$/.test(s) && /[A-Za-z]{2,}[ ,:;]+[A-Za-z]{2,}/.test(s)) out.push(s);
  }
  return out;
})()`

// cameraSnapshot stands in for a kitchen camera's snapshot URL.
func cameraSnapshot(t *testing.T) string {
	img := image.NewRGBA(image.Rect(0, 0, 320, 180))
	for y := range 180 {
		for x := range 320 {
			img.Set(x, y, color.RGBA{uint8(50 + x/6), uint8(60 + y/5), 70, 255})
		}
	}
	var buf bytes.Buffer
	_ = png.Encode(&buf, img)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write(buf.Bytes())
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/snap/8812.png"
}

// TestConsoleInBrowser: the demo campus, a guard at the duty PC. Alarms arrive from
// the devices' own paths; the critical ones take the screen over, stay on top of the
// list and ring again when pressed again after a mute; the police link's receipt,
// the camera's snapshot and the zone's contacts are on the cards; the floor plan
// blinks the alarming devices; no English reaches the Chinese page; when the daemon
// stops the page says so over the last list, and after the restart it comes back on
// its own, without a login.
func TestConsoleInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("the browser test runs the demo campus: not in -short")
	}
	ctx := dutyBrowser(t)
	campus := newDemoCampus(t)
	_, stop := campus.start(t)
	publish := devicePublisher(t, campus.broker)
	base := "http://" + campus.http
	snapURL := cameraSnapshot(t)
	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 90*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	noEnglish := func(view string) {
		t.Helper()
		var found []string
		step("read "+view, consoletest.Store(chromedp.Evaluate[[]string](englishOnPage), &found))
		if len(found) > 0 {
			t.Errorf("%s shows English in the Chinese UI: %q", view, found)
		}
	}

	step("log in",
		viewport(1366, 768, false),
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.ID("name")),
		chromedp.SendKeys(chromedp.ID("name"), "zhangwei"),
		chromedp.SendKeys(chromedp.ID("password"), "guard-demo"),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.CSS(`body[data-live="on"]`)),
		chromedp.WaitVisible(chromedp.ID("no-alarms")),
	)

	// A panic in the dormitory (an MQTT panic module), the gate button pressed (GPIO), a
	// pupil on the third-floor balcony (the radar: critical outside school hours, major
	// in them; the test runs at any hour), the gate button's cable cut (the GPIO line
	// supervision).
	publish("school/demo01/panic/panic-dorm/status", map[string]any{"pressed": true, "tamper": false, "supply_v": 12.1})
	step("the panic takes the screen over", chromedp.WaitVisible(chromedp.ID("takeover-ack")),
		consoletest.Until(`document.body.dataset.sound === "on" && window.cgConsole.sound.beeps > 0`),
		chromedp.WaitVisible(chromedp.CSS(`#takeover .police-ok`))) // the receiving centre's ACK
	simulate := func(scenario string) {
		t.Helper()
		resp, err := http.Post(base+"/-/simulate/"+scenario, "text/plain", nil)
		if err != nil || resp.StatusCode != http.StatusAccepted {
			t.Fatalf("simulate %s: %v %v", scenario, err, resp)
		}
		resp.Body.Close()
	}
	simulate("panic")
	step("two panics", consoletest.Until(`[...document.querySelectorAll("#alarm-list article.sev-critical-row")].length >= 2`))
	publish("school/demo01/antifall/antifall-b3-east/state", map[string]any{"occupied": true, "distance_m": 0.8, "zone": "B3-3F-east-balcony", "ts": time.Now().UnixMilli()})
	simulate("tamper")
	step("three critical alarms", consoletest.Until(`[...document.querySelectorAll("#alarm-list article.sev-critical-row")].length >= 3`))
	// Then lesser ones, newer: a rat in the kitchen, a camera going offline.
	publish("school/demo01/kitchen/kitchen-cam-1/ai", map[string]any{"event": "rat", "confidence": 0.93, "channel": 1,
		"time": time.Now().Unix(), "snapshot": snapURL, "region": "灶台区"})
	publish("school/demo01/kitchen/kitchen-cam-2/status", []byte("offline"))
	step("five alarms", consoletest.Until(`document.querySelectorAll("#alarm-list article").length >= 5`))

	for _, s := range dutySizes {
		step("takeover at "+s.name, viewport(s.w, s.h, s.mobile), chromedp.WaitVisible(chromedp.ID("takeover-ack")), snap("takeover-"+s.name))
	}
	noEnglish("the takeover")

	// The guard mutes; the same button is pressed again: it rings again.
	var beeps int
	step("mute", viewport(1366, 768, false), chromedp.Click(chromedp.CSS(`#takeover button:not(.primary)`)),
		consoletest.Until(`document.body.dataset.sound === "off"`), consoletest.Store(chromedp.Evaluate[int](`window.cgConsole.sound.beeps`), &beeps))
	publish("school/demo01/panic/panic-dorm/status", map[string]any{"pressed": false, "tamper": false, "supply_v": 12.1})
	publish("school/demo01/panic/panic-dorm/status", map[string]any{"pressed": true, "tamper": false, "supply_v": 12.1})
	step("a new press rings after the mute",
		consoletest.Until(fmt.Sprintf(`document.body.dataset.sound === "on" && window.cgConsole.sound.beeps > %d`, beeps)),
		consoletest.Until(`[...document.querySelectorAll("#alarm-list article")].some(a => +a.dataset.count >= 2)`))

	// The critical alarms are on top and start above the fold.
	var layout struct {
		FirstTop float64 `json:"first_top"`
		Critical int     `json:"critical_on_top"`
	}
	step("read the list", consoletest.Store(chromedp.Evaluate[struct {
		FirstTop float64 `json:"first_top"`
		Critical int     `json:"critical_on_top"`
	}](`(() => { const as = [...document.querySelectorAll("#alarm-list article")];
		let n = 0; while (n < as.length && as[n].classList.contains("sev-critical-row")) n++;
		return { first_top: as[0].getBoundingClientRect().top, critical_on_top: n }; })()`), &layout))
	if layout.FirstTop > 200 || layout.Critical < 3 {
		t.Errorf("at 1366×768 the first card starts at %.0f px and %d critical alarms lead the list", layout.FirstTop, layout.Critical)
	}

	// Acknowledge every critical alarm from the takeover, with a one-click note.
	for i := 0; i < 6; i++ {
		var on bool
		step("takeover?", consoletest.Store(chromedp.Evaluate[bool](`!document.getElementById("takeover").classList.contains("hidden")`), &on))
		if !on {
			break
		}
		step("acknowledge", chromedp.Click(chromedp.ID("takeover-ack")), chromedp.WaitVisible(chromedp.ID("note-text")),
			chromedp.Click(chromedp.CSS(`#note-quick button`)), chromedp.Click(chromedp.ID("note-submit")),
			chromedp.WaitNotVisible(chromedp.ID("note-dialog")))
	}
	step("all acknowledged", chromedp.WaitNotVisible(chromedp.ID("takeover")), consoletest.Until(`document.body.dataset.sound === "off"`),
		chromedp.WaitVisible(chromedp.CSS(`#alarm-list .police-ok`)), chromedp.WaitVisible(chromedp.CSS(`#alarm-list img.thumb`)))

	var panicID string
	step("the panic's id", consoletest.Store(chromedp.Evaluate[string](`[...document.querySelectorAll("#alarm-list article")].find(a => a.querySelector(".police-ok")).dataset.id`), &panicID))
	views := []struct{ name, path, ready string }{
		{"alarms", "/", `#alarm-list article`},
		{"detail", "/alarms/" + panicID, `#deliveries`},
		{"plan", "/plan", `#plan .dev-acked, #plan .dev-alarm`},
		{"report", "/report", `#report-alarms tbody tr`},
	}
	for _, v := range views {
		for _, s := range dutySizes {
			step(v.name+" at "+s.name, viewport(s.w, s.h, s.mobile), chromedp.Navigate(base+v.path),
				chromedp.WaitVisible(chromedp.CSS(`body[data-live="on"]`)), chromedp.WaitVisible(chromedp.CSS(v.ready)), snap(v.name+"-"+s.name))
		}
		noEnglish(v.name)
	}
	for _, v := range []struct{ name, path, ready string }{
		{"history", "/history", `#records-results table`}, {"devices", "/devices", `#devices`},
		{"patrols", "/patrols", `#patrol-report`}, {"silences", "/silences", `#zones`}, {"link", "/link", `#link-paths`},
	} {
		step(v.name, viewport(1366, 768, false), chromedp.Navigate(base+v.path), chromedp.WaitVisible(chromedp.CSS(`body[data-live="on"]`)),
			chromedp.WaitVisible(chromedp.CSS(v.ready)), snap(v.name+"-1366"))
		noEnglish(v.name)
	}
	var police string
	step("the police receipt", viewport(1366, 768, false), chromedp.Navigate(base+"/alarms/"+panicID),
		chromedp.WaitVisible(chromedp.ID("deliveries")), consoletest.Store(chromedp.Text(chromedp.ID("deliveries")), &police))
	if !strings.Contains(police, "公安联网") || !strings.Contains(police, "已送达") {
		t.Errorf("the panic's deliveries do not show the police receipt:\n%s", police)
	}

	// The daemon stops: the last list stays, under a banner, with a tone.
	step("the list", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS(`#alarm-list article`)))
	stop()
	for _, s := range dutySizes {
		step("connection lost at "+s.name, viewport(s.w, s.h, s.mobile), chromedp.WaitVisible(chromedp.ID("conn-banner")),
			chromedp.WaitVisible(chromedp.CSS(`#alarm-list article`)), snap("connection-lost-"+s.name))
	}
	step("the lost-link tone", consoletest.Until(`window.cgConsole.sound.lostBeeps > 0`))

	// It comes back: the page reconnects by itself, still logged in.
	campus.start(t)
	step("back without a login", viewport(1366, 768, false), consoletest.Until(`document.body.dataset.live === "on"`),
		chromedp.WaitNotVisible(chromedp.ID("conn-banner")), chromedp.WaitVisible(chromedp.CSS(`#alarm-list article`)),
		consoletest.Until(`location.pathname === "/"`))

	// The duty PC's kiosk token opens a guard's session without typing.
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	if r, err := hc.Get(base + "/kiosk?token=" + kioskToken); err != nil || r.StatusCode != 200 || r.Request.URL.Path != "/" {
		t.Fatalf("kiosk: %v %v", err, r)
	}
	r, err := hc.Get(base + "/api/session")
	if err != nil || r.StatusCode != 200 {
		t.Fatalf("kiosk session: %v %v", err, r)
	}
	var info struct {
		User string `json:"user"`
		Role string `json:"role"`
	}
	_ = json.NewDecoder(r.Body).Decode(&info)
	r.Body.Close()
	if info.User != "duty-pc" || info.Role != "guard" {
		t.Errorf("kiosk session: %+v", info)
	}
}

// TestToolsRefuseWebPages: the /-/ endpoints serve tools on the gateway, never a page
// in a browser there; /healthz tells another host states only.
func TestToolsRefuseWebPages(t *testing.T) {
	tests := []struct {
		name   string
		remote string
		host   string
		hdr    map[string]string
		want   int
	}{
		{"curl on the gateway", "127.0.0.1:5000", "127.0.0.1:9810", nil, http.StatusNoContent},
		{"localhost", "[::1]:5000", "localhost:9810", nil, http.StatusNoContent},
		{"another host", "10.0.0.8:5000", "10.0.0.2:9810", nil, http.StatusForbidden},
		{"a page's fetch", "127.0.0.1:5000", "127.0.0.1:9810", map[string]string{"Origin": "http://evil.example"}, http.StatusForbidden},
		{"a page's form", "127.0.0.1:5000", "127.0.0.1:9810", map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"same-origin page", "127.0.0.1:5000", "127.0.0.1:9810", map[string]string{"Sec-Fetch-Site": "same-origin"}, http.StatusForbidden},
		{"typed address", "127.0.0.1:5000", "127.0.0.1:9810", map[string]string{"Sec-Fetch-Site": "none"}, http.StatusNoContent},
		{"DNS rebinding", "127.0.0.1:5000", "evil.example:9810", nil, http.StatusForbidden},
	}
	h := loopbackOnly(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "http://"+tc.host+"/-/reload", nil)
			r.RemoteAddr, r.Host = tc.remote, tc.host
			for k, v := range tc.hdr {
				r.Header.Set(k, v)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tc.want {
				t.Errorf("status %d, want %d", w.Code, tc.want)
			}
		})
	}
}

func TestHealthForOtherHosts(t *testing.T) {
	d, _ := startE2E(t)
	d.opts.Getenv = func(k string) string {
		if k == HTTPTokenEnv {
			return "s3cret-token"
		}
		return ""
	}
	tests := []struct {
		name, remote, auth string
		detail             bool
		metrics            int
	}{
		{"gateway", "127.0.0.1:4000", "", true, http.StatusOK},
		{"other host", "10.0.0.9:4000", "", false, http.StatusForbidden},
		{"other host with the token", "10.0.0.9:4000", "Bearer s3cret-token", true, http.StatusOK},
		{"other host with a wrong token", "10.0.0.9:4000", "Bearer nope", false, http.StatusForbidden},
	}
	metrics := d.guardRemote(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) }))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/healthz", nil)
			r.RemoteAddr = tc.remote
			if tc.auth != "" {
				r.Header.Set("Authorization", tc.auth)
			}
			w := httptest.NewRecorder()
			d.serveHealth(w, r)
			body := w.Body.String()
			hasDetail := strings.Contains(body, `"detail"`) || strings.Contains(body, `"reason"`)
			if hasDetail != tc.detail {
				t.Errorf("detail shown %v, want %v:\n%s", hasDetail, tc.detail, body)
			}
			if !tc.detail && (strings.Contains(body, "127.0.0.1") || strings.Contains(body, os.TempDir())) {
				t.Errorf("an address or a path reaches another host:\n%s", body)
			}
			w = httptest.NewRecorder()
			metrics.ServeHTTP(w, r)
			if w.Code != tc.metrics {
				t.Errorf("metrics: %d, want %d", w.Code, tc.metrics)
			}
		})
	}
}

// BenchmarkPanicToStaffUnderLoginFlood: the GPIO press → staff notification latency
// of BenchmarkPanicToStaff, quiet and while 150 clients from as many addresses each
// send a wrong password for a random name ten times a second (1500 logins/s, each a
// bcrypt check at cost 12 if it were let through). The throttle checks at most one
// password at a time and answers the rest 429/503 before any hash, so the alarm path
// keeps its latency: compare the p50/p99 of the two sub-benchmarks. (A client that
// sends as fast as the server answers is a flood of HTTP requests, whatever the path:
// that is for the network in front of the gateway.)
func BenchmarkPanicToStaffUnderLoginFlood(b *testing.B) {
	hash, err := console.HashPassword("correct horse")
	if err != nil {
		b.Fatal(err)
	}
	consoleCfg := fmt.Sprintf("console:\n  enabled: true\n  users:\n    - {name: zhangwei, display_name: 张伟, role: guard, password_hash: %q}\n", hash)
	for _, flood := range []bool{false, true} {
		name := map[bool]string{false: "quiet", true: "login-flood"}[flood]
		b.Run(name, func(b *testing.B) {
			d, msgs := startE2E(b, consoleCfg)
			var attempts, refused atomic.Int64
			stopFlood := func() {}
			if flood {
				stopFlood = loginFlood(b, "http://"+d.HTTPAddr(), 150, &attempts, &refused)
			}
			lat := panicRounds(b, d, msgs)
			stopFlood()
			reportLatency(b, lat)
			if flood {
				b.ReportMetric(float64(attempts.Load()), "logins")
				b.ReportMetric(float64(refused.Load()), "refused")
			}
		})
	}
}

// loginFlood keeps n clients, each from its own loopback address, posting a wrong
// password for a random name every 100 ms until the returned stop is called.
func loginFlood(b *testing.B, base string, n int, attempts, refused *atomic.Int64) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i := range n {
		src := &net.TCPAddr{IP: net.IPv4(127, 0, byte(1+i/250), byte(2+i%250))}
		hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
			DialContext: (&net.Dialer{LocalAddr: src}).DialContext}}
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(100 * time.Millisecond)
			defer tick.Stop()
			for ctx.Err() == nil {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				body := fmt.Sprintf(`{"name":"u%d","password":"wrong-%d"}`, rand.IntN(1<<20), rand.IntN(1<<20))
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/login", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				resp, err := hc.Do(req)
				if err != nil {
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				attempts.Add(1)
				if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
					refused.Add(1)
				}
			}
		}()
	}
	return func() { cancel(); wg.Wait() }
}
