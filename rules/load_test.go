package rules

import (
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/campusguard/campusguard/site"

	"github.com/campusguard/campusguard/cfgerr"
	"github.com/campusguard/campusguard/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestLoadErrors checks that every mistake of a bad rule file is reported, each with
// its file and line (golden file testdata/bad.golden).
func TestLoadErrors(t *testing.T) {
	_, err := Load([]string{"testdata/bad.yaml"}, Options{Directory: demoDir(t)})
	if err == nil {
		t.Fatal("bad.yaml loaded")
	}
	l := cfgerr.As(err)
	for _, e := range l.Errs {
		if e.File != "testdata/bad.yaml" || e.Line == 0 {
			t.Errorf("not located: %v", e)
		}
	}
	got := err.Error() + "\n"
	golden := filepath.Join("testdata", "bad.golden")
	testenv.Golden(t, golden, []byte(got), *update)
}

func TestLoadCases(t *testing.T) {
	dir := demoDir(t)
	tests := []struct {
		name, yml, want string
	}{
		{"empty file", "", ""},
		{"ok", "rules:\n  - {name: a, severity: info, select: {}, when: 'true', resolve_after: 1m}\n", ""},
		{"yaml syntax", "rules:\n  - name: [\n", "test.yaml:2:"},
		{"wrong type", "rules:\n  - name: a\n    severity: info\n    when: 'true'\n    resolve_after: soon\n", "test.yaml:5: cannot unmarshal"},
		{"two forms", "rules:\n  - {name: a, severity: info, when: 'true', for: 1s, count: {threshold: 2, window: 1m}, resolve: 'true'}\n", "set at most one of for, count and absence"},
		{"selects nothing", "rules:\n  - {name: a, severity: info, select: {kinds: [siren]}, when: 'true', resolve_after: 1m}\n", "test.yaml:2: rules[0].select: selects no device"},
		{"unknown label value", "rules:\n  - {name: a, severity: info, select: {labels: {floor: '7'}}, when: 'true', resolve_after: 1m}\n", `no device has floor="7"`},
		{"renotify too short", "rules:\n  - {name: a, severity: info, when: 'true', resolve_after: 1m, renotify: 10s}\n", "shorter than the 1m minimum"},
		{"not bool", "rules:\n  - {name: a, severity: info, when: 'fields', resolve_after: 1m}\n", "rules[0].when: expected bool"},
		{"deadline from", "rules:\n  - {name: a, severity: info, absence: {period: 5m, from: '18:00'}}\n", "only applies with a deadline"},
		{"duplicate key", "rules:\n  - name: a\n    name: b\n", "given twice"},
	}
	for _, tc := range tests {
		_, err := Parse([]Source{{Name: "test.yaml", Data: []byte(tc.yml)}}, Options{Directory: dir, NoBuiltins: true})
		got := ""
		if err != nil {
			got = err.Error()
		}
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestLoadDemoRules(t *testing.T) {
	rs, err := loadDir(t, "../configs/demo/rules", Options{Directory: demoDir(t)})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs.Rules) < 15 {
		t.Errorf("%d demo rules", len(rs.Rules))
	}
	for _, r := range rs.Rules {
		if r.File == "" || r.Line == 0 || len(r.Hash) != 16 {
			t.Errorf("%s: %s:%d %q", r.Name, r.File, r.Line, r.Hash)
		}
	}
}

func TestTypeInference(t *testing.T) {
	tests := []struct {
		src  string
		want string // sorted types, "*" = any
	}{
		{`type == "pressed"`, "pressed"},
		{`"pressed" == type`, "pressed"},
		{`type in ["a", "b"] && fields.x == 1`, "a,b"},
		{`type == "a" || type == "b"`, "a,b"},
		{`type == "a" || fields.x == 1`, "*"},
		{`fields.x == 1 && type == "a"`, "a"},
		{`type != "a"`, "*"},
		{`type in ["a", "b"] && type == "b"`, "b"},
	}
	for _, tc := range tests {
		m, ok := inferTypes(tc.src)
		got := "*"
		if ok {
			var ts []string
			for k := range m {
				ts = append(ts, k)
			}
			sortStrings(ts)
			got = strings.Join(ts, ",")
		}
		if got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.src, got, tc.want)
		}
	}
}

func sortStrings(s []string) {
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
}

// FuzzLoad feeds arbitrary bytes to the rule loader: it must never panic or hang,
// and a set it accepts must run.
func FuzzLoad(f *testing.F) {
	for _, name := range []string{"testdata/bad.yaml", "../configs/demo/rules/kitchen.yaml", "../configs/demo/rules/patrol.yaml", "../configs/demo/rules/schedules.yaml"} {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("rules:\n  - {name: a, severity: info, when: 'true', resolve_after: 1m}\n"))
	f.Add([]byte("a: &a [*a, *a]\n"))
	dir := demoDir(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		done := make(chan struct{})
		go func() { defer close(done); fuzzOne(t, data, dir) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("hang on %q", data)
		}
	})
}

func fuzzOne(t *testing.T, data []byte, dir *site.Directory) {
	{
		rs, err := Parse([]Source{{Name: "fuzz.yaml", Data: data}}, Options{Directory: dir})
		if err != nil {
			if l := cfgerr.As(err); l.Len() == 0 {
				t.Error("error without problems")
			}
			return
		}
		e := New(rs, dir, shanghai)
		e.Tick(start)
		e.Process(start, demoEvent("kitchen-cam-1", "detection"))
		e.Tick(start.Add(24 * 3600e9))
	}
}

// loadDir loads the rule files directly in dir (*.yaml, *.yml; not tests/), in name
// order.
func loadDir(t *testing.T, dir string, opts Options) (*RuleSet, error) {
	t.Helper()
	var files []string
	for _, pat := range []string{"*.yaml", "*.yml"} {
		m, err := filepath.Glob(filepath.Join(dir, pat))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	sort.Strings(files)
	return Load(files, opts)
}
