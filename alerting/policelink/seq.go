package policelink

import (
	"sync"
	"time"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/alerting/policelink/dc09"
)

// seqBlockSize is how many sequence numbers one durable write reserves. A crash
// skips at most this many minus one; the counter wraps every 9,999 numbers.
const seqBlockSize = 64

// seqFlushAfter is how long the state written after a report (the notification id →
// number memory) may wait for another commit to ride on before it is written on its
// own; the journal's delivery updates wait as long.
const seqFlushAfter = 20 * time.Millisecond

// seqBlock is the arithmetic of sequence numbers reserved durably in blocks: the
// Store holds a bound, the highest number that may have been issued; numbers up to
// it are handed out from memory, and the next number past it first writes a new
// bound. A restart after a crash starts after the bound, skipping the unused rest of
// the block; a clean stop writes the last number issued as the bound, so a clean
// restart continues without a gap. Numbers are skipped, never repeated.
type seqBlock struct {
	last int // the number issued last (0: none yet)
	left int // numbers after last that are reserved and not yet issued
}

// seqAdvance returns the number k places after n in 0001..9999, wrapping to 0001;
// n outside 0001..9999 counts as 0000 (none yet).
func seqAdvance(n, k int) int {
	if n < dc09.MinSeq || n > dc09.MaxSeq {
		n = dc09.NullSeq
	}
	if k <= 0 {
		return n
	}
	return (n-1+k)%dc09.MaxSeq + 1
}

// restore starts the counter after a stored bound: every number up to it may have
// been used.
func (b *seqBlock) restore(bound int) {
	b.last, b.left = seqAdvance(bound, 0), 0
}

// take issues the next number. When the reserved block is used up it reserves a new
// one of size numbers and reports reserve: the caller must make bound durable before
// the number is used.
func (b *seqBlock) take(size int) (n, bound int, reserve bool) {
	if b.left <= 0 {
		b.left, reserve = max(size, 1), true
	}
	b.last = dc09.NextSeq(b.last)
	b.left--
	return b.last, b.bound(), reserve
}

// bound is the highest number that may have been issued: what the Store must hold.
func (b *seqBlock) bound() int { return seqAdvance(b.last, b.left) }

// release gives back the unused rest of the block (a clean stop, or a reservation
// that could not be written): bound becomes last.
func (b *seqBlock) release() { b.left = 0 }

// seqState is the sink's counter and the bookkeeping of its writes.
type seqState struct {
	// mu serialises the takers of numbers across a reservation's write, so that no
	// number of a new block is used before the block is durable. Taken before Sink.mu.
	mu    sync.Mutex
	block seqBlock // guarded by Sink.mu

	fmu   sync.Mutex     // guards waits and timer
	waits []func() error // queued state writes not yet known to be durable
	timer *time.Timer
}

// queuer is a Store that can queue a write for its next group commit without
// waiting for it; the journal is one.
type queuer interface {
	Enqueue(c alerting.Commit) func() error
}

// takeSeq returns a new sequence number, remembered for notification id unless id
// is empty (then it is a message the link makes on its own). The number is covered
// by the bound in the Store before it is returned; the id → number memory is queued
// for the Store's next commit (saveSoon), not waited for.
func (s *Sink) takeSeq(id string) int {
	s.seq.mu.Lock()
	defer s.seq.mu.Unlock()
	s.mu.Lock()
	if n, ok := s.ids[id]; ok && id != "" {
		s.mu.Unlock()
		return n
	}
	n, _, reserve := s.seq.block.take(seqBlockSize)
	if id != "" {
		s.remember(id, n)
	}
	s.mu.Unlock()
	switch {
	case reserve:
		if err := s.save(); err != nil {
			// The number is sent all the same (an alarm is not held back), but the
			// next one tries to reserve again.
			s.mu.Lock()
			s.seq.block.release()
			s.mu.Unlock()
		}
	case id != "":
		s.saveSoon()
	}
	return n
}

// saveSoon queues the state for the Store's next commit (an alarm's, usually) and
// makes sure it is written within seqFlushAfter. A Store that cannot queue is
// written at once.
func (s *Sink) saveSoon() {
	q, ok := s.store.(queuer)
	if !ok {
		_ = s.save()
		return
	}
	s.saveMu.Lock()
	b, err := s.snapshot()
	if err != nil {
		s.saveMu.Unlock()
		s.log.Error("policelink: saving sequence state", "err", err)
		return
	}
	wait := q.Enqueue(alerting.Commit{State: map[string][]byte{s.stateKey(): b}})
	s.saveMu.Unlock()
	s.seq.fmu.Lock()
	s.seq.waits = append(s.seq.waits, wait)
	if s.seq.timer == nil {
		s.seq.timer = time.AfterFunc(seqFlushAfter, s.flushSaves)
	}
	s.seq.fmu.Unlock()
}

// flushSaves waits until the queued state writes are durable (writing them if no
// other commit took them).
func (s *Sink) flushSaves() {
	s.seq.fmu.Lock()
	waits := s.seq.waits
	s.seq.waits = nil
	if s.seq.timer != nil {
		s.seq.timer.Stop()
		s.seq.timer = nil
	}
	s.seq.fmu.Unlock()
	for _, w := range waits {
		if err := w(); err != nil {
			s.log.Error("policelink: saving sequence state", "err", err)
		}
	}
}

// release writes the queued state and gives back the unused rest of the reserved
// block, writing the last number issued as the bound: a clean restart continues
// without a gap. Numbers taken afterwards reserve a new block.
func (s *Sink) release() {
	if s.store == nil {
		return
	}
	s.seq.mu.Lock()
	defer s.seq.mu.Unlock()
	s.flushSaves()
	s.mu.Lock()
	reserved := s.seq.block.left > 0
	s.seq.block.release()
	s.mu.Unlock()
	if reserved {
		_ = s.save()
	}
}
