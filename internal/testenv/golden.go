package testenv

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// Golden compares got with the golden file at path and returns the file's content.
// With update (the test's -update flag) it first writes got there, making the
// directory. A difference is reported with both texts and the test goes on; a missing
// file fails the test.
func Golden(t testing.TB, path string, got []byte, update bool) []byte {
	t.Helper()
	if update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run the test with its update flag to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("differs from %s (run the test with its update flag if intended):\n got:\n%s\nwant:\n%s", path, got, want)
	}
	return want
}
