package policelink

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/campusguard/campusguard/alerting/policelink/dc09"
)

// Store keeps small named blobs durably; the alarm journal provides it.
type Store interface {
	PutState(name string, b []byte) error
	GetState(name string) ([]byte, error)
}

// maxIDs bounds the notification id → sequence number memory. The pipeline retries
// one notification at a time, so only the last few ids matter.
const maxIDs = 64

// persisted is the sink's state in the Store.
type persisted struct {
	Last     int         `json:"last"`               // last sequence number issued
	IDs      []seqRecord `json:"ids,omitempty"`      // oldest first
	LastTest time.Time   `json:"last_test,omitzero"` // scheduled time of the last periodic test
}

type seqRecord struct {
	ID  string `json:"id"`
	Seq int    `json:"seq"`
}

// stateKey is the name of the sink's blob in the Store.
func (s *Sink) stateKey() string { return "policelink/" + s.cfg.Name }

// load restores the sequence state from the store.
func (s *Sink) load() error {
	if s.store == nil {
		return nil
	}
	b, err := s.store.GetState(s.stateKey())
	if err != nil {
		return fmt.Errorf("load state: %w", err)
	}
	if len(b) == 0 {
		return nil
	}
	var p persisted
	if err := json.Unmarshal(b, &p); err != nil {
		return fmt.Errorf("load state %s: %w", s.stateKey(), err)
	}
	s.seq.Reset(p.Last)
	for _, r := range p.IDs {
		if r.Seq >= dc09.MinSeq && r.Seq <= dc09.MaxSeq {
			s.remember(r.ID, r.Seq)
		}
	}
	s.lastTest = p.LastTest
	return nil
}

// remember records id → seq, forgetting the oldest beyond maxIDs. Called with mu held.
func (s *Sink) remember(id string, seq int) {
	if _, ok := s.ids[id]; !ok {
		s.order = append(s.order, id)
	}
	s.ids[id] = seq
	for len(s.order) > maxIDs {
		delete(s.ids, s.order[0])
		s.order = s.order[1:]
	}
}

// seqFor returns the sequence number of notification id: the one it was first sent
// with, or a new one (persisted before the first send, so that a retry after a
// restart reuses it).
func (s *Sink) seqFor(id string) int {
	s.mu.Lock()
	if n, ok := s.ids[id]; ok {
		s.mu.Unlock()
		return n
	}
	n := s.seq.Next()
	s.remember(id, n)
	s.mu.Unlock()
	s.save()
	return n
}

// save writes the state to the store; a failure is logged (the link still works,
// only a retry after a restart could get a new sequence number).
func (s *Sink) save() {
	if s.store == nil {
		return
	}
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	s.mu.Lock()
	p := persisted{Last: s.seq.Last(), LastTest: s.lastTest, IDs: make([]seqRecord, 0, len(s.order))}
	for _, id := range s.order {
		p.IDs = append(p.IDs, seqRecord{ID: id, Seq: s.ids[id]})
	}
	s.mu.Unlock()
	b, err := json.Marshal(p)
	if err == nil {
		err = s.store.PutState(s.stateKey(), b)
	}
	if err != nil {
		s.log.Error("policelink: saving sequence state", "err", err)
	}
}
