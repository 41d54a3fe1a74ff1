package policelink

import (
	"encoding/json"
	"fmt"
	"strings"
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
//
// Sequence numbers: one counter per account, shared by both paths and every kind of
// message (alarms, restores, path reports, periodic and installer tests; NULL link
// tests use 0000). The receiving centre tells transmitters apart by account, and
// may drop a number it has just seen from that account as a duplicate; a centre is
// often reached over both paths, so per-path counters would repeat numbers there.
// A message retried on another receiver keeps its number, so a centre that gets it
// twice drops the copy. Numbers are reserved in blocks (seqBlock): Last is the
// highest number that may have been issued, written (and fsynced by the journal)
// before any number up to it is sent, so neither a clean stop nor a crash repeats
// one; a crash skips the unused rest of a block.
type persisted struct {
	Last     int            `json:"last"`               // highest number issued or reserved (for the account below; older files: the only counter)
	Account  string         `json:"account,omitempty"`  // the account of Last
	Accounts map[string]int `json:"accounts,omitempty"` // the same per account (upper case)
	IDs      []seqRecord    `json:"ids,omitempty"`      // oldest first
	LastTest time.Time      `json:"last_test,omitzero"` // scheduled time of the last periodic test
	// Pending are the link's own reports not yet acknowledged (path failures and
	// restores, periodic tests): a restart sends them, in order, with their numbers.
	Pending []pendingReport `json:"pending,omitempty"`
}

type pendingReport struct {
	Kind  string `json:"kind"`
	Rep   Report `json:"report"`
	Seq   int    `json:"seq,omitempty"`
	Avoid string `json:"avoid,omitempty"` // the path it is about
}

type seqRecord struct {
	ID  string `json:"id"`
	Seq int    `json:"seq"`
}

// stateKey is the name of the sink's blob in the Store.
func (s *Sink) stateKey() string { return "policelink/" + s.cfg.Name }

// acct is the account the counter is kept for.
func (s *Sink) acct() string { return strings.ToUpper(s.cfg.Account) }

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
	s.accounts = p.Accounts
	if s.accounts == nil {
		s.accounts = map[string]int{}
	}
	last, ok := s.accounts[s.acct()]
	if !ok && (p.Account == "" || strings.EqualFold(p.Account, s.acct())) {
		last = p.Last // written before counters were kept per account
	}
	s.seq.block.restore(last)
	if ok || p.Account == "" || strings.EqualFold(p.Account, s.acct()) {
		for _, r := range p.IDs {
			if r.Seq >= dc09.MinSeq && r.Seq <= dc09.MaxSeq {
				s.remember(r.ID, r.Seq)
			}
		}
	}
	s.lastTest = p.LastTest
	for _, pr := range p.Pending {
		lr := &linkReport{kind: pr.Kind, rep: pr.Rep, seq: pr.Seq}
		for _, pa := range s.paths {
			if pa.name == pr.Avoid {
				lr.avoid = pa
			}
		}
		s.pending = append(s.pending, lr)
	}
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
// with, or a new one (takeSeq: covered by the stored bound before it is returned;
// the id is remembered in the Store with the next commit, so that a retry after a
// restart reuses it).
func (s *Sink) seqFor(id string) int { return s.takeSeq(id) }

// nextSeq returns a new sequence number for a message the link makes on its own (a
// path report, a periodic or installer test), covered by the stored bound.
func (s *Sink) nextSeq() int { return s.takeSeq("") }

// LastSeq returns the sequence number issued last (0 when none yet).
func (s *Sink) LastSeq() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seq.block.last
}

// save writes the state to the store and waits until it is durable; a failure is
// logged (the link still works: an alarm is sent rather than held back, but a
// restart could then repeat its number) and returned.
func (s *Sink) save() error {
	if s.store == nil {
		return nil
	}
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	b, err := s.snapshot()
	if err == nil {
		err = s.store.PutState(s.stateKey(), b)
	}
	if err != nil {
		s.log.Error("policelink: saving sequence state", "err", err)
	}
	return err
}

// snapshot encodes the state as the Store keeps it. Called with saveMu held, so
// that snapshots reach the Store in the order they were taken.
func (s *Sink) snapshot() ([]byte, error) {
	s.mu.Lock()
	bound := s.seq.block.bound()
	accts := make(map[string]int, len(s.accounts)+1)
	for a, n := range s.accounts {
		accts[a] = n
	}
	accts[s.acct()] = bound
	p := persisted{Last: bound, Account: s.acct(), Accounts: accts, LastTest: s.lastTest,
		IDs: make([]seqRecord, 0, len(s.order))}
	for _, id := range s.order {
		p.IDs = append(p.IDs, seqRecord{ID: id, Seq: s.ids[id]})
	}
	for _, lr := range s.pending {
		pr := pendingReport{Kind: lr.kind, Rep: lr.rep, Seq: lr.seq}
		if lr.avoid != nil {
			pr.Avoid = lr.avoid.name
		}
		p.Pending = append(p.Pending, pr)
	}
	s.pendingSaved = len(s.pending)
	s.mu.Unlock()
	return json.Marshal(p)
}
