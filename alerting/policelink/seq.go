package policelink

import (
	"sync"
	"time"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/alerting/policelink/dc09"
)

// seqBlockSize is how many sequence numbers one durable write reserves.
const seqBlockSize = 64

// seqTopUp is how few reserved numbers may be left before the next block is
// reserved ahead, with the Store's next commit, so that a report seldom waits for a
// reservation. A crash skips at most seqBlockSize+seqTopUp-1 numbers.
const seqTopUp = seqBlockSize / 4

// seqFlushAfter is how long the state written after a report (the notification id →
// number memory, a block reserved ahead) may wait for another commit to ride on
// before it is written on its own; the journal's delivery updates wait as long.
const seqFlushAfter = 20 * time.Millisecond

// seqBlock is the arithmetic of sequence numbers reserved durably in blocks: the
// Store holds a bound, the highest number that may have been issued; numbers up to
// it are handed out from memory, and a number past it first writes a new bound. A
// restart after a crash starts after the bound, skipping the unused rest of the
// block; a clean stop writes the last number issued as the bound, so a clean restart
// continues without a gap. Numbers are skipped, never repeated.
type seqBlock struct {
	last  int // the number issued last (0: none yet)
	left  int // numbers after last that are reserved durably and not yet issued
	ahead int // numbers after those, reserved by a write not yet known to be durable
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
	*b = seqBlock{last: seqAdvance(bound, 0)}
}

// take issues the next number. When no durably reserved number is left it reserves
// a new block of size numbers (dropping any reserved ahead) and reports reserve: the
// caller must make bound durable before the number is used.
func (b *seqBlock) take(size int) (n, bound int, reserve bool) {
	if b.left <= 0 {
		b.left, b.ahead, reserve = max(size, 1), 0, true
	}
	b.last = dc09.NextSeq(b.last)
	b.left--
	return b.last, b.bound(), reserve
}

// reserveAhead reserves the next block of size numbers when at most topUp durably
// reserved numbers are left and none are reserved ahead yet; it reports whether it
// did: the caller writes the new bound without waiting and confirms it once durable.
func (b *seqBlock) reserveAhead(size, topUp int) bool {
	if b.ahead > 0 || b.left > topUp {
		return false
	}
	b.ahead = max(size, 1)
	return true
}

// confirm takes the numbers reserved ahead as durable: their write is done.
func (b *seqBlock) confirm() { b.left, b.ahead = b.left+b.ahead, 0 }

// bound is the highest number that may have been issued: what the Store must hold.
func (b *seqBlock) bound() int { return seqAdvance(b.last, b.left+b.ahead) }

// release gives back the unused rest of the block and any numbers reserved ahead (a
// clean stop, or a reservation that could not be written): bound becomes last.
func (b *seqBlock) release() { b.left, b.ahead = 0, 0 }

// seqState is the sink's counter and the bookkeeping of its writes.
type seqState struct {
	// mu serialises the takers of numbers across a reservation's write, so that no
	// number of a new block is used before the block is durable. Taken before Sink.mu.
	mu    sync.Mutex
	block seqBlock     // guarded by Sink.mu
	ahead func() error // waits for the write of the block reserved ahead; guarded by mu

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
// by the bound in the Store before it is returned. The id → number memory, and the
// next block once this one runs low, are queued for the Store's next commit
// (saveSoon), not waited for; a report waits for a write only when the block reserved
// ahead is not durable yet when it is needed, or the Store cannot queue writes.
func (s *Sink) takeSeq(id string) int {
	s.seq.mu.Lock()
	defer s.seq.mu.Unlock()
	s.mu.Lock()
	if n, ok := s.ids[id]; ok && id != "" {
		s.mu.Unlock()
		return n
	}
	if s.seq.block.left == 0 && s.seq.ahead != nil {
		wait := s.seq.ahead
		s.seq.ahead = nil
		s.mu.Unlock()
		err := wait() // done long ago, usually: it rode on an alarm's commit
		s.mu.Lock()
		if err == nil {
			s.seq.block.confirm()
		}
	}
	n, _, reserve := s.seq.block.take(seqBlockSize)
	if id != "" {
		s.remember(id, n)
	}
	_, canQueue := s.store.(queuer)
	ahead := !reserve && canQueue && s.seq.block.reserveAhead(seqBlockSize, seqTopUp)
	s.mu.Unlock()
	switch {
	case reserve:
		s.seq.ahead = nil
		if err := s.save(); err != nil {
			// The number is sent all the same (an alarm is not held back), but the
			// next one tries to reserve again.
			s.mu.Lock()
			s.seq.block.release()
			s.mu.Unlock()
		}
	case ahead:
		s.seq.ahead = s.saveSoon()
	case id != "":
		s.saveSoon()
	}
	return n
}

// saveSoon queues the state for the Store's next commit (an alarm's, usually) and
// makes sure it is written within seqFlushAfter; it returns a func that waits until
// the write is durable. A Store that cannot queue is written at once.
func (s *Sink) saveSoon() func() error {
	q, ok := s.store.(queuer)
	if !ok {
		err := s.save()
		return func() error { return err }
	}
	s.saveMu.Lock()
	b, err := s.snapshot()
	if err != nil {
		s.saveMu.Unlock()
		s.log.Error("policelink: saving sequence state", "err", err)
		return func() error { return err }
	}
	wait := once(q.Enqueue(alerting.Commit{State: map[string][]byte{s.stateKey(): b}}))
	s.saveMu.Unlock()
	s.seq.fmu.Lock()
	s.seq.waits = append(s.seq.waits, wait)
	if s.seq.timer == nil {
		s.seq.timer = time.AfterFunc(seqFlushAfter, s.flushSaves)
	}
	s.seq.fmu.Unlock()
	return wait
}

// once returns a func that calls wait once and returns its result every time.
func once(wait func() error) func() error {
	var o sync.Once
	var err error
	return func() error {
		o.Do(func() { err = wait() })
		return err
	}
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
	s.seq.ahead = nil
	s.mu.Lock()
	reserved := s.seq.block.left > 0 || s.seq.block.ahead > 0
	s.seq.block.release()
	s.mu.Unlock()
	if reserved {
		_ = s.save()
	}
}
