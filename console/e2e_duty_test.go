package console_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/console/consoletest"
	"github.com/campusguard/campusguard/event"
)

// raise fires one alarm at the alerting level (the rule engine's output).
func (e *env) raise(rule, key, dev string, kind event.Kind, typ string, sev alerting.Severity, msg string) alerting.Alarm {
	e.t.Helper()
	if err := e.m.Handle(context.Background(), alerting.Trigger{Rule: rule, Key: key, Firing: true, Severity: sev, DeviceID: dev,
		Message: msg, At: e.clock.Now(), Event: &event.Event{DeviceID: dev, Kind: kind, Type: typ, Source: "mqtt"}}); err != nil {
		e.t.Fatal(err)
	}
	for _, a := range e.m.Active() {
		if a.Rule == rule && a.Key == key {
			return a
		}
	}
	e.t.Fatalf("%s raised no alarm", rule)
	return alerting.Alarm{}
}

// asciiSentences lists the page's visible texts that are English sentences (ASCII
// words with spaces) in the Chinese UI: text the server sent that was not translated.
const asciiSentences = `(() => {
  const out = [];
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walk.nextNode(); n; n = walk.nextNode()) {
    const s = n.textContent.trim();
    const el = n.parentElement;
    if (!s || !el || el.closest('script, .lang, .id, .hidden, [hidden]') || el.offsetParent === null && el.closest('dialog:not([open])')) continue;
    if (/^[\x00-\x7F]+$/.test(s) && /[A-Za-z]{2,}[ ,:;]+[A-Za-z]{2,}/.test(s)) out.push(s);
  }
  return out;
})()`

// TestE2EDutyRoom plays the duty room's hard cases in a browser: ten alarms with the
// critical ones fired first still show them on top and all fit the duty monitor; a
// muted panic button pressed again rings and takes the screen again; the floor plan
// blinks the alarming device and opens its alarms; no English sentence reaches the
// Chinese page; and when the daemon stops, the page says so over the last known list.
func TestE2EDutyRoom(t *testing.T) {
	ctx := browser(t)
	e := newEnv(t, envOpts{})
	populate(t, e, snapshotServer(t).URL+"/snap/8812.png")
	base := e.srv.URL
	// The critical alarms come first; newer, lesser ones would push them down a list
	// sorted by time.
	pressed := e.press()
	fall := e.raise("antifall-presence", "radar-b3", "radar-b3", event.KindAntiFall, event.TypeActive, alerting.Critical, "三楼东侧阳台有人停留超过10秒")
	// A missed checkpoint comes from the patrol tracker's synthetic device "patrol:night".
	if err := e.m.Handle(context.Background(), alerting.Trigger{Rule: "patrol-checkpoint-missed", Key: "patrol:night", Firing: true,
		Severity: alerting.Major, DeviceID: "patrol:night", Message: "漏巡：操场北侧围墙（CP-07），夜间巡查", At: e.clock.Now(),
		Event: &event.Event{DeviceID: "patrol:night", Kind: event.KindPatrol, Type: "checkpoint_missed",
			Fields: event.Fields{"checkpoint_name": "操场北侧围墙", "plan_name": "夜间巡查"}}}); err != nil {
		t.Fatal(err)
	}
	for i, m := range []string{"后厨摄像机2离线", "食堂备餐间：未戴口罩", "食堂后厨灶台区：有人抽烟", "食堂备餐间：玩手机", "后厨摄像机1画面遮挡"} {
		sev := alerting.Minor
		if i%2 == 0 {
			sev = alerting.Major
		}
		e.raise(fmt.Sprintf("r%d", i), fmt.Sprintf("k%d", i), "kitchen-cam-2", event.KindKitchenCamera, event.TypeDetection, sev, m)
	}

	sctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var layout struct {
		Cards  int     `json:"cards"`
		Bottom float64 `json:"bottom"`
		First  string  `json:"first"`
		Second string  `json:"second"`
	}
	err := chromedp.Do(sctx,
		chromedp.EmulateViewport(1366, 768),
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.ID("name")),
		chromedp.SendKeys(chromedp.ID("name"), "zhangwei"),
		chromedp.SendKeys(chromedp.ID("password"), "zhangwei-pw"),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("takeover-ack")),
		consoletest.Until(`document.querySelectorAll("#alarm-list article").length === 10`),
		consoletest.Store(chromedp.Evaluate[struct {
			Cards  int     `json:"cards"`
			Bottom float64 `json:"bottom"`
			First  string  `json:"first"`
			Second string  `json:"second"`
		}](`(() => { const as = [...document.querySelectorAll("#alarm-list article")];
			return { cards: as.length, bottom: as[as.length-1].getBoundingClientRect().bottom, first: as[0].dataset.id, second: as[1].dataset.id }; })()`), &layout),
		// the guard mutes: the sound stops, the takeover stays until acknowledged
		chromedp.Click(chromedp.CSS(`#takeover button:not(.primary)`)),
		consoletest.Until(`document.body.dataset.sound === "off"`),
		chromedp.WaitVisible(chromedp.ID("takeover-ack")),
	)
	if err != nil {
		t.Fatalf("ten alarms: %v", err)
	}
	if layout.Cards != 10 || layout.Bottom > 768 {
		t.Errorf("ten alarms do not fit 1366×768: %d cards, the last ends at %.0f px", layout.Cards, layout.Bottom)
	}
	if layout.First != fall.ID && layout.First != pressed.ID || layout.Second != fall.ID && layout.Second != pressed.ID {
		t.Errorf("the critical alarms are not on top: %s, %s", layout.First, layout.Second)
	}

	// The same button is pressed again after the mute: a new occurrence rings again.
	var beeps int
	err = chromedp.Do(sctx, consoletest.Store(chromedp.Evaluate[int](`window.cgConsole.sound.beeps`), &beeps))
	if err != nil {
		t.Fatal(err)
	}
	if again := e.raise("panic-pressed", "panic-gate", "panic-gate", event.KindPanic, event.TypePressed, alerting.Critical, "校门门卫室一键报警"); again.ID != pressed.ID || again.Count != 2 {
		t.Fatalf("the second press: %s count %d", again.ID, again.Count)
	}
	err = chromedp.Do(sctx,
		consoletest.Until(fmt.Sprintf(`document.body.dataset.sound === "on" && window.cgConsole.sound.beeps > %d`, beeps)),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`article[data-id=%q][data-count="2"]`, pressed.ID))),
	)
	if err != nil {
		t.Fatalf("a second press after the mute: %v", err)
	}
	// Acknowledge both critical alarms through the takeover.
	for range 2 {
		err = chromedp.Do(sctx,
			chromedp.Click(chromedp.ID("takeover-ack")),
			chromedp.WaitVisible(chromedp.ID("note-text")),
			chromedp.Click(chromedp.CSS(`#note-quick button`)),
			chromedp.Click(chromedp.ID("note-submit")),
			chromedp.WaitNotVisible(chromedp.ID("note-dialog")),
		)
		if err != nil {
			t.Fatalf("acknowledge from the takeover: %v", err)
		}
	}
	err = chromedp.Do(sctx, chromedp.WaitNotVisible(chromedp.ID("takeover")), consoletest.Until(`document.body.dataset.sound === "off"`), shot("alarms-ten"))
	if err != nil {
		t.Fatalf("after acknowledging: %v", err)
	}

	// The floor plan: the radar's marker blinks on the third floor's plan; a click
	// shows its alarm.
	err = chromedp.Do(sctx,
		chromedp.Navigate(base+"/plan"),
		chromedp.WaitVisible(chromedp.CSS(`#dev-radar-b3.dev-acked, #dev-radar-b3.dev-alarm`)),
		consoletest.Until(`[...document.querySelectorAll(".plan-img")].every(i => i.complete && i.naturalWidth > 0)`),
		shot("plan"),
		chromedp.Click(chromedp.ID("dev-radar-b3")),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#plan-side article[data-id=%q]`, fall.ID))),
	)
	if err != nil {
		t.Fatalf("floor plan: %v", err)
	}

	// No English sentence on any page of the Chinese UI.
	for _, p := range []string{"/", "/alarms/" + pressed.ID, "/history", "/devices", "/patrols", "/silences", "/plan", "/report"} {
		var found []string
		err := chromedp.Do(sctx, chromedp.Navigate(base+p), chromedp.WaitVisible(chromedp.CSS(`body[data-live="on"]`)),
			consoletest.Until(`!!document.querySelector("main table, main .alarm, main .empty, main .floor")`),
			consoletest.Store(chromedp.Evaluate[[]string](asciiSentences), &found))
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if len(found) > 0 {
			t.Errorf("%s shows English in the Chinese UI: %q", p, found)
		}
		var keys bool
		if err := chromedp.Do(sctx, consoletest.Store(chromedp.Evaluate[bool](`document.body.innerText.includes("patrol:")`), &keys)); err != nil || keys {
			t.Errorf("%s shows a raw device key (patrol:…): %v", p, err)
		}
	}

	// English on request: the page's own words are English.
	var heading string
	err = chromedp.Do(sctx, chromedp.Navigate(base+"/?lang=en"), consoletest.Until(`document.querySelectorAll("#alarm-list article").length === 10`),
		consoletest.Store(chromedp.Text(chromedp.CSS("main h1")), &heading), shot("alarms-en"))
	if err != nil || !strings.HasPrefix(heading, "Active alarms") {
		t.Errorf("English page: %q %v", heading, err)
	}

	// The daemon stops: the last known list stays under a full-width banner.
	err = chromedp.Do(sctx, chromedp.Navigate(base+"/?lang=zh"), consoletest.Until(`document.querySelectorAll("#alarm-list article").length === 10`))
	if err != nil {
		t.Fatal(err)
	}
	e.stop()
	var cards int
	var banner string
	err = chromedp.Do(sctx,
		chromedp.WaitVisible(chromedp.ID("conn-banner")),
		consoletest.Store(chromedp.Text(chromedp.ID("conn-banner")), &banner),
		consoletest.Store(chromedp.Evaluate[int](`document.querySelectorAll("#alarm-list article").length`), &cards),
		shot("connection-lost"),
	)
	if err != nil {
		t.Fatalf("connection lost: %v", err)
	}
	if cards != 10 || !strings.Contains(banner, "连接中断") {
		t.Errorf("after the stop: %d cards, banner %q", cards, banner)
	}
}
