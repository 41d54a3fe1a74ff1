package console_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/console"
	"github.com/campusguard/campusguard/event"
)

// TestActiveMostUrgentFirst: the open alarms come in the order a guard handles them:
// unacknowledged critical first, whatever came later.
func TestActiveMostUrgentFirst(t *testing.T) {
	clock := clockwork.NewFakeClockAt(time.Date(2026, 11, 20, 21, 0, 0, 0, shanghai))
	e := newEnv(t, envOpts{clock: clock})
	g := e.login("zhangwei")
	fall := e.raise("antifall-presence", "radar-b3", "radar-b3", event.KindAntiFall, event.TypeActive, alerting.Critical, "三楼东侧阳台有人")
	clock.Advance(time.Second)
	acked := e.press()
	if err := e.m.Ack(context.Background(), acked.ID, "zhangwei", ""); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second)
	rat := e.camera("kitchen-cam-1", "rodent", "后厨发现老鼠", "", alerting.Major)
	clock.Advance(time.Second)
	hat := e.camera("kitchen-cam-2", "no_chef_hat", "未戴厨师帽", "", alerting.Minor)
	var list struct {
		Alarms []alerting.Alarm `json:"alarms"`
	}
	g.getJSON("/api/alarms/active", &list)
	var got []string
	for _, a := range list.Alarms {
		got = append(got, a.ID)
	}
	want := []string{fall.ID, acked.ID, rat.ID, hat.ID}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("order %v, want %v", got, want)
	}
}

// TestOccurrenceOnTheStream: another press of an open alarm reaches the page marked as
// an occurrence, with its count.
func TestOccurrenceOnTheStream(t *testing.T) {
	e := newEnv(t, envOpts{})
	g := e.login("zhangwei")
	s := g.events()
	s.expect("ready")
	a := e.press()
	if !strings.Contains(s.expect("alarm"), `"occurrence":true`) {
		t.Fatal("the first fire is not an occurrence")
	}
	if err := e.m.Ack(context.Background(), a.ID, "zhangwei", ""); err != nil {
		t.Fatal(err)
	}
	if d := s.expect("alarm"); strings.Contains(d, `"occurrence"`) {
		t.Fatalf("an acknowledgement is an occurrence: %s", d)
	}
	again := e.raise("panic-pressed", "panic-gate", "panic-gate", event.KindPanic, event.TypePressed, alerting.Critical, "校门门卫室一键报警")
	for {
		d := s.expect("alarm")
		var x struct {
			Count      int  `json:"count"`
			Occurrence bool `json:"occurrence"`
		}
		_ = json.Unmarshal([]byte(d), &x)
		if x.Occurrence {
			if x.Count != again.Count || x.Count < 2 {
				t.Fatalf("occurrence count %d, alarm count %d", x.Count, again.Count)
			}
			return
		}
	}
}

// TestSessionsSurviveRestart: a console started again over the same journal keeps the
// sessions, so the duty screen needs no login after a restart; an operator can list
// and end them.
func TestSessionsSurviveRestart(t *testing.T) {
	e := newEnv(t, envOpts{})
	g := e.login("zhangwei")
	op := e.login("admin")
	_, dir := testSite()
	c2, err := console.New(testConfig(), console.Deps{Alarms: e.m, History: e.j, Audit: e.j, Directory: dir}, console.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	srv2 := httptest.NewServer(c2.Handler())
	defer srv2.Close()
	e.srv.Close()
	e.srv = srv2 // the clients' cookies go to the new console (cookies ignore ports)
	var info struct {
		User string `json:"user"`
		CSRF string `json:"csrf_token"`
	}
	g.getJSON("/api/session", &info)
	if info.User != "zhangwei" || info.CSRF != g.csrf {
		t.Fatalf("after the restart: %+v", info)
	}
	var list struct {
		Sessions []struct {
			ID   string `json:"id"`
			User string `json:"user"`
		} `json:"sessions"`
	}
	op.getJSON("/api/sessions", &list)
	id := ""
	for _, s := range list.Sessions {
		if s.User == "zhangwei" {
			id = s.ID
		}
	}
	if len(list.Sessions) != 2 || id == "" || strings.Contains(mustJSON(list), "csrf") {
		t.Fatalf("sessions: %+v", list)
	}
	if resp, b := g.do("GET", "/api/sessions", nil, nil); resp.StatusCode != 403 {
		t.Fatalf("a guard lists sessions: %d %s", resp.StatusCode, b)
	}
	if resp, b := op.do("DELETE", "/api/sessions/"+id, nil, nil); resp.StatusCode != 204 {
		t.Fatalf("end session: %d %s", resp.StatusCode, b)
	}
	if resp, _ := g.do("GET", "/api/session", nil, nil); resp.StatusCode != 401 {
		t.Fatalf("an ended session still works: %d", resp.StatusCode)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestKiosk: the duty PC's device token opens a guard's session without a password; a
// wrong token does not; a new token in the config ends the old token's sessions.
func TestKiosk(t *testing.T) {
	cfg := testConfig()
	sum := sha256.Sum256([]byte("duty-pc-secret-token"))
	cfg.Kiosks = []console.Kiosk{{Name: "duty-pc", DisplayName: "值班室电脑", TokenSHA256: hex.EncodeToString(sum[:])}}
	e := newEnv(t, envOpts{cfg: &cfg})
	c := e.client()
	if resp, _ := c.do("GET", "/kiosk?token=wrong", nil, nil); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a wrong token: %d", resp.StatusCode)
	}
	resp, _ := c.do("GET", "/kiosk?token=duty-pc-secret-token", nil, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("kiosk login: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	var info struct {
		User, Role, DisplayName string `json:"-"`
	}
	var raw map[string]any
	c.getJSON("/api/session", &raw)
	info.User, info.Role, info.DisplayName = raw["user"].(string), raw["role"].(string), raw["display_name"].(string)
	if info.User != "duty-pc" || info.Role != "guard" || info.DisplayName != "值班室电脑" {
		t.Fatalf("kiosk session: %+v", raw)
	}
	var before struct {
		CSRF string `json:"csrf_token"`
	}
	c.getJSON("/api/session", &before)
	if resp, _ := c.do("GET", "/kiosk?token=duty-pc-secret-token", nil, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("kiosk again: %d", resp.StatusCode)
	}
	var after struct {
		CSRF string `json:"csrf_token"`
	}
	c.getJSON("/api/session", &after)
	if after.CSRF != before.CSRF {
		t.Fatal("a browser restart at the kiosk address started another session")
	}
	sum2 := sha256.Sum256([]byte("a-new-token"))
	cfg.Kiosks[0].TokenSHA256 = hex.EncodeToString(sum2[:])
	if err := e.c.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	if resp, _ := c.do("GET", "/api/session", nil, nil); resp.StatusCode != 401 {
		t.Fatalf("the old token's session survived a new token: %d", resp.StatusCode)
	}
}

// TestParallelWrongPasswords: attempts are reserved before the hash runs, so of 60
// wrong passwords sent at once only the free attempts are checked.
func TestParallelWrongPasswords(t *testing.T) {
	e := newEnv(t, envOpts{})
	var mu sync.Mutex
	codes := map[int]int{}
	var wg sync.WaitGroup
	for range 60 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := e.client()
			resp, _ := c.do("POST", "/api/login", map[string]string{"name": "zhangwei", "password": "wrong"}, nil)
			mu.Lock()
			codes[resp.StatusCode]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if codes[401] > console.DefaultLoginAttempts || codes[401]+codes[429]+codes[503] != 60 {
		t.Fatalf("answers %v: at most %d may be checked", codes, console.DefaultLoginAttempts)
	}
}

// TestNoLockout: wrong passwords for a guard's account from other addresses do not
// keep the guard out on a browser that logged in before.
func TestNoLockout(t *testing.T) {
	e := newEnv(t, envOpts{clock: clockwork.NewFakeClock()})
	h := e.c.Handler()
	login := func(ip, pw string, cookies []*http.Cookie) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", "/api/login", strings.NewReader(`{"name":"zhangwei","password":"`+pw+`"}`))
		r.RemoteAddr = ip + ":40000"
		r.Header.Set("Content-Type", "application/json")
		for _, c := range cookies {
			r.AddCookie(c)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	first := login("10.0.0.5", "zhangwei-pw", nil)
	if first.Code != 200 {
		t.Fatalf("login: %d", first.Code)
	}
	var known []*http.Cookie
	for _, c := range first.Result().Cookies() {
		if c.Name == "cg_known" {
			known = append(known, c)
		}
	}
	if len(known) == 0 {
		t.Fatal("no known-device cookie")
	}
	for i := range 8 { // someone else tries the guard's account from many addresses
		login("10.9.0."+string(rune('1'+i)), "guess", nil)
	}
	if w := login("10.0.0.6", "zhangwei-pw", nil); w.Code != http.StatusTooManyRequests {
		t.Fatalf("an unknown browser during the attack: %d (want a short back-off)", w.Code)
	}
	if w := login("10.0.0.5", "zhangwei-pw", known[:1]); w.Code != 200 {
		t.Fatalf("the guard's own browser is locked out: %d %s", w.Code, w.Body)
	}
}

// TestSiteAndPlans: the page gets places, contacts and device positions; plan images
// are served from the config directory with a policy that runs nothing.
func TestSiteAndPlans(t *testing.T) {
	e := newEnv(t, envOpts{})
	v := e.login("wangfang")
	var s struct {
		Plan      string `json:"plan"`
		Buildings []struct {
			ID     string `json:"id"`
			Floors []struct {
				ID   string `json:"id"`
				Plan string `json:"plan"`
			} `json:"floors"`
		} `json:"buildings"`
		Zones []struct {
			ID       string `json:"id"`
			Contacts []struct {
				Name  string `json:"name"`
				Phone string `json:"phone"`
			} `json:"contacts"`
		} `json:"zones"`
		Devices []struct {
			ID       string `json:"id"`
			Building string `json:"building"`
			Floor    string `json:"floor"`
			Position *struct{ X, Y float64 }
		} `json:"devices"`
		People map[string]string `json:"people"`
	}
	v.getJSON("/api/site", &s)
	if s.Plan != "/api/plans/site" || s.Buildings[0].Floors[1].Plan != "/api/plans/main/3f" || s.Buildings[0].Floors[0].Plan != "" {
		t.Fatalf("plans: %+v", s)
	}
	if s.Zones[0].Contacts[0].Name != "王建国" || s.People["zhangwei"] != "张伟" {
		t.Fatalf("contacts or people: %+v", s)
	}
	var radar bool
	for _, d := range s.Devices {
		radar = radar || d.ID == "radar-b3" && d.Building == "main" && d.Floor == "3f" && d.Position != nil && d.Position.X == 86
	}
	if !radar {
		t.Fatalf("the radar is not placed: %+v", s.Devices)
	}
	resp, b := v.do("GET", "/api/plans/main/3f", nil, nil)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/svg+xml" ||
		!strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'none'") || !strings.Contains(string(b), "<svg") {
		t.Fatalf("plan: %d %v", resp.StatusCode, resp.Header)
	}
	for _, p := range []string{"/api/plans/main/1f", "/api/plans/gym/1f", "/api/plans/main/..%2f..%2fetc"} {
		if resp, _ := v.do("GET", p, nil, nil); resp.StatusCode != 404 {
			t.Errorf("%s: %d", p, resp.StatusCode)
		}
	}
}

// TestActiveWhileStopping: a stopping console never answers an empty list.
func TestActiveWhileStopping(t *testing.T) {
	e := newEnv(t, envOpts{})
	g := e.login("zhangwei")
	e.press()
	e.stop()
	<-e.done
	if resp, b := g.do("GET", "/api/alarms/active", nil, nil); resp.StatusCode != 503 {
		t.Fatalf("while stopping: %d %s", resp.StatusCode, b)
	}
}
