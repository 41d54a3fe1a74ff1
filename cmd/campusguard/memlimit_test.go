package main

import (
	"context"
	"math"
	"runtime/debug"
	"testing"
)

func TestMemoryLimitFor(t *testing.T) {
	const mib = 1 << 20
	tests := []struct {
		name       string
		base, live int64
		want       int64
	}{
		{"small live heap: the default", 24 * mib, 9 * mib, 24 * mib},
		{"half the default", 24 * mib, 12 * mib, 24 * mib},
		{"a bigger site: twice the live heap", 24 * mib, 40 * mib, 80 * mib},
		{"nothing live yet", 24 * mib, 0, 24 * mib},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := memoryLimitFor(tt.base, tt.live); got != tt.want {
				t.Errorf("memoryLimitFor(%d, %d) = %d, want %d", tt.base, tt.live, got, tt.want)
			}
		})
	}
}

// GOMEMLIMIT in the environment wins; without it the default applies.
func TestSetMemoryLimit(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() {
		cancel()
		debug.SetMemoryLimit(before)
	})
	debug.SetMemoryLimit(math.MaxInt64)
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == "GOMEMLIMIT" {
				return v
			}
			return ""
		}
	}
	if setMemoryLimit(ctx, env("64MiB"), defaultMemoryLimit) || debug.SetMemoryLimit(-1) != math.MaxInt64 {
		t.Errorf("with GOMEMLIMIT set the limit was changed to %d", debug.SetMemoryLimit(-1))
	}
	if !setMemoryLimit(ctx, env(""), defaultMemoryLimit) {
		t.Fatal("no limit set without GOMEMLIMIT")
	}
	if got := debug.SetMemoryLimit(-1); got < defaultMemoryLimit {
		t.Errorf("limit %d, want at least %d", got, defaultMemoryLimit)
	}
}
