package archtest

import (
	"bufio"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/campusguard/campusguard"

// root is the repository's top directory (this package sits two levels below it).
func root(t *testing.T) string {
	t.Helper()
	r, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

var ticked = regexp.MustCompile("`([^`]+)`")

// table is one markdown table of docs/architecture.md: its rows' first cell (package
// patterns) and last cell (import patterns), both as the backticked names they hold.
type row struct {
	line     int
	packages []string
	imports  []string
	raw      string
}

// readTable returns the rows of the table under the heading that starts with heading.
func readTable(t *testing.T, doc, heading string) []row {
	t.Helper()
	f, err := os.Open(doc)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []row
	in := false
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") {
			in = strings.HasPrefix(strings.TrimLeft(line, "# "), heading)
			continue
		}
		if !in || !strings.HasPrefix(line, "|") || strings.HasPrefix(line, "|---") || strings.HasPrefix(line, "| ---") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) < 2 {
			continue
		}
		r := row{line: n, raw: cells[len(cells)-1]}
		for _, m := range ticked.FindAllStringSubmatch(cells[0], -1) {
			r.packages = append(r.packages, m[1])
		}
		for _, m := range ticked.FindAllStringSubmatch(cells[len(cells)-1], -1) {
			r.imports = append(r.imports, m[1])
		}
		if len(r.packages) > 0 {
			rows = append(rows, r)
		}
	}
	if len(rows) == 0 {
		t.Fatalf("%s: no table under a heading %q", doc, heading)
	}
	return rows
}

// match reports whether the module-relative package p matches pattern: the name
// itself, or "x/..." for x and everything below it, "*" for everything.
func match(pattern, p string) bool {
	switch {
	case pattern == "*":
		return true
	case strings.HasSuffix(pattern, "/..."):
		base := strings.TrimSuffix(pattern, "/...")
		return p == base || strings.HasPrefix(p, base+"/")
	default:
		return p == pattern
	}
}

// pkgImports walks the repository and returns, per module-relative package directory,
// the imports of its non-test Go files (build tags ignored: every file counts); a
// directory of tests only is listed with no imports.
func pkgImports(t *testing.T, top string) map[string]map[string]bool {
	t.Helper()
	out := map[string]map[string]bool{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(top, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != top && (strings.HasPrefix(name, ".") || name == "testdata" || name == "vendor") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		rel, _ := filepath.Rel(top, filepath.Dir(path))
		rel = filepath.ToSlash(rel)
		if out[rel] == nil {
			out[rel] = map[string]bool{}
		}
		if strings.HasSuffix(path, "_test.go") {
			return nil // a test-only package is a package; its tests' imports are free
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, im := range f.Imports {
			p, _ := strconv.Unquote(im.Path.Value)
			out[rel][p] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestImportsFollowArchitecture checks every package's project imports against the
// "may import" column of docs/architecture.md, and that every package has a row.
func TestImportsFollowArchitecture(t *testing.T) {
	top := root(t)
	doc := filepath.Join(top, "docs", "architecture.md")
	rows := readTable(t, doc, "Packages and what each may import")
	pkgs := pkgImports(t, top)
	names := make([]string, 0, len(pkgs))
	for p := range pkgs {
		names = append(names, p)
	}
	sort.Strings(names)
	for _, p := range names {
		var mine []row
		for _, r := range rows {
			for _, pat := range r.packages {
				if match(pat, p) {
					mine = append(mine, r)
					break
				}
			}
		}
		if len(mine) == 0 {
			t.Errorf("package %s has no row in docs/architecture.md (Packages and what each may import)", p)
			continue
		}
		r := mine[0]
		for im := range pkgs[p] {
			if !strings.HasPrefix(im, module+"/") {
				continue
			}
			dep := strings.TrimPrefix(im, module+"/")
			if dep == p {
				continue
			}
			ok := false
			for _, pat := range r.imports {
				if match(pat, dep) {
					ok = true
					break
				}
			}
			if !ok {
				t.Errorf("%s imports %s, which its row (docs/architecture.md:%d) does not allow", p, dep, r.line)
			}
		}
	}
	// A row that names a package that does not exist has rotted.
	for _, r := range rows {
		for _, pat := range r.packages {
			found := false
			for _, p := range names {
				if match(pat, p) {
					found = true
					break
				}
			}
			if !found {
				t.Errorf("docs/architecture.md:%d names %s, which is not a package", r.line, pat)
			}
		}
	}
}

// TestForbiddenImports checks the "never imports" table of docs/architecture.md: the
// rules that keep the layers honest (drivers never import alerting or rules, the rule
// engine imports no I/O, alerting's core neither periph nor paho).
func TestForbiddenImports(t *testing.T) {
	top := root(t)
	rows := readTable(t, filepath.Join(top, "docs", "architecture.md"), "Imports that are never allowed")
	pkgs := pkgImports(t, top)
	for _, r := range rows {
		for p, ims := range pkgs {
			applies := false
			for _, pat := range r.packages {
				if match(pat, p) {
					applies = true
				}
			}
			if !applies {
				continue
			}
			for im := range ims {
				dep := strings.TrimPrefix(im, module+"/")
				for _, pat := range r.imports {
					if match(pat, dep) || match(pat, im) {
						t.Errorf("%s imports %s, which docs/architecture.md:%d forbids", p, im, r.line)
					}
				}
			}
		}
	}
}
