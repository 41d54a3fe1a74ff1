package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"sync"

	"github.com/campusguard/campusguard/rules"
)

// stateStore is where the rule state is kept (the journal).
type stateStore interface {
	PutState(name string, b []byte) error
}

// ruleSaver writes the rule engine's snapshots to the journal off the main loop. The
// loop takes the snapshot (a copy of the open instances, cheap) and offers it; the
// saver marshals and commits it, so a large state (thousands of open instances) never
// holds up the next event. A newer snapshot offered before the older one was written
// replaces it. A snapshot equal to the last one written is not written again (an idle
// gateway does not wear its flash).
type ruleSaver struct {
	store stateStore
	log   *slog.Logger

	mu         sync.Mutex
	pending    *rules.Snapshot
	pendingGen uint64
	gen        uint64 // of the newest snapshot offered or flushed
	kick       chan struct{}

	writeMu sync.Mutex // one write at a time
	last    []byte     // what was written last
	lastGen uint64     // and its generation: an older snapshot is never written after it
}

func newRuleSaver(store stateStore, log *slog.Logger) *ruleSaver {
	return &ruleSaver{store: store, log: log, kick: make(chan struct{}, 1)}
}

// offer hands a snapshot to the saver without waiting.
func (s *ruleSaver) offer(snap rules.Snapshot) {
	s.mu.Lock()
	s.gen++
	s.pending = &snap
	s.pendingGen = s.gen
	s.mu.Unlock()
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// run writes offered snapshots until ctx ends.
func (s *ruleSaver) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.kick:
		}
		s.mu.Lock()
		snap, gen := s.pending, s.pendingGen
		s.pending = nil
		s.mu.Unlock()
		if snap != nil {
			s.write(*snap, gen)
		}
	}
}

// flush writes snap now, after any write in progress, and drops an older snapshot
// still waiting: a person's reset and the stop are written before the caller goes on.
func (s *ruleSaver) flush(snap rules.Snapshot) {
	s.mu.Lock()
	s.gen++
	gen := s.gen
	s.pending = nil
	s.mu.Unlock()
	s.write(snap, gen)
}

// write marshals and commits snap unless a newer one was written already.
func (s *ruleSaver) write(snap rules.Snapshot, gen uint64) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if gen <= s.lastGen {
		return
	}
	s.lastGen = gen
	b, err := json.Marshal(snap)
	if err == nil && bytes.Equal(b, s.last) {
		return
	}
	if err == nil {
		err = s.store.PutState(ruleStateKey, b)
	}
	if err != nil {
		s.log.Error("saving rule state", "err", err)
		return
	}
	s.last = b
}
