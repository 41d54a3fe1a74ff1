package console_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/console/consoletest"
	"github.com/campusguard/campusguard/event"
	"github.com/campusguard/campusguard/patrol"
)

// browser starts a fresh headless Chromium for the test.
func browser(t *testing.T) context.Context {
	t.Helper()
	return consoletest.Browser(t, 1366, 768, 3*time.Minute)
}

// snapshotServer stands in for a kitchen camera's snapshot URL.
func snapshotServer(t *testing.T) *httptest.Server {
	img := image.NewRGBA(image.Rect(0, 0, 320, 180))
	for y := range 180 {
		for x := range 320 {
			img.Set(x, y, color.RGBA{uint8(60 + x/8), uint8(70 + y/6), 80, 255})
		}
	}
	for y := 60; y < 150; y++ { // a counter
		for x := 40; x < 280; x++ {
			img.Set(x, y, color.RGBA{170, 170, 175, 255})
		}
	}
	for y := 120; y < 140; y++ { // something small and grey on it
		for x := 200; x < 236; x++ {
			img.Set(x, y, color.RGBA{60, 55, 50, 255})
		}
	}
	var buf bytes.Buffer
	_ = png.Encode(&buf, img)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write(buf.Bytes())
	}))
	t.Cleanup(srv.Close)
	return srv
}

// populate gives the pages something to show: device states, today's patrols, older
// alarms (one resolved, one acknowledged), a camera alarm with a snapshot, a silence.
func populate(t *testing.T, e *env, snap string) {
	t.Helper()
	now := e.clock.Now()
	ctx := context.Background()
	// Devices: most report, the radar went silent, a camera was tampered with.
	obs := func(dev, typ string, f event.Fields) {
		e.tracker.Observe(event.Event{DeviceID: dev, Type: typ, Fields: f, ReceivedAt: now.Add(-time.Minute), Source: "mqtt"})
	}
	obs("panic-gate", event.TypeHeartbeat, event.Fields{"supply_v": 12.1})
	obs("kitchen-cam-1", event.TypeHeartbeat, nil)
	obs("kitchen-cam-2", event.TypeTamper, nil)
	obs("reader-3", event.TypeHeartbeat, event.Fields{"battery": 87.0})
	obs("siren-gate", event.TypeHeartbeat, nil)
	obs("radar-b3", event.TypeOffline, event.Fields{"battery": 12.0})

	// Today's patrols: one completed, one with a missed checkpoint.
	day := now.In(shanghai).Format(time.DateOnly)
	at := func(h, m int) time.Time {
		d, _ := time.ParseInLocation(time.DateOnly, day, shanghai)
		return d.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
	}
	g := []patrol.GuardRef{{ID: "zhangwei", Name: "张伟"}}
	cps := func(h int, status ...string) []patrol.CheckpointResult {
		names := []string{"校门", "教学楼", "操场", "食堂"}
		var out []patrol.CheckpointResult
		for i, s := range status {
			c := patrol.CheckpointResult{Checkpoint: fmt.Sprintf("CP-%02d", i+1), Name: names[i], Status: s, Expected: at(h, 5*i)}
			if s != patrol.StatusMissed {
				c.Scanned, c.Guard, c.GuardName = at(h, 5*i+1), "zhangwei", "张伟"
			}
			out = append(out, c)
		}
		return out
	}
	runs := []patrol.RunResult{
		{Run: "day@" + day + "T07:00", Day: day, Plan: "day", PlanName: "早班巡查", Route: "main", Ordered: true, Scheduled: at(7, 0),
			Started: at(7, 1), Ended: at(7, 20), Status: patrol.RunCompleted, Guards: g, Checkpoints: cps(7, "ok", "ok", "late", "ok")},
		{Run: "day@" + day + "T12:00", Day: day, Plan: "day", PlanName: "早班巡查", Route: "main", Ordered: true, Scheduled: at(12, 0),
			Started: at(12, 2), Ended: at(12, 40), Status: patrol.RunIncomplete, Guards: g, Checkpoints: cps(12, "ok", "out_of_order", "missed", "ok")},
	}
	if err := patrol.SaveResults(e.j, runs, now, 90*24*time.Hour); err != nil {
		t.Fatal(err)
	}

	// Alarm history: an anti-fall alarm that was acknowledged and reset this morning.
	fall := alerting.Trigger{Rule: "antifall-presence", Key: "radar-b3", Firing: true, Severity: alerting.Critical, DeviceID: "radar-b3",
		Message: "三楼东侧阳台有人停留超过10秒", At: now.Add(-3 * time.Hour), Event: &event.Event{DeviceID: "radar-b3", Kind: event.KindAntiFall, Type: event.TypeActive}}
	if err := e.m.Handle(ctx, fall); err != nil {
		t.Fatal(err)
	}
	for _, a := range e.m.Active() {
		if a.DeviceID == "radar-b3" {
			_ = e.m.Ack(ctx, a.ID, "lina", "已到现场，学生已离开")
			_ = e.m.Resolve(ctx, a.ID, "lina", "复位")
		}
	}
	// Open alarms: a minor one already acknowledged, a major camera alarm with a snapshot.
	hat := e.camera("kitchen-cam-2", "no_chef_hat", "食堂备餐间：未戴厨师帽", "", alerting.Minor)
	if err := e.m.Ack(ctx, hat.ID, "lina", "已提醒厨师"); err != nil {
		t.Fatal(err)
	}
	e.camera("kitchen-cam-1", "rodent", "食堂后厨灶台区：发现老鼠（置信度93%）", snap, alerting.Major)
	if _, err := e.m.Silence(ctx, alerting.Silence{Matchers: alerting.Matchers{"device": "kitchen-cam-2"}, Reason: "摄像机镜头清洁",
		End: now.Add(2 * time.Hour), By: "admin"}); err != nil {
		t.Fatal(err)
	}
}

// screenshotDir is where the e2e test saves its screenshots: testdata/screenshots with
// -update-screenshots (the committed pictures), else a temporary directory, so a test
// run leaves the tree clean. CAMPUSGUARD_SCREENSHOTS names another directory.
var updateShots = flag.Bool("update-screenshots", false, "rewrite testdata/screenshots")

var screenshotDir = sync.OnceValue(func() string {
	switch {
	case *updateShots:
		return filepath.Join("testdata", "screenshots")
	case os.Getenv("CAMPUSGUARD_SCREENSHOTS") != "":
		return os.Getenv("CAMPUSGUARD_SCREENSHOTS")
	}
	dir, err := os.MkdirTemp("", "cg-console-screenshots")
	if err != nil {
		return os.TempDir()
	}
	return dir
})

// shot saves a screenshot of the viewport into screenshotDir (recompressed).
func shot(name string) chromedp.Action[chromedp.Void] {
	return consoletest.Screenshot(screenshotDir, name+".png")
}

// TestE2EPanicAck is the duty room's main path in a real browser: log in as a guard,
// a panic button is pressed, the alarm appears live and sounds, the guard acknowledges
// it with a note, it shows as acknowledged, and the audit trail names the guard.
// Screenshots of every page are saved on the way.
func TestE2EPanicAck(t *testing.T) {
	ctx := browser(t)
	e := newEnv(t, envOpts{})
	populate(t, e, snapshotServer(t).URL+"/snap/8812.png")
	base := e.srv.URL

	err := chromedp.Do(ctx,
		chromedp.EmulateViewport(1366, 768),
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.ID("name")), // redirected to the login page
		chromedp.SendKeys(chromedp.ID("name"), "zhangwei"),
		chromedp.SendKeys(chromedp.ID("password"), "zhangwei-pw"),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("alarm-list")),
		chromedp.WaitVisible(chromedp.CSS(`body[data-live="on"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#alarm-list article.alarm`)),
	)
	if err != nil {
		t.Fatalf("login: %v", err)
	}

	a := e.press() // the simulated press
	card := fmt.Sprintf(`article[data-id=%q]`, a.ID)
	var first, takeover string
	sctx, scancel := context.WithTimeout(ctx, time.Minute)
	defer scancel()
	err = chromedp.Do(sctx,
		chromedp.WaitVisible(chromedp.CSS(card+`[data-state="firing"]`)),
		consoletest.Store(chromedp.Text(chromedp.CSS(card+" .msg")), &first),
		// the new critical alarm takes the screen over, and the audible alert runs
		chromedp.WaitVisible(chromedp.ID("takeover-ack")),
		consoletest.Store(chromedp.Text(chromedp.ID("takeover")), &takeover),
		consoletest.Until(`document.body.dataset.sound === "on" && window.cgConsole.sound.beeps > 0`),
		shot("takeover"),
	)
	if err != nil {
		var dbg string // what the page was doing, for the failure message
		_ = chromedp.Do(ctx, consoletest.Store(chromedp.Evaluate[string](`JSON.stringify({takeover: document.getElementById('takeover').className,
			sound: document.body.dataset.sound, audio: document.body.dataset.audio, live: document.body.dataset.live,
			cards: document.querySelectorAll('#alarm-list article').length})`), &dbg))
		t.Fatalf("live alarm: %v %s", err, dbg)
	}
	if first != "校门门卫室一键报警" {
		t.Fatalf("alarm text %q", first)
	}
	for _, want := range []string{"校门门卫室一键报警", "校门门卫室", "校门", "立即前往现场", "王建国", "13800000001"} {
		if !strings.Contains(takeover, want) {
			t.Errorf("the takeover lacks %q:\n%s", want, takeover)
		}
	}
	var order []string
	if err := chromedp.Do(ctx, consoletest.Store(chromedp.Evaluate[[]string](`[...document.querySelectorAll("#alarm-list article")].map(a => a.dataset.id)`), &order)); err != nil {
		t.Fatal(err)
	}
	if len(order) != 3 || order[0] != a.ID {
		t.Fatalf("the critical alarm is not first: %v", order)
	}

	var audit string
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("takeover-ack")),
		chromedp.WaitVisible(chromedp.ID("note-text")),
		chromedp.SendKeys(chromedp.ID("note-text"), "已到现场，系学生误触"),
		chromedp.Click(chromedp.ID("note-submit")),
		chromedp.WaitVisible(chromedp.CSS(card+`[data-state="acknowledged"] .state-acknowledged`)),
		consoletest.Until(`document.body.dataset.sound === "off"`),
		chromedp.WaitNotVisible(chromedp.ID("takeover")),
		shot("alarms"),
		chromedp.Click(chromedp.CSS(card+" a.detail")),
		chromedp.WaitVisible(chromedp.ID("audit")),
		consoletest.Store(chromedp.Text(chromedp.ID("audit")), &audit),
		shot("detail"),
	)
	if err != nil {
		t.Fatalf("acknowledge: %v", err)
	}
	for _, want := range []string{"确认", "张伟", "已到现场，系学生误触", "触发"} {
		if !strings.Contains(audit, want) {
			t.Errorf("audit trail lacks %q:\n%s", want, audit)
		}
	}
	if got, _ := e.m.Alarm(a.ID); got.State != alerting.Acknowledged || got.AckedBy != "zhangwei" {
		t.Fatalf("alerting: %s by %q", got.State, got.AckedBy)
	}

	pages := []struct{ path, ready, name string }{
		{"/history", "#records-results table", "history"},
		{"/devices", "#devices", "devices"},
		{"/patrols", "#patrol-runs", "patrols"},
		{"/silences", "#zones", "silences"},
	}
	for _, p := range pages {
		if err := chromedp.Do(ctx, chromedp.Navigate(base+p.path), chromedp.WaitVisible(chromedp.CSS(p.ready)), shot(p.name)); err != nil {
			t.Fatalf("%s: %v", p.path, err)
		}
	}
	var phoneW int
	err = chromedp.Do(ctx,
		chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(1), chromedp.EmulateMobile),
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.CSS(card)),
		consoletest.Store(chromedp.Evaluate[int](`document.documentElement.scrollWidth`), &phoneW),
		shot("alarms-phone"),
	)
	if err != nil {
		t.Fatalf("phone: %v", err)
	}
	if phoneW > 390 {
		t.Errorf("the phone layout scrolls sideways: %d px wide", phoneW)
	}
}
