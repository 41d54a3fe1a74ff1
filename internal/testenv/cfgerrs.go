package testenv

import (
	"strings"
	"testing"

	"github.com/campusguard/campusguard/cfgerr"
)

// WantErrors fails t unless errs holds exactly len(want) problems, each, written
// "key: message", starting with the want of its place.
func WantErrors(t testing.TB, errs *cfgerr.List, want []string) {
	t.Helper()
	var got []string
	for _, e := range errs.Errs {
		got = append(got, e.Key+": "+e.Msg)
	}
	if len(got) != len(want) {
		t.Fatalf("errors %q, want %q", got, want)
	}
	for i := range got {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Fatalf("error %d %q, want %q...", i, got[i], want[i])
		}
	}
}
