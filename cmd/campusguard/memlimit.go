package main

import (
	"context"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
)

// defaultMemoryLimit is the Go runtime's soft memory limit for `campusguard run`
// when GOMEMLIMIT is not set. The garbage collector then collects before the heap
// doubles its live size (GOGC=100) whenever that would take the runtime's memory past
// it. See docs/performance.md, "RSS".
const defaultMemoryLimit = 24 << 20

// memoryLimitFor is the limit in force after a garbage collection that left live
// bytes of live heap: base, or twice the live heap once that is more, so that a site
// whose live heap outgrows half of base collects at about GOGC's pace instead of
// continuously.
func memoryLimitFor(base, live int64) int64 { return max(base, 2*live) }

// gcSentinel is allocated to be collected: its cleanup runs once per garbage
// collection. The pointer keeps it out of the tiny allocator, whose blocks are
// freed together and late.
type gcSentinel struct {
	_ *byte
	_ [8]byte
}

// setMemoryLimit sets the daemon's soft memory limit unless GOMEMLIMIT is set (the
// runtime has then applied it): base, raised after every garbage collection to
// memoryLimitFor the live heap, until ctx ends. It reports whether it set one.
func setMemoryLimit(ctx context.Context, getenv func(string) string, base int64) bool {
	if getenv("GOMEMLIMIT") != "" {
		return false
	}
	debug.SetMemoryLimit(base)
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	var arm func()
	arm = func() {
		runtime.AddCleanup(new(gcSentinel), func(struct{}) {
			if ctx.Err() != nil {
				return
			}
			metrics.Read(sample)
			if sample[0].Value.Kind() == metrics.KindUint64 {
				debug.SetMemoryLimit(memoryLimitFor(base, int64(sample[0].Value.Uint64())))
			}
			arm()
		}, struct{}{})
	}
	arm()
	return true
}
