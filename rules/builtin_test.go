package rules

import (
	"strings"
	"testing"
)

// The built-in panic rule is in every rule set; no rule file may reuse its name or
// raise a second alarm for a panic press; a count rule over presses adds to it.
func TestBuiltinPanicCannotBeShadowed(t *testing.T) {
	dir := demoDir(t)
	tests := []struct {
		name, yml, want string
	}{
		{"a second alarm per press", `
rules:
  - name: my-panic
    severity: critical
    select: {kinds: [panic]}
    when: type == "pressed"
    resolve: type == "released"`, "already raises the one critical, latched alarm"},
		{"a built-in's name", `
rules:
  - name: builtin-panic
    severity: minor
    select: {kinds: [antifall]}
    when: type == "active"
    resolve: type == "inactive"`, "already defined at the built-in rules"},
		{"a count rule adds to it", `
rules:
  - name: repeated
    severity: critical
    select: {kinds: [panic]}
    when: type == "pressed"
    count: {threshold: 3, window: 2m}`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rs, err := Parse([]Source{{Name: "test.yaml", Data: []byte(tc.yml)}}, Options{Directory: dir})
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if !slicesHas(rs.Rules, BuiltinPanic) {
					t.Fatalf("the built-in panic rule is missing from %d rules", len(rs.Rules))
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func slicesHas(rs []*Rule, name string) bool {
	for _, r := range rs {
		if r.Name == name && r.Builtin {
			return true
		}
	}
	return false
}
