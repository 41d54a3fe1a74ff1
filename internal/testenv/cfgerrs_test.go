package testenv

import (
	"testing"

	"github.com/campusguard/campusguard/cfgerr"
)

func TestWantErrors(t *testing.T) {
	var errs cfgerr.List
	errs.Add("a.b", "is required")
	errs.Add("c", "must be positive, got %d", -1)
	WantErrors(t, &errs, []string{"a.b: is required", "c: must be positive"})
}
