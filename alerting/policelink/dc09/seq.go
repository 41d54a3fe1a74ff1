package dc09

import "sync/atomic"

// Sequence number limits. Messages use MinSeq..MaxSeq and wrap to MinSeq;
// NULL supervision messages conventionally use NullSeq. A retry reuses the
// sequence number of the first attempt.
const (
	NullSeq = 0
	MinSeq  = 1
	MaxSeq  = 9999
)

// NextSeq returns the sequence number after n: n+1, or MinSeq after MaxSeq
// (and for any n outside MinSeq..MaxSeq-1).
func NextSeq(n int) int {
	if n < NullSeq || n >= MaxSeq {
		return MinSeq
	}
	return n + 1
}

// Sequence hands out DC-09 sequence numbers 0001..9999, wrapping to 0001.
// The zero value is ready and its first Next returns 0001. It is safe for
// concurrent use.
type Sequence struct {
	last atomic.Int32
}

// Next returns the next sequence number.
func (s *Sequence) Next() int {
	for {
		old := s.last.Load()
		n := int32(NextSeq(int(old)))
		if s.last.CompareAndSwap(old, n) {
			return int(n)
		}
	}
}

// Last returns the number most recently returned by Next (0 if none), e.g. to
// persist it across restarts.
func (s *Sequence) Last() int { return int(s.last.Load()) }

// Reset sets the last issued number, so that Next returns NextSeq(last).
// Values outside 0..MaxSeq are treated as 0.
func (s *Sequence) Reset(last int) {
	if last < NullSeq || last > MaxSeq {
		last = NullSeq
	}
	s.last.Store(int32(last))
}
