package policelink

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/campusguard/campusguard/alerting/journal"
	"github.com/campusguard/campusguard/alerting/policelink/dc09"
	"github.com/campusguard/campusguard/alerting/policelink/dc09/centre"
)

// crashCopy returns a copy of the journal file as a kill -9 leaves it: the
// journal is still open, not closed cleanly; every commit so far is fsynced.
func crashCopy(t *testing.T, j *journal.Journal) string {
	t.Helper()
	b, err := os.ReadFile(j.Path())
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "journal.db")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func openJournal(t *testing.T, path string) *journal.Journal {
	t.Helper()
	j, err := journal.Open(path, journal.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// TestSequenceAcrossRestart (finding 3): alarms, restores, path reports, periodic
// tests and installer tests all take their number from one persistent counter: after
// a kill -9 (a journal reopened without a clean close) and after a clean stop, no
// number is used twice, except a retried notification that keeps its own. NULL link
// tests use 0000.
func TestSequenceAcrossRestart(t *testing.T) {
	for _, stop := range []string{"kill -9", "clean stop"} {
		t.Run(stop, func(t *testing.T) {
			ctx := ctxT(t)
			rcv := startReceiver(t, "udp", false, nil)
			cfg := baseConfig("udp", false, rcv.UDPAddr())
			path := filepath.Join(t.TempDir(), "journal.db")
			j1 := openJournal(t, path)
			s1 := newSink(t, cfg, Options{Store: j1})
			at := time.Now().Add(-time.Minute)
			deliver := func(s *Sink, ns ...any) {
				t.Helper()
				for _, n := range ns {
					var err error
					switch n := n.(type) {
					case string: // each alarm its own time, so that its frames tell it apart
						err = s.Deliver(ctx, fired(n, at.Add(time.Duration(n[1])*time.Second)))
					case [2]string:
						err = s.Deliver(ctx, resolved(n[0], at.Add(time.Duration(n[0][1])*time.Second), at))
					}
					if err != nil {
						t.Fatal(err)
					}
				}
			}
			deliver(s1, "a1", [2]string{"a1"}, "a2")
			s1.poll(ctx, s1.paths[0]) // NULL link test
			// A path report and a periodic test, as Run sends them.
			s1.mu.Lock()
			s1.pending = append(s1.pending,
				&linkReport{kind: "link", rep: Report{Qualifier: dc09.QualifierNew, Code: 350, SIA: "YC", Zone: 2, At: at}},
				&linkReport{kind: "test", rep: Report{Qualifier: dc09.QualifierNew, Code: 602, SIA: "RP", At: at, Test: true}})
			s1.mu.Unlock()
			s1.sendPending(ctx)
			var j2 *journal.Journal
			if stop == "kill -9" {
				j2 = openJournal(t, crashCopy(t, j1))
				t.Cleanup(func() { j1.Close() })
			} else {
				s1.Close()
				if err := j1.Close(); err != nil {
					t.Fatal(err)
				}
				j2 = openJournal(t, path)
			}
			defer j2.Close()
			// The installer's test while the daemon is stopped, on the same journal.
			var out strings.Builder
			if err := TestReport(ctx, cfg, &out, TestOptions{Store: j2}); err != nil {
				t.Fatal(err)
			}
			if err := TestReport(ctx, cfg, &out, TestOptions{Store: j2}); err != nil { // twice in one second
				t.Fatal(err)
			}
			s2 := newSink(t, cfg, Options{Store: j2})
			deliver(s2, "a2", "a3", [2]string{"a3"})

			recs := rcv.Received()
			seen := map[int]string{}
			var got []string
			for _, r := range recs {
				m := r.Message
				got = append(got, dc09.RedactKeys(string(m.ID))+" "+itoa4(m.Seq)+" "+m.Data)
				if m.ID == dc09.TokenNULL {
					if m.Seq != dc09.NullSeq {
						t.Errorf("NULL with seq %04d", m.Seq)
					}
					continue
				}
				key := m.Data
				if at, ok := Occurrence(m); ok {
					key += at.String()
				}
				if prev, ok := seen[m.Seq]; ok && prev != key {
					t.Errorf("seq %04d used for %q and again for %q", m.Seq, prev, key)
				}
				seen[m.Seq] = key
			}
			if len(seen) != 9 { // a1, a1 restore, a2 (twice, one number), 350, 602, two 601, a3, a3 restore
				t.Errorf("%d distinct numbers, want 9:\n%s", len(seen), strings.Join(got, "\n"))
			}
			if r := recs[len(recs)-1]; r.Answer != centre.ACK || s2.LastSeq() != r.Message.Seq {
				t.Errorf("last report %+v, counter at %d", r.Message, s2.LastSeq())
			}
			t.Log("\n" + strings.Join(got, "\n"))
		})
	}
}

func itoa4(n int) string {
	return string([]byte{byte('0' + n/1000), byte('0' + n/100%10), byte('0' + n/10%10), byte('0' + n%10)})
}

// memStore is a Store in memory that checks the number of a frame was written
// before the frame was sent.
type memStore struct{ m map[string][]byte }

func (s *memStore) PutState(name string, b []byte) error {
	s.m[name] = append([]byte(nil), b...)
	return nil
}
func (s *memStore) GetState(name string) ([]byte, error) { return s.m[name], nil }

// TestSequencePerAccount: the counter follows the account; a state written before
// counters were kept per account is taken over. The store holds the end of the
// reserved block until a clean stop writes the last number issued.
func TestSequencePerAccount(t *testing.T) {
	ctx := context.Background()
	st := &memStore{m: map[string][]byte{"policelink/police": []byte(`{"last":41}`)}}
	rcv := startReceiver(t, "udp", false, nil)
	cfg := baseConfig("udp", false, rcv.UDPAddr())
	s := newSink(t, cfg, Options{Store: st})
	if err := s.Deliver(ctx, fired("p1", time.Now())); err != nil || s.LastSeq() != 42 {
		t.Fatalf("Deliver = %v, seq %d, want 42 after the old state's 41", err, s.LastSeq())
	}
	if crashed := newSink(t, cfg, Options{Store: st}); crashed.LastSeq() != 41+seqBlockSize {
		t.Errorf("after a crash the counter restarts after %d, want the reserved block's end %d", crashed.LastSeq(), 41+seqBlockSize)
	}
	s.Close()
	cfg.Account = "ABCD"
	s2 := newSink(t, cfg, Options{Store: st})
	if s2.LastSeq() != 0 {
		t.Errorf("another account starts at %d", s2.LastSeq())
	}
	if err := s2.Deliver(ctx, fired("p2", time.Now())); err != nil {
		t.Fatal(err)
	}
	cfg.Account = "1234"
	if s3 := newSink(t, cfg, Options{Store: st}); s3.LastSeq() != 42 {
		t.Errorf("back on account 1234 the counter is at %d, want 42", s3.LastSeq())
	}
}

// TestServeTest: the installer's test through the running sink takes its number from
// the sink's counter, between the alarms', and answers 502 when a receiver refuses.
func TestServeTest(t *testing.T) {
	ctx := ctxT(t)
	rcv := startReceiver(t, "tcp", true, nil)
	s := newSink(t, baseConfig("tcp", true, rcv.TCPAddr()), Options{})
	if err := s.Deliver(ctx, fired("t1", time.Now())); err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	s.ServeTest(w, httptest.NewRequest("POST", "/-/policelink/test?zone=3", nil))
	if w.Code != 200 || !strings.Contains(w.Body.String(), "[#1234|1601 00 003]") || !strings.Contains(w.Body.String(), ": ACK in") {
		t.Fatalf("%d\n%s", w.Code, w.Body.String())
	}
	if err := s.Deliver(ctx, fired("t2", time.Now())); err != nil {
		t.Fatal(err)
	}
	var seqs []int
	for _, r := range rcv.Received() {
		seqs = append(seqs, r.Message.Seq)
	}
	if fmt.Sprint(seqs) != "[1 2 3]" {
		t.Errorf("sequence numbers %v, want the test's between the alarms'", seqs)
	}
	rcv.SetBehavior(centre.DUH)
	w = httptest.NewRecorder()
	s.ServeTest(w, httptest.NewRequest("POST", "/-/policelink/test?periodic=1", nil))
	if w.Code != 502 || !strings.Contains(w.Body.String(), "1602 00 000") || !strings.Contains(w.Body.String(), "DUH") {
		t.Fatalf("%d\n%s", w.Code, w.Body.String())
	}
}

// The link's own reports (a path failure, a periodic test) outlive a crash: queued
// while no receiver answers, they are in the journal's state, and a restarted sink
// sends them in order with the numbers they were first given.
func TestPendingLinkReportsSurviveACrash(t *testing.T) {
	ctx := ctxT(t)
	cfg := baseConfig("udp", false, "127.0.0.1:1") // nothing answers
	cfg.Timeout = 200 * time.Millisecond
	path := filepath.Join(t.TempDir(), "journal.db")
	j1 := openJournal(t, path)
	t.Cleanup(func() { j1.Close() })
	s1 := newSink(t, cfg, Options{Store: j1})
	at := time.Now().Add(-time.Minute)
	s1.mu.Lock()
	s1.pending = append(s1.pending,
		&linkReport{kind: "link", rep: Report{Qualifier: dc09.QualifierNew, Code: 350, SIA: "YC", Zone: 1, At: at}, avoid: s1.paths[0]},
		&linkReport{kind: "test", rep: Report{Qualifier: dc09.QualifierNew, Code: 602, SIA: "RP", At: at, Test: true}})
	s1.mu.Unlock()
	s1.sendPending(ctx) // saves them, tries the first, fails
	j2 := openJournal(t, crashCopy(t, j1))
	s2 := newSink(t, cfg, Options{Store: j2})
	s2.mu.Lock()
	defer s2.mu.Unlock()
	if len(s2.pending) != 2 || s2.pending[0].rep.Code != 350 || s2.pending[1].rep.Code != 602 {
		t.Fatalf("pending after the crash: %+v", s2.pending)
	}
	if s2.pending[0].avoid != s2.paths[0] || s2.pending[0].seq == 0 {
		t.Fatalf("path report lost its path or its number: %+v", s2.pending[0])
	}
}

// The link's own reports are journaled with their outcome (the console's history).
func TestLinkReportsAreJournaled(t *testing.T) {
	ctx := ctxT(t)
	rcv := startReceiver(t, "udp", false, nil)
	cfg := baseConfig("udp", false, rcv.UDPAddr())
	j := openJournal(t, filepath.Join(t.TempDir(), "journal.db"))
	t.Cleanup(func() { j.Close() })
	s := newSink(t, cfg, Options{Store: j})
	at := time.Now().Add(-time.Minute)
	s.mu.Lock()
	s.pending = append(s.pending,
		&linkReport{kind: "link", rep: Report{Qualifier: dc09.QualifierNew, Code: 350, SIA: "YC", Zone: 2, At: at}},
		&linkReport{kind: "test", rep: Report{Qualifier: dc09.QualifierNew, Code: 602, SIA: "RP", At: at, Test: true}})
	s.mu.Unlock()
	s.sendPending(ctx)
	page, err := j.Records(journal.RecordQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range page.Records {
		got = append(got, r.Action+" "+r.Note)
	}
	if len(got) != 2 || !strings.HasPrefix(got[0], ActionTestReport+" test: Contact ID 602") || !strings.HasPrefix(got[1], ActionLinkReport+" link: Contact ID 350") {
		t.Fatalf("journal records %q", got)
	}
}
