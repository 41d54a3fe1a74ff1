package policelink

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/campusguard/campusguard/alerting"
)

// TestSeqBlock: numbers are handed out from blocks whose end is written before the
// first number of the block is used; with topUp, the next block is reserved by a
// write queued while topUp numbers are left, and used once that write is done. A
// crash at any point restarts after the last bound written (numbers skipped, never
// repeated); a clean stop writes the last number issued, so the restart continues
// without a gap.
func TestSeqBlock(t *testing.T) {
	cases := []struct {
		name               string
		stored             int // the bound in the Store at start
		size, topUp, takes int
		want               []int // numbers issued
		writes             []int // bounds written, in order (+: queued, reserved ahead)
		crash              int   // first number after a crash at the end
		clean              int   // first number after a clean stop at the end
	}{
		{"fresh", 0, 64, 0, 3, []int{1, 2, 3}, []int{64}, 65, 4},
		{"after an old counter", 41, 64, 0, 1, []int{42}, []int{105}, 106, 43},
		{"across blocks", 0, 4, 0, 9, []int{1, 2, 3, 4, 5, 6, 7, 8, 9}, []int{4, 8, 12}, 13, 10},
		{"block ends on a boundary", 0, 4, 0, 8, []int{1, 2, 3, 4, 5, 6, 7, 8}, []int{4, 8}, 9, 9},
		{"wrap inside a block", 9990, 64, 0, 12, []int{9991, 9992, 9993, 9994, 9995, 9996, 9997, 9998, 9999, 1, 2, 3}, []int{55}, 56, 4},
		{"block ends on 9999", 9995, 4, 0, 5, []int{9996, 9997, 9998, 9999, 1}, []int{9999, 4}, 5, 2},
		{"crash bound at 9999", 9999, 64, 0, 1, []int{1}, []int{64}, 65, 2},
		{"garbage in the store", 12000, 64, 0, 1, []int{1}, []int{64}, 65, 2},
		{"size 1: every number written", 7, 0, 0, 2, []int{8, 9}, []int{8, 9}, 10, 10},
		{"reserved ahead", 0, 8, 2, 12, []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, []int{8, +16}, 17, 13},
		{"reserved ahead twice", 0, 8, 2, 15, []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, []int{8, +16, +24}, 25, 16},
		{"reserved ahead across 9999", 9990, 8, 2, 10, []int{9991, 9992, 9993, 9994, 9995, 9996, 9997, 9998, 9999, 1}, []int{9998, +7}, 8, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var b seqBlock
			b.restore(c.stored)
			stored, pending := c.stored, 0
			var got, writes []int
			for range c.takes {
				if b.left == 0 && pending != 0 { // the queued write is done
					stored, pending = pending, 0
					b.confirm()
				}
				n, bound, reserve := b.take(c.size)
				if reserve {
					writes = append(writes, bound)
					stored = bound
				} else if c.topUp > 0 && b.reserveAhead(c.size, c.topUp) {
					writes = append(writes, b.bound())
					pending = b.bound()
				}
				// A crash right after this number, with or without the queued write
				// done: the restart must not repeat any number issued so far.
				for _, st := range []int{stored, max(stored, pending)} {
					var after seqBlock
					after.restore(st)
					if m, _, _ := after.take(c.size); slices.Contains(append(got, n), m) {
						t.Errorf("a crash after %04d (store at %04d) restarts at %04d, already used", n, st, m)
					}
				}
				got = append(got, n)
			}
			if pending != 0 {
				stored = pending
			}
			if fmt.Sprint(got) != fmt.Sprint(c.want) || fmt.Sprint(writes) != fmt.Sprint(c.writes) {
				t.Errorf("issued %v writing %v, want %v writing %v", got, writes, c.want, c.writes)
			}
			if b.bound() != stored {
				t.Errorf("at the end the bound is %04d, the store holds %04d", b.bound(), stored)
			}
			var crashed seqBlock
			crashed.restore(stored)
			if n, _, _ := crashed.take(c.size); n != c.crash {
				t.Errorf("after a crash: %04d, want %04d", n, c.crash)
			}
			b.release()
			var clean seqBlock
			clean.restore(b.bound())
			if n, _, _ := clean.take(c.size); n != c.clean {
				t.Errorf("after a clean stop: %04d, want %04d", n, c.clean)
			}
		})
	}
}

// queueStore is a Store that queues writes as the journal does (Enqueue); queued
// writes reach the store only once gate is closed. crash copies what is stored.
type queueStore struct {
	mu      sync.Mutex
	m       map[string][]byte
	gate    chan struct{}
	queued  int            // writes enqueued so far
	applied map[string]int // per name, the enqueue number of the write it holds
}

func (s *queueStore) PutState(name string, b []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queued++
	if s.applied == nil {
		s.applied = map[string]int{}
	}
	s.applied[name] = s.queued // a write queued before it never lands after it
	s.m[name] = bytes.Clone(b)
	return nil
}

func (s *queueStore) GetState(name string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.m[name]), nil
}

// Enqueue queues c as the journal does: writes land in the order they were queued,
// whoever waits for them first, so an earlier write never replaces a later one.
func (s *queueStore) Enqueue(c alerting.Commit) func() error {
	s.mu.Lock()
	s.queued++
	n := s.queued
	s.mu.Unlock()
	var once sync.Once
	return func() error {
		<-s.gate
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.applied == nil {
				s.applied = map[string]int{}
			}
			for k, v := range c.State {
				if s.applied[k] > n {
					continue // a later write is already there
				}
				s.applied[k] = n
				s.m[k] = bytes.Clone(v)
			}
		})
		return nil
	}
}

func (s *queueStore) crash() *memStore {
	s.mu.Lock()
	defer s.mu.Unlock()
	return &memStore{m: maps.Clone(s.m)}
}

// A notification retried after a restart keeps its number when the sink's state was
// written after its first send (the next commit, or seqFlushAfter later); after a
// crash before that write it is sent with a new number, never with a used one.
func TestSequenceOfARetryAfterACrash(t *testing.T) {
	ctx := ctxT(t)
	rcv := startReceiver(t, "udp", false, nil)
	cfg := baseConfig("udp", false, rcv.UDPAddr())
	st := &queueStore{m: map[string][]byte{}, gate: make(chan struct{})}
	s1 := newSink(t, cfg, Options{Store: st})
	at := time.Now()
	for _, id := range []string{"x1", "x2"} {
		if err := s1.Deliver(ctx, fired(id, at)); err != nil {
			t.Fatal(err)
		}
	}
	// Killed before x2's number was written: x2 goes again with a new number.
	crashed := newSink(t, cfg, Options{Store: st.crash()})
	var seqs []int
	for _, id := range []string{"x2", "x1", "x3"} {
		if err := crashed.Deliver(ctx, fired(id, at)); err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, crashed.LastSeq())
	}
	if fmt.Sprint(seqs) != fmt.Sprint([]int{1 + seqBlockSize, 1 + seqBlockSize, 2 + seqBlockSize}) {
		t.Errorf("after the crash x2, x1, x3 took %v, want a new number for x2, x1 its own 1", seqs)
	}
	if n := crashed.seqFor("x1/1"); n != 1 {
		t.Errorf("x1 (written with the block) has %04d after the crash, want 0001", n)
	}
	// Stopped cleanly: the queued write is done first; x2 keeps 0002, x3 gets 0003.
	close(st.gate)
	s1.Close()
	s2 := newSink(t, cfg, Options{Store: st})
	if n := s2.seqFor("x2/1"); n != 2 {
		t.Errorf("x2 after a clean stop: %04d, want 0002", n)
	}
	if n := s2.seqFor("x3/1"); n != 3 {
		t.Errorf("x3 after a clean stop: %04d, want 0003", n)
	}
}

// countingStore counts the writes a sink waits for (PutState) apart from the queued
// ones.
type countingStore struct {
	queueStore
	puts int
}

func (s *countingStore) PutState(name string, b []byte) error {
	s.mu.Lock()
	s.puts++
	s.mu.Unlock()
	return s.queueStore.PutState(name, b)
}

// A steady stream of reports waits for one write, the first block's: the next
// blocks are reserved ahead with queued writes. Every number sent is covered by the
// bound in the store when its frame goes out.
func TestSequenceReservedAhead(t *testing.T) {
	ctx := ctxT(t)
	rcv := startReceiver(t, "udp", false, nil)
	cfg := baseConfig("udp", false, rcv.UDPAddr())
	st := &countingStore{queueStore: queueStore{m: map[string][]byte{}, gate: make(chan struct{})}}
	close(st.gate)
	s := newSink(t, cfg, Options{Store: st})
	const reports = 3*seqBlockSize + 5
	for i := range reports {
		if err := s.Deliver(ctx, fired(fmt.Sprintf("r%d", i), time.Now())); err != nil {
			t.Fatal(err)
		}
		var p persisted
		b, _ := st.crash().GetState(s.stateKey())
		if err := json.Unmarshal(b, &p); err != nil || p.Last < s.LastSeq() {
			t.Fatalf("after %04d the store's bound is %04d (%v)", s.LastSeq(), p.Last, err)
		}
	}
	if s.LastSeq() != reports {
		t.Errorf("last number %d, want %d", s.LastSeq(), reports)
	}
	st.mu.Lock()
	puts := st.puts
	st.mu.Unlock()
	if puts != 1 {
		t.Errorf("%d writes waited for, want 1 (the first block)", puts)
	}
}
