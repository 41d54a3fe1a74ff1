package console_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// FuzzAPIQuery: any query string of the history and record endpoints gives 200 or 400,
// never a panic or a 500.
func FuzzAPIQuery(f *testing.F) {
	for _, s := range []string{"", "severity=critical&limit=10", "from=2026-11-20&to=2026-11-21", "cursor=00ff",
		"state=resolved&zone=gate&device=x", "from=2026-11-20T08:00:00%2B08:00", "limit=-1", "cursor=%00", "to=9999-99-99"} {
		f.Add(s)
	}
	env := fuzzEnv(f)
	f.Fuzz(func(t *testing.T, q string) {
		for _, p := range []string{"/api/alarms?", "/api/records?"} {
			req := httptest.NewRequest("GET", "/", nil)
			req.URL.Path = strings.TrimSuffix(p, "?")
			req.URL.RawQuery = q
			req.AddCookie(env.cookie)
			w := httptest.NewRecorder()
			env.e.c.Handler().ServeHTTP(w, req)
			if w.Code != http.StatusOK && w.Code != http.StatusBadRequest {
				t.Fatalf("%s%s: %d %s", p, q, w.Code, w.Body)
			}
		}
	})
}

// FuzzSilenceBody: any body of POST /api/silences gives 201 or 400.
func FuzzSilenceBody(f *testing.F) {
	for _, s := range []string{`{"matchers":{"device":"kitchen-cam-1"},"reason":"维修","duration":"1h"}`, `{}`, ``, `[]`, `null`,
		`{"matchers":{"zone":"kitchen"},"reason":"x","end":"2099-01-01T00:00:00Z"}`, `{"matchers":{"a":"b"},"reason":"x","duration":"1h","end":"2099-01-01T00:00:00Z"}`} {
		f.Add(s)
	}
	env := fuzzEnv(f)
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest("POST", "/api/silences", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-CSRF-Token", env.csrf)
		req.AddCookie(env.cookie)
		w := httptest.NewRecorder()
		env.e.c.Handler().ServeHTTP(w, req)
		if w.Code != http.StatusCreated && w.Code != http.StatusBadRequest {
			t.Fatalf("%q: %d %s", body, w.Code, w.Body)
		}
	})
}

// FuzzLoginNext: the login form's next never leaves the console.
func FuzzLoginNext(f *testing.F) {
	for _, s := range []string{"/", "/devices", "//evil.example", "/\\evil.example", "https://evil.example/", "/api/session", "javascript:alert(1)", "/%2F%2Fevil"} {
		f.Add(s)
	}
	env := fuzzEnv(f)
	f.Fuzz(func(t *testing.T, next string) {
		req := httptest.NewRequest("GET", "/login", nil)
		req.URL.RawQuery = "next=" + url.QueryEscape(next)
		req.AddCookie(env.cookie)
		w := httptest.NewRecorder()
		env.e.c.Handler().ServeHTTP(w, req)
		loc := w.Header().Get("Location")
		if w.Code != http.StatusSeeOther || !strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") || strings.HasPrefix(loc, "/\\") {
			t.Fatalf("next %q: %d %q", next, w.Code, loc)
		}
	})
}

// fuzzing holds one console for all the inputs of a fuzz target.
type fuzzing struct {
	e      *env
	cookie *http.Cookie
	csrf   string
}

func fuzzEnv(f *testing.F) *fuzzing {
	e := newEnv(f, envOpts{})
	e.press()
	c := e.login("admin")
	u, _ := url.Parse(e.srv.URL)
	var ck *http.Cookie
	for _, x := range c.hc.Jar.Cookies(u) {
		if x.Name == "cg_session" {
			ck = x
		}
	}
	if ck == nil {
		f.Fatal("no session cookie")
	}
	return &fuzzing{e: e, cookie: ck, csrf: c.csrf}
}
