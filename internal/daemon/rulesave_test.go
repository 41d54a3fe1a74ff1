package daemon

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/campusguard/campusguard/rules"
)

// blockingStore records every write; a write blocks while gate is held.
type blockingStore struct {
	gate    sync.Mutex
	mu      sync.Mutex
	writes  []rules.Snapshot
	entered chan struct{}
	wrote   chan struct{}
}

func (s *blockingStore) PutState(name string, b []byte) error {
	s.entered <- struct{}{}
	s.gate.Lock()
	defer s.gate.Unlock()
	var snap rules.Snapshot
	if err := json.Unmarshal(b, &snap); err != nil {
		return err
	}
	s.mu.Lock()
	s.writes = append(s.writes, snap)
	s.mu.Unlock()
	s.wrote <- struct{}{}
	return nil
}

func (s *blockingStore) at() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []time.Time
	for _, w := range s.writes {
		out = append(out, w.At)
	}
	return out
}

func snapAt(sec int) rules.Snapshot {
	return rules.Snapshot{Version: rules.SnapshotVersion, At: time.Unix(int64(sec), 0).UTC()}
}

// TestRuleSaverOffLoop: offers never wait for the disk; while one write is in
// progress, later offers collapse into the newest; an unchanged state is not written
// again; a flush (a reset, the stop) is written after the write in progress.
func TestRuleSaverOffLoop(t *testing.T) {
	st := &blockingStore{entered: make(chan struct{}, 16), wrote: make(chan struct{}, 16)}
	s := newRuleSaver(st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.run(ctx) }()
	defer func() { cancel(); <-done }()

	st.gate.Lock() // the disk is slow
	s.offer(snapAt(1))
	<-st.entered       // the saver is writing 1 and waits for the disk
	s.offer(snapAt(2)) // these do not wait for the write of 1
	s.offer(snapAt(3))
	st.gate.Unlock()
	<-st.wrote // 1
	<-st.wrote // 3: 2 was replaced before it was written
	s.offer(snapAt(5))
	s.flush(snapAt(4)) // newer than the offer of 5, whichever is written first
	<-st.wrote         // 4 (5 is written before it, or never)
	s.flush(snapAt(4)) // unchanged: not written
	got := st.at()
	want := []int64{1, 3, 4}
	if len(got) == 4 && got[2].Unix() == 5 { // the saver took 5 before the flush
		want = []int64{1, 3, 5, 4}
	}
	if len(got) != len(want) {
		t.Fatalf("writes %v, want seconds %v", got, want)
	}
	for i, w := range want {
		if got[i].Unix() != w {
			t.Fatalf("writes %v, want seconds %v", got, want)
		}
	}
}
