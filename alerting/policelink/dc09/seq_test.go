package dc09

import (
	"sync"
	"testing"
)

func TestNextSeq(t *testing.T) {
	for _, tt := range [][2]int{{0, 1}, {1, 2}, {9998, 9999}, {9999, 1}, {-5, 1}, {12345, 1}} {
		if got := NextSeq(tt[0]); got != tt[1] {
			t.Errorf("NextSeq(%d) = %d, want %d", tt[0], got, tt[1])
		}
	}
}

func TestSequenceWraps(t *testing.T) {
	var s Sequence
	if got := s.Next(); got != 1 {
		t.Fatalf("first Next = %d, want 1", got)
	}
	s.Reset(9998)
	for _, want := range []int{9999, 1, 2} {
		if got := s.Next(); got != want {
			t.Fatalf("Next = %d, want %d", got, want)
		}
	}
	if s.Last() != 2 {
		t.Fatalf("Last = %d", s.Last())
	}
	s.Reset(-1)
	if got := s.Next(); got != 1 {
		t.Fatalf("Next after bad Reset = %d", got)
	}
}

func TestSequenceConcurrent(t *testing.T) {
	var s Sequence
	s.Reset(9000)
	const workers, each = 8, 250 // 2000 numbers: wraps once past 9999
	var mu sync.Mutex
	seen := map[int]int{}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				n := s.Next()
				mu.Lock()
				seen[n]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != workers*each {
		t.Fatalf("%d distinct numbers, want %d", len(seen), workers*each)
	}
	for n := range seen {
		if n < MinSeq || n > MaxSeq {
			t.Fatalf("number %d out of range", n)
		}
	}
}
