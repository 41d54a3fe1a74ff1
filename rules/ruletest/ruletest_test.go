package ruletest

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/campusguard/campusguard/rules"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestDemoRules runs the shipped example rule tests: every example rule has its test.
func TestDemoRules(t *testing.T) {
	files, err := filepath.Glob("../../configs/demo/rules/tests/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no demo rule tests: %v", err)
	}
	var tests []string
	for _, f := range files {
		if filepath.Base(f) != "site.yaml" {
			tests = append(tests, f)
		}
	}
	var out bytes.Buffer
	failed, err := Run(&out, tests, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if failed > 0 {
		t.Errorf("%d demo rule tests failed:\n%s", failed, out.String())
	}
	t.Logf("\n%s", out.String())
}

// TestReport: a failing test shows what is missing, what is unexpected and the
// closest actual change (golden file testdata/failing.golden).
func TestReport(t *testing.T) {
	var out bytes.Buffer
	failed, err := Run(&out, []string{"testdata/failing.yaml", "testdata/nope.yaml"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if failed != 2 {
		t.Errorf("failed = %d, want 2", failed)
	}
	golden := "testdata/failing.golden"
	if *update {
		_ = os.WriteFile(golden, out.Bytes(), 0o644)
	}
	want, _ := os.ReadFile(golden)
	if out.String() != string(want) {
		t.Errorf("report differs from %s (-update):\n%s", golden, out.String())
	}
}

// TestEveryDemoRuleTested: each example rule is expected to fire in some test.
func TestEveryDemoRuleTested(t *testing.T) {
	ruleFiles, _ := filepath.Glob("../../configs/demo/rules/*.yaml")
	rs, err := rules.Load(ruleFiles, rules.Options{})
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("../../configs/demo/rules/tests/*.yaml")
	tested := map[string]bool{}
	for _, f := range files {
		data, _ := os.ReadFile(f)
		var tf File
		if yaml.Unmarshal(data, &tf) != nil {
			continue
		}
		for _, tc := range tf.Tests {
			for _, x := range tc.Expect {
				if x.State == "firing" {
					tested[x.Rule] = true
				}
			}
		}
	}
	for _, r := range rs.Rules {
		if !tested[r.Name] {
			t.Errorf("example rule %s has no test that expects it to fire", r.Name)
		}
	}
}
