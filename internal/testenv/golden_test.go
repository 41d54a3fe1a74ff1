package testenv

import (
	"os"
	"path/filepath"
	"testing"
)

func TestGoldenWritesThenCompares(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "x.golden")
	if got := string(Golden(t, path, []byte("one\n"), true)); got != "one\n" {
		t.Fatalf("written %q", got)
	}
	b, err := os.ReadFile(path)
	if err != nil || string(b) != "one\n" {
		t.Fatalf("file %q %v", b, err)
	}
	if got := string(Golden(t, path, []byte("one\n"), false)); got != "one\n" {
		t.Fatalf("read %q", got)
	}
}

// errTB records Errorf instead of failing the test.
type errTB struct {
	testing.TB
	errs []string
}

func (e *errTB) Errorf(format string, args ...any) { e.errs = append(e.errs, format) }

func TestGoldenReportsADifference(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.golden")
	Golden(t, path, []byte("one\n"), true)
	rec := &errTB{TB: t}
	if got := string(Golden(rec, path, []byte("two\n"), false)); got != "one\n" || len(rec.errs) != 1 {
		t.Fatalf("returned %q, reported %q", got, rec.errs)
	}
}
