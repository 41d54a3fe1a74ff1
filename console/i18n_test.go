package console_test

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"testing"
)

// TestI18n: both languages have the same keys, and every key the templates and the
// script name literally exists.
func TestI18n(t *testing.T) {
	b, err := os.ReadFile("web/static/i18n.json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for k := range m["zh"] {
		if _, ok := m["en"][k]; !ok {
			t.Errorf("%q has no English", k)
		}
	}
	for k := range m["en"] {
		if _, ok := m["zh"][k]; !ok {
			t.Errorf("%q has no Chinese", k)
		}
	}
	var used []string
	for file, re := range map[string]*regexp.Regexp{
		"web/app.html":        regexp.MustCompile(`t \.Lang "([a-z_.]+)"`),
		"web/login.html":      regexp.MustCompile(`t \.Lang "([a-z_.]+)"`),
		"web/static/app.js":   regexp.MustCompile(`\bt\('([a-z_]+\.[a-z_.]+)'\)`),
		"web/static/app.js#2": regexp.MustCompile(`'((?:alarm|history|patrols|devices|silences|zones|field|sev|state|act|plan|report|takeover|conn|police|sink|deliv|sessions|dialog|nav|note|unit|login)\.[a-z_]+)'`),
		"web/static/app.js#3": regexp.MustCompile(`\btf\('([a-z_]+\.[a-z_.]+)'`),
		"notes.go":            regexp.MustCompile(`"(note\.[a-z_]+|unit\.[a-z_]+)"`),
	} {
		src, err := os.ReadFile(regexp.MustCompile(`#.*`).ReplaceAllString(file, ""))
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range re.FindAllStringSubmatch(string(src), -1) {
			used = append(used, x[1])
		}
	}
	slices.Sort(used)
	used = slices.Compact(used)
	// Every alarm class and event type the page names by its value.
	for _, p := range []string{"class.panic", "class.intrusion", "class.tamper", "class.fault", "class.offline", "class.link", "class.patrol",
		"class.kitchen", "class.other", "todo.panic", "todo.other", "event.pressed", "event.inactive", "event.online", "tr.fired", "tr.refired",
		"tr.acknowledged", "tr.escalated", "tr.resolved", "tr.cleared", "deliv.pending", "deliv.delivered", "deliv.rejected", "action.occurrence"} {
		used = append(used, p)
	}
	for _, k := range slices.Compact(used) {
		if _, ok := m["zh"][k]; !ok {
			t.Errorf("key %q is used but not defined", k)
		}
	}
	if len(used) < 50 {
		t.Fatalf("only %d keys found: the patterns are broken", len(used))
	}
}
