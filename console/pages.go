package console

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strings"

	"github.com/campusguard/campusguard/console/auth"
)

// webFS holds the page templates and the static assets (CSS, JS, the i18n dictionary).
//
//go:embed web
var webFS embed.FS

func mustGlob() []string {
	var out []string
	_ = fs.WalkDir(webFS, "web", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	sort.Strings(out)
	return out
}

// messages is the i18n dictionary, language → key → text: one file shared by the Go
// templates and the browser script.
var messages = func() map[string]map[string]string {
	b, err := webFS.ReadFile("web/static/i18n.json")
	if err != nil {
		panic(err) // embedded at build time: a missing file is a build mistake
	}
	var m map[string]map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		panic(fmt.Sprintf("console: web/static/i18n.json: %v", err))
	}
	return m
}()

var templates = template.Must(template.New("").Funcs(template.FuncMap{
	"t": func(lang, key string) string { return tr(lang, key) },
}).ParseFS(webFS, "web/*.html"))

// tr translates key into lang (the key itself when missing).
func tr(lang, key string) string {
	if s, ok := messages[lang][key]; ok {
		return s
	}
	if s, ok := messages[DefaultLanguage][key]; ok {
		return s
	}
	return key
}

// language resolves the page language: ?lang= (remembered in a cookie), the cookie,
// then the configured default.
func (c *Console) language(w http.ResponseWriter, r *http.Request) string {
	if l := r.URL.Query().Get("lang"); validLang(l) {
		http.SetCookie(w, &http.Cookie{Name: langCookie, Value: l, Path: "/", MaxAge: 365 * 24 * 3600,
			SameSite: http.SameSiteStrictMode, Secure: c.secure(r), HttpOnly: true})
		return l
	}
	return c.langOf(r)
}

func (c *Console) langOf(r *http.Request) string {
	if l := r.URL.Query().Get("lang"); validLang(l) {
		return l
	}
	if ck, err := r.Cookie(langCookie); err == nil && validLang(ck.Value) {
		return ck.Value
	}
	return c.lang.Load().(string)
}

func (c *Console) render(w http.ResponseWriter, status int, name, lang string, data map[string]any) {
	var buf bytes.Buffer
	if err := templates.ExecuteTemplate(&buf, name, data); err != nil {
		c.log.Error("console: template", "name", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Language", map[string]string{"zh": "zh-CN", "en": "en"}[lang])
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// pageNames maps a path to the page the script renders (and the nav item it marks).
func pageName(p string) string {
	switch {
	case p == "/":
		return "alarms"
	case strings.HasPrefix(p, "/alarms/"):
		return "detail"
	}
	return strings.TrimPrefix(p, "/")
}

// page serves the shell of every page: the script renders the content from the API.
func (c *Console) page(w http.ResponseWriter, r *http.Request) {
	s, ok := c.session(r)
	if !ok {
		next := r.URL.Path
		if r.URL.RawQuery != "" {
			next += "?" + r.URL.RawQuery
		}
		http.Redirect(w, r, "/login?next="+url.QueryEscape(next), http.StatusSeeOther)
		return
	}
	lang := c.language(w, r)
	name := pageName(r.URL.Path)
	tz := c.loc.String()
	if tz == "Local" {
		tz = ""
	}
	boot := map[string]any{
		"lang": lang, "page": name, "alarm": r.PathValue("id"), "user": s.User, "display_name": s.DisplayName,
		"role": s.Role, "csrf": s.CSRF, "tz": tz, "site": c.site,
		"can_ack": s.Role.Allows(auth.Guard), "can_silence": s.Role.Allows(auth.Operator),
		"messages": messages[lang], "zones": c.zoneNames(), "people": c.people(), "kiosk": s.Kiosk != "",
		"police_sink": c.policeSink, "patterns": notePatterns,
	}
	data := map[string]any{
		"Lang": lang, "Page": name, "User": s.DisplayName, "Role": string(s.Role), "CSRF": s.CSRF,
		"Site": c.site, "Boot": boot, "Version": assetVersion, "Path": r.URL.Path, "Kiosk": s.Kiosk != "",
		"Nav": []string{"alarms", "plan", "history", "devices", "patrols", "silences", "link", "report"},
	}
	c.render(w, http.StatusOK, "app.html", lang, data)
}

// zoneNames maps zone ids to their names for display.
func (c *Console) zoneNames() map[string]string {
	out := map[string]string{}
	if st := c.siteModel(); st != nil {
		for _, z := range st.Zones {
			if z.Name != "" {
				out[z.ID] = z.Name
			}
		}
	}
	return out
}

// static serves the embedded assets. URLs carry ?v=<asset hash>, so they may be cached.
func (c *Console) static() http.Handler {
	sub, _ := fs.Sub(webFS, "web/static")
	files := http.FileServerFS(sub)
	return http.StripPrefix("/static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "" || strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r)
			return
		}
		if r.URL.Query().Get("v") == assetVersion {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "no-cache")
		}
		if path.Ext(r.URL.Path) == ".json" {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
		}
		files.ServeHTTP(w, r)
	}))
}
