package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/alerting/journal"
	"github.com/campusguard/campusguard/console"
)

// TestAPIAuthFailures: no session → 401, wrong role → 403 forbidden, CSRF missing or
// wrong or cross-origin → 403 csrf, an expired session → 401.
func TestAPIAuthFailures(t *testing.T) {
	clock := clockwork.NewFakeClockAt(time.Date(2026, 11, 20, 9, 0, 0, 0, shanghai))
	e := newEnv(t, envOpts{clock: clock})
	a := e.press()
	anon := e.client()
	viewer := e.login("wangfang")
	guard := e.login("zhangwei")
	operator := e.login("admin")
	ack := "/api/alarms/" + a.ID + "/ack"
	silence := map[string]any{"matchers": map[string]string{"device": "kitchen-cam-1"}, "reason": "维修", "duration": "1h"}

	tests := []struct {
		name   string
		c      *client
		method string
		path   string
		body   any
		hdr    map[string]string
		status int
		code   string
	}{
		{"no session: active", anon, "GET", "/api/alarms/active", nil, nil, 401, "unauthenticated"},
		{"no session: ack", anon, "POST", ack, map[string]string{}, nil, 401, "unauthenticated"},
		{"no session: events", anon, "GET", "/api/events", nil, nil, 401, "unauthenticated"},
		{"bad cookie", anon, "GET", "/api/session", nil, map[string]string{"Cookie": "cg_session=forged"}, 401, "unauthenticated"},
		{"viewer may not ack", viewer, "POST", ack, map[string]string{}, nil, 403, "forbidden"},
		{"viewer may not resolve", viewer, "POST", "/api/alarms/" + a.ID + "/resolve", nil, nil, 403, "forbidden"},
		{"guard may not silence", guard, "POST", "/api/silences", silence, nil, 403, "forbidden"},
		{"guard may not disarm", guard, "POST", "/api/zones/gate/disarm", nil, nil, 403, "forbidden"},
		{"guard may not end a silence", guard, "DELETE", "/api/silences/sil-x", nil, nil, 403, "forbidden"},
		{"csrf missing", guard, "POST", ack, map[string]string{}, map[string]string{"X-CSRF-Token": ""}, 403, "csrf"},
		{"csrf wrong", guard, "POST", ack, map[string]string{}, map[string]string{"X-CSRF-Token": "AAAA"}, 403, "csrf"},
		{"csrf of another session", guard, "POST", ack, map[string]string{}, map[string]string{"X-CSRF-Token": operator.csrf}, 403, "csrf"},
		{"cross-origin", guard, "POST", ack, map[string]string{}, map[string]string{"Origin": "http://evil.example"}, 403, "csrf"},
		{"cross-site fetch", guard, "POST", ack, map[string]string{}, map[string]string{"Sec-Fetch-Site": "cross-site"}, 403, "csrf"},
		{"operator csrf missing", operator, "POST", "/api/silences", silence, map[string]string{"X-CSRF-Token": ""}, 403, "csrf"},
		{"logout csrf missing", viewer, "POST", "/api/logout", nil, map[string]string{"X-CSRF-Token": ""}, 403, "csrf"},
		{"unknown endpoint", viewer, "GET", "/api/nope", nil, nil, 404, "not_found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, b := tc.c.do(tc.method, tc.path, tc.body, tc.hdr)
			if resp.StatusCode != tc.status || errCode(b) != tc.code {
				t.Fatalf("%s %s: got %d %s, want %d %s", tc.method, tc.path, resp.StatusCode, b, tc.status, tc.code)
			}
		})
	}
	if got, _ := e.m.Alarm(a.ID); got.State != alerting.Firing {
		t.Fatalf("a refused request changed the alarm: %s", got.State)
	}

	// The same session works with its token; after the TTL it is gone.
	if resp, b := guard.do("GET", "/api/session", nil, nil); resp.StatusCode != 200 {
		t.Fatalf("session: %d %s", resp.StatusCode, b)
	}
	clock.Advance(console.DefaultSessionTTL + time.Second)
	if resp, b := guard.do("GET", "/api/session", nil, nil); resp.StatusCode != 401 {
		t.Fatalf("expired session: %d %s", resp.StatusCode, b)
	}
}

func TestLogin(t *testing.T) {
	e := newEnv(t, envOpts{})
	c := e.client()
	tests := []struct {
		name   string
		body   any
		hdr    map[string]string
		status int
		code   string
	}{
		{"bad password", map[string]string{"name": "zhangwei", "password": "guess"}, nil, 401, "bad_credentials"},
		{"unknown user", map[string]string{"name": "nobody", "password": "nobody-pw"}, nil, 401, "bad_credentials"},
		{"empty", map[string]string{}, nil, 401, "bad_credentials"},
		{"long password", map[string]string{"name": "zhangwei", "password": strings.Repeat("x", 200)}, nil, 401, "bad_credentials"},
		{"not json", "name=zhangwei", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 415, "content_type"},
		{"bad json", `{"name":`, nil, 400, "bad_request"},
		{"unknown field", `{"name":"zhangwei","password":"zhangwei-pw","role":"operator"}`, nil, 400, "bad_request"},
		{"cross-origin", map[string]string{"name": "zhangwei", "password": "zhangwei-pw"}, map[string]string{"Origin": "http://evil.example"}, 403, "csrf"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, b := c.do("POST", "/api/login", tc.body, tc.hdr)
			if resp.StatusCode != tc.status || errCode(b) != tc.code {
				t.Fatalf("got %d %s, want %d %s", resp.StatusCode, b, tc.status, tc.code)
			}
			if len(resp.Cookies()) > 0 {
				for _, ck := range resp.Cookies() {
					if ck.Name == "cg_session" && ck.Value != "" {
						t.Fatal("a failed login set a session cookie")
					}
				}
			}
		})
	}
	resp, b := c.do("POST", "/api/login", map[string]string{"name": "zhangwei", "password": "zhangwei-pw"}, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("login: %d %s", resp.StatusCode, b)
	}
	var ck *http.Cookie
	for _, x := range resp.Cookies() {
		if x.Name == "cg_session" {
			ck = x
		}
	}
	if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/" || ck.Secure {
		t.Fatalf("session cookie over plain HTTP: %+v", ck)
	}
	if !strings.Contains(string(b), `"role":"guard"`) || !strings.Contains(string(b), `"display_name":"张伟"`) {
		t.Fatalf("login answer: %s", b)
	}
}

// TestSecureCookieUnderTLS: under TLS the session cookie is Secure and HSTS is sent.
func TestSecureCookieUnderTLS(t *testing.T) {
	e := newEnv(t, envOpts{tls: true})
	c := e.client()
	resp, b := c.do("POST", "/api/login", map[string]string{"name": "admin", "password": "admin-pw"}, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("login: %d %s", resp.StatusCode, b)
	}
	for _, x := range resp.Cookies() {
		if x.Name == "cg_session" && (!x.Secure || !x.HttpOnly || x.SameSite != http.SameSiteStrictMode) {
			t.Fatalf("cookie under TLS: %+v", x)
		}
	}
	if resp.Header.Get("Strict-Transport-Security") == "" {
		t.Fatal("no HSTS under TLS")
	}
}

// TestLoginRateLimit: after 5 failures the client and the account back off (1 s, then
// doubling), even for the right password; the pause passing lets it in again.
func TestLoginRateLimit(t *testing.T) {
	clock := clockwork.NewFakeClock()
	e := newEnv(t, envOpts{clock: clock})
	c := e.client()
	bad := map[string]string{"name": "zhangwei", "password": "wrong"}
	for i := range console.DefaultLoginAttempts {
		if resp, b := c.do("POST", "/api/login", bad, nil); resp.StatusCode != 401 {
			t.Fatalf("failure %d: %d %s", i, resp.StatusCode, b)
		}
	}
	resp, b := c.do("POST", "/api/login", map[string]string{"name": "zhangwei", "password": "zhangwei-pw"}, nil)
	if resp.StatusCode != 429 || errCode(b) != "rate_limited" {
		t.Fatalf("6th attempt: %d %s", resp.StatusCode, b)
	}
	if ra := resp.Header.Get("Retry-After"); ra != "1" {
		t.Fatalf("Retry-After %q, want 1", ra)
	}
	// Another account from the same address is limited too (the address key).
	if resp, _ := c.do("POST", "/api/login", map[string]string{"name": "admin", "password": "admin-pw"}, nil); resp.StatusCode != 429 {
		t.Fatalf("same address, other account: %d", resp.StatusCode)
	}
	// The form login shares the limit.
	form := e.client()
	_, page := form.do("GET", "/login", nil, nil)
	tok := hiddenValue(t, string(page), "csrf_token")
	resp, b = form.do("POST", "/login", url.Values{"csrf_token": {tok}, "name": {"zhangwei"}, "password": {"zhangwei-pw"}}, nil)
	if resp.StatusCode != 429 || !strings.Contains(string(b), "登录失败次数过多") {
		t.Fatalf("form login while limited: %d", resp.StatusCode)
	}
	clock.Advance(time.Second)
	if resp, b := c.do("POST", "/api/login", map[string]string{"name": "zhangwei", "password": "zhangwei-pw"}, nil); resp.StatusCode != 200 {
		t.Fatalf("after the pause: %d %s", resp.StatusCode, b)
	}
}

func hiddenValue(t *testing.T, page, name string) string {
	t.Helper()
	i := strings.Index(page, `name="`+name+`" value="`)
	if i < 0 {
		t.Fatalf("no %s in page", name)
	}
	rest := page[i+len(`name="`+name+`" value="`):]
	return rest[:strings.IndexByte(rest, '"')]
}

// TestLoginForm: the page form needs its login-CSRF token; next is kept local.
func TestLoginForm(t *testing.T) {
	e := newEnv(t, envOpts{})
	c := e.client()
	resp, _ := c.do("GET", "/alarms/x?y=1", nil, nil)
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/login?next=%2Falarms%2Fx%3Fy%3D1" {
		t.Fatalf("page without session: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, page := c.do("GET", "/login", nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(string(page), "登录") {
		t.Fatalf("login page: %d", resp.StatusCode)
	}
	tok := hiddenValue(t, string(page), "csrf_token")
	creds := url.Values{"name": {"zhangwei"}, "password": {"zhangwei-pw"}, "next": {"/devices"}}

	if resp, _ := c.do("POST", "/login", creds, nil); resp.StatusCode != 403 {
		t.Fatalf("form without csrf: %d", resp.StatusCode)
	}
	// A token from another browser (cookie mismatch) is refused.
	other := e.client()
	_, page2 := other.do("GET", "/login", nil, nil)
	creds.Set("csrf_token", hiddenValue(t, string(page2), "csrf_token"))
	if resp, _ := c.do("POST", "/login", creds, nil); resp.StatusCode != 403 {
		t.Fatalf("form with a foreign token: %d", resp.StatusCode)
	}
	_, page = c.do("GET", "/login", nil, nil)
	tok = hiddenValue(t, string(page), "csrf_token")
	creds.Set("csrf_token", tok)
	creds.Set("password", "wrong")
	if resp, b := c.do("POST", "/login", creds, nil); resp.StatusCode != 401 || !strings.Contains(string(b), "账号或密码错误") {
		t.Fatalf("bad password: %d", resp.StatusCode)
	}
	_, page = c.do("GET", "/login", nil, nil)
	creds.Set("csrf_token", hiddenValue(t, string(page), "csrf_token"))
	creds.Set("password", "zhangwei-pw")
	creds.Set("next", "//evil.example/x")
	resp, _ = c.do("POST", "/login", creds, nil)
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/" {
		t.Fatalf("open redirect: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, page = c.do("GET", "/devices", nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(string(page), `<meta name="csrf-token"`) {
		t.Fatalf("page after login: %d", resp.StatusCode)
	}
	// Logout needs the session's token.
	if resp, _ := c.do("POST", "/logout", url.Values{}, nil); resp.StatusCode != 403 {
		t.Fatalf("logout without token: %d", resp.StatusCode)
	}
	csrf := hiddenValue(t, string(page), "csrf_token")
	if resp, _ := c.do("POST", "/logout", url.Values{"csrf_token": {csrf}}, nil); resp.StatusCode != 303 {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	if resp, _ := c.do("GET", "/api/session", nil, nil); resp.StatusCode != 401 {
		t.Fatalf("session after logout: %d", resp.StatusCode)
	}
}

// TestAckResolve: the guard's ack and reset go through alerting with the account's name.
func TestAckResolve(t *testing.T) {
	e := newEnv(t, envOpts{})
	a := e.press()
	g := e.login("zhangwei")
	var list struct{ Alarms []alerting.Alarm }
	g.getJSON("/api/alarms/active", &list)
	if len(list.Alarms) != 1 || list.Alarms[0].ID != a.ID || list.Alarms[0].Location != "校门门卫室" {
		t.Fatalf("active: %+v", list.Alarms)
	}
	resp, b := g.do("POST", "/api/alarms/"+a.ID+"/ack", map[string]string{"note": "  已到现场\x00 "}, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("ack: %d %s", resp.StatusCode, b)
	}
	got, _ := e.m.Alarm(a.ID)
	if got.State != alerting.Acknowledged || got.AckedBy != "zhangwei" || got.AckNote != "已到现场" {
		t.Fatalf("after ack: %s by %q note %q", got.State, got.AckedBy, got.AckNote)
	}
	tests := []struct {
		path   string
		body   any
		status int
		code   string
	}{
		{"/api/alarms/" + a.ID + "/ack", nil, 409, "already_acknowledged"},
		{"/api/alarms/nope/ack", nil, 404, "not_found"},
		{"/api/alarms/nope/resolve", nil, 404, "not_found"},
		{"/api/alarms/" + a.ID + "/resolve", map[string]string{"note": strings.Repeat("长", 501)}, 400, "bad_request"},
		{"/api/alarms/" + a.ID + "/resolve", `{"note": 5}`, 400, "bad_request"},
	}
	for _, tc := range tests {
		if resp, b := g.do("POST", tc.path, tc.body, nil); resp.StatusCode != tc.status || errCode(b) != tc.code {
			t.Errorf("POST %s: %d %s, want %d %s", tc.path, resp.StatusCode, b, tc.status, tc.code)
		}
	}
	if resp, b := g.do("POST", "/api/alarms/"+a.ID+"/resolve", map[string]string{"note": "误触，已复位"}, nil); resp.StatusCode != 200 ||
		!strings.Contains(string(b), `"state":"resolved"`) {
		t.Fatalf("resolve: %d %s", resp.StatusCode, b)
	}
	var d struct {
		journal.AlarmDetail
		Open bool `json:"open"`
	}
	g.getJSON("/api/alarms/"+a.ID, &d)
	var trail []string
	for _, h := range d.History {
		trail = append(trail, h.Action+":"+h.By+":"+h.Note)
	}
	want := "fired::,acknowledged:zhangwei:已到现场,resolved:zhangwei:误触，已复位"
	if d.Open || strings.Join(trail, ",") != want {
		t.Fatalf("detail open=%v trail %q, want %q", d.Open, strings.Join(trail, ","), want)
	}
	if resp, b := g.do("GET", "/api/alarms/nope", nil, nil); resp.StatusCode != 404 {
		t.Fatalf("unknown detail: %d %s", resp.StatusCode, b)
	}
}

func TestSilencesAndZones(t *testing.T) {
	e := newEnv(t, envOpts{})
	op := e.login("admin")
	bad := []any{
		map[string]any{"reason": "x", "duration": "1h"},
		map[string]any{"matchers": map[string]string{"device": "cam"}, "duration": "1h"},
		map[string]any{"matchers": map[string]string{"device": "cam"}, "reason": "x"},
		map[string]any{"matchers": map[string]string{"device": "cam"}, "reason": "x", "duration": "-1h"},
		map[string]any{"matchers": map[string]string{"device": "cam"}, "reason": "x", "duration": "800h"},
		map[string]any{"matchers": map[string]string{"device": "cam"}, "reason": "x", "end": "2001-01-01T00:00:00Z"},
		map[string]any{"matchers": map[string]string{"": "cam"}, "reason": "x", "duration": "1h"},
		`{"matchers":{"device":"cam"},"reason":"x","duration":"1h","extra":1}`,
	}
	for i, body := range bad {
		if resp, b := op.do("POST", "/api/silences", body, nil); resp.StatusCode != 400 {
			t.Errorf("bad silence %d: %d %s", i, resp.StatusCode, b)
		}
	}
	resp, b := op.do("POST", "/api/silences", map[string]any{"matchers": map[string]string{"device": "kitchen-cam-1"},
		"reason": "摄像机维修", "duration": "2h"}, nil)
	if resp.StatusCode != 201 {
		t.Fatalf("silence: %d %s", resp.StatusCode, b)
	}
	var created struct{ ID string }
	var list struct{ Silences []alerting.Silence }
	op.getJSON("/api/silences", &list)
	if len(list.Silences) != 1 || list.Silences[0].By != "admin" || list.Silences[0].Reason != "摄像机维修" {
		t.Fatalf("silences: %+v", list.Silences)
	}
	created.ID = list.Silences[0].ID
	if resp, b := op.do("DELETE", "/api/silences/"+created.ID, nil, nil); resp.StatusCode != 204 {
		t.Fatalf("unsilence: %d %s", resp.StatusCode, b)
	}
	if resp, _ := op.do("DELETE", "/api/silences/"+created.ID, nil, nil); resp.StatusCode != 404 {
		t.Fatalf("unsilence twice: %d", resp.StatusCode)
	}
	if resp, b := op.do("POST", "/api/zones/kitchen/disarm", nil, nil); resp.StatusCode != 204 {
		t.Fatalf("disarm: %d %s", resp.StatusCode, b)
	}
	if resp, _ := op.do("POST", "/api/zones/nowhere/arm", nil, nil); resp.StatusCode != 404 {
		t.Fatalf("arm unknown zone: %d", resp.StatusCode)
	}
	var zones struct {
		Zones []struct {
			Zone, Name, By string
			Armed          bool
		}
	}
	op.getJSON("/api/zones", &zones)
	if len(zones.Zones) != 4 || zones.Zones[1].Zone != "kitchen" || zones.Zones[1].Armed || zones.Zones[1].By != "admin" || !zones.Zones[0].Armed {
		t.Fatalf("zones: %+v", zones.Zones)
	}
	// Every operator action is in the journal with the account's name.
	var recs journal.RecordPage
	op.getJSON("/api/records?by=admin", &recs)
	var actions []string
	for _, r := range recs.Records {
		actions = append(actions, r.Action)
	}
	if got := strings.Join(actions, ","); got != "disarmed,unsilenced,silenced,login" {
		t.Fatalf("records by admin (newest first): %s", got)
	}
}

// TestAuditLogins: logins, failed logins and logouts are journaled records.
func TestAuditLogins(t *testing.T) {
	e := newEnv(t, envOpts{})
	c := e.client()
	c.do("POST", "/api/login", map[string]string{"name": "zhangwei", "password": "nope"}, nil)
	g := e.login("zhangwei")
	if resp, _ := g.do("POST", "/api/logout", nil, nil); resp.StatusCode != 204 {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	p, err := e.j.Records(journal.RecordQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range p.Records {
		got = append(got, r.Action+":"+r.By)
	}
	if strings.Join(got, ",") != "logout:zhangwei,login:zhangwei,login_failed:zhangwei" {
		t.Fatalf("records: %v", got)
	}
}

func TestHistoryDevicesPatrol(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.press()
	e.camera("kitchen-cam-1", "no_chef_hat", "未戴厨师帽", "http://10.0.0.21/snap/1.jpg", alerting.Minor)
	v := e.login("wangfang")
	var page journal.AlarmPage
	v.getJSON("/api/alarms?severity=minor&limit=10", &page)
	if len(page.Alarms) != 1 || page.Alarms[0].DeviceID != "kitchen-cam-1" {
		t.Fatalf("history filter: %+v", page.Alarms)
	}
	v.getJSON("/api/alarms?from=2000-01-01&to=2000-01-02", &page)
	if len(page.Alarms) != 0 {
		t.Fatalf("date filter: %+v", page.Alarms)
	}
	v.getJSON("/api/alarms?limit=1", &page)
	if len(page.Alarms) != 1 || page.Next == "" {
		t.Fatalf("paging: %+v", page)
	}
	v.getJSON("/api/alarms?limit=1&cursor="+page.Next, &page)
	if len(page.Alarms) != 1 || page.Alarms[0].DeviceID != "panic-gate" {
		t.Fatalf("page 2: %+v", page.Alarms)
	}
	for _, q := range []string{"severity=loud", "state=x", "from=yesterday", "limit=0", "limit=5000", "cursor=zz", "from=2026-01-02&to=2026-01-01"} {
		if resp, b := v.do("GET", "/api/alarms?"+q, nil, nil); resp.StatusCode != 400 {
			t.Errorf("?%s: %d %s", q, resp.StatusCode, b)
		}
	}
	var devs struct {
		Devices []struct{ Device, Status string }
		Counts  map[string]int
	}
	v.getJSON("/api/devices", &devs)
	if len(devs.Devices) != 6 || devs.Counts["unknown"] != 6 {
		t.Fatalf("devices: %+v", devs)
	}
	resp, b := v.do("GET", "/api/patrol/report?date=2026-11-20", nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"date": "2026-11-20"`) {
		t.Fatalf("patrol report: %d %s", resp.StatusCode, b)
	}
	if resp, b := v.do("GET", "/api/patrol/live", nil, nil); resp.StatusCode != 200 || !strings.Contains(string(b), `"runs":[]`) {
		t.Fatalf("patrol live: %d %s", resp.StatusCode, b)
	}

	// Without the optional parts the pages say so (503), and the alarms still work.
	bare := newEnv(t, envOpts{noDeps: true})
	bv := bare.login("wangfang")
	for _, p := range []string{"/api/alarms", "/api/records", "/api/devices", "/api/patrol/report"} {
		if resp, b := bv.do("GET", p, nil, nil); resp.StatusCode != 503 {
			t.Errorf("%s without its part: %d %s", p, resp.StatusCode, b)
		}
	}
	bv.getJSON("/api/alarms/active", &struct{}{})
}

func TestPagesAndHeaders(t *testing.T) {
	e := newEnv(t, envOpts{})
	g := e.login("zhangwei")
	for _, p := range []string{"/", "/alarms/x", "/history", "/devices", "/patrols", "/silences"} {
		resp, b := g.do("GET", p, nil, nil)
		if resp.StatusCode != 200 || !strings.Contains(string(b), "校园安全值班台") || !strings.Contains(string(b), g.csrf) {
			t.Errorf("%s: %d", p, resp.StatusCode)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("%s: CSP %q", p, csp)
		}
		if resp.Header.Get("X-Frame-Options") != "DENY" || resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: headers %v", p, resp.Header)
		}
	}
	resp, b := g.do("GET", "/?lang=en", nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(string(b), "Campus safety duty console") || !strings.Contains(string(b), `lang="en"`) {
		t.Fatalf("English: %d", resp.StatusCode)
	}
	if _, b := g.do("GET", "/history", nil, nil); !strings.Contains(string(b), "History") {
		t.Fatal("the language cookie is not kept")
	}
	// A display name is data, not markup.
	if strings.Contains(string(b), "<script>alert") {
		t.Fatal("unescaped")
	}
	for _, p := range []string{"/static/app.js", "/static/app.css", "/static/i18n.json"} {
		if resp, _ := e.client().do("GET", p, nil, nil); resp.StatusCode != 200 {
			t.Errorf("%s: %d", p, resp.StatusCode)
		}
	}
	if resp, _ := e.client().do("GET", "/static/", nil, nil); resp.StatusCode != 404 {
		t.Errorf("static listing: %d", resp.StatusCode)
	}
	if resp, _ := g.do("GET", "/nope", nil, nil); resp.StatusCode != 404 {
		t.Errorf("unknown page: %d", resp.StatusCode)
	}
}
