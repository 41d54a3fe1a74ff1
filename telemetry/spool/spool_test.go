package spool

import (
	"bytes"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/campusguard/campusguard/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite golden files")

var t0 = time.Date(2026, 11, 20, 21, 3, 12, 0, time.UTC)

func fixedNow() time.Time { return t0 }

type drops struct {
	byReason map[string]int // points
	records  map[Class]int
}

func openT(t *testing.T, dir string, o Options) (*Spool, *drops) {
	t.Helper()
	d := &drops{byReason: map[string]int{}, records: map[Class]int{}}
	o.OnDrop = func(c Class, records, points int, reason string) {
		d.byReason[reason] += points
		d.records[c] += records
	}
	if o.Now == nil {
		o.Now = fixedNow
	}
	s, err := Open(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, d
}

func mustAppend(t *testing.T, s *Spool, c Class, data string) {
	t.Helper()
	if err := s.Append(c, strings.Count(data, "\n")+1, []byte(data)); err != nil {
		t.Fatal(err)
	}
}

// drain peeks and commits everything, returning the payloads in order.
func drain(t *testing.T, s *Spool, limit int) []string {
	t.Helper()
	var out []string
	for len(out) < limit || limit < 0 {
		r, ok, err := s.Peek()
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		out = append(out, string(r.Data))
		if err := s.Commit(r); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func TestRecordGolden(t *testing.T) {
	b := appendRecord(nil, 42, t0, 2, []byte("cg_event,device=btn-1 seq=1i 1\ncg_event,device=btn-2 seq=2i 2"))
	golden := filepath.Join("testdata", "record.golden")
	got := hex.Dump(b)
	testenv.Golden(t, golden, []byte(got), *update)
	r, n, err := DecodeRecord(b)
	if err != nil || n != len(b) || r.Seq != 42 || r.Points != 2 || !r.At.Equal(t0) {
		t.Fatalf("decode: %+v n=%d err=%v", r, n, err)
	}
}

func TestDecodeRecordErrors(t *testing.T) {
	good := appendRecord(nil, 1, t0, 1, []byte("m f=1"))
	flip := func(i int) []byte { b := bytes.Clone(good); b[i] ^= 0xff; return b }
	huge := bytes.Clone(good)
	huge[3] = 0xff
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrShort},
		{"half header", good[:10], ErrShort},
		{"header only", good[:headerSize], ErrShort},
		{"one byte short", good[:len(good)-1], ErrShort},
		{"payload flipped", flip(len(good) - 1), ErrCorrupt},
		{"seq flipped", flip(9), ErrCorrupt},
		{"crc flipped", flip(4), ErrCorrupt},
		{"length too large", huge, ErrCorrupt},
		{"ok", good, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := DecodeRecord(tt.in)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestOrderAcrossClassesAndRestart(t *testing.T) {
	dir := t.TempDir()
	s, _ := openT(t, dir, Options{Classes: 3, SegmentBytes: 100})
	in := []struct {
		c    Class
		data string
	}{{0, "a"}, {2, "b"}, {1, "c"}, {0, "d"}, {0, "e"}, {2, "f"}, {1, "g"}}
	for _, r := range in {
		mustAppend(t, s, r.c, r.data)
	}
	if st := s.Stats(); st.Records != 7 || st.Points != 7 || !st.Oldest.Equal(t0) {
		t.Fatalf("stats %+v", st)
	}
	if got := drain(t, s, 3); strings.Join(got, "") != "abc" {
		t.Fatalf("first 3 = %q", got)
	}
	// A record peeked but not committed before the restart comes back.
	if r, ok, _ := s.Peek(); !ok || string(r.Data) != "d" {
		t.Fatalf("peek = %q %v", r.Data, ok)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, _ := openT(t, dir, Options{Classes: 3, SegmentBytes: 100})
	mustAppend(t, s2, 1, "h")
	if got := drain(t, s2, -1); strings.Join(got, "") != "defgh" {
		t.Fatalf("after restart = %q", got)
	}
	if st := s2.Stats(); st.Records != 0 || st.Bytes != 0 || !st.Oldest.IsZero() {
		t.Fatalf("empty spool stats %+v", st)
	}
	s2.Close()
	// Drained to the end: a third open finds nothing and no segment files.
	s3, _ := openT(t, dir, Options{Classes: 3})
	if got := drain(t, s3, -1); len(got) != 0 {
		t.Fatalf("after full drain and restart = %q", got)
	}
	segs, _ := filepath.Glob(filepath.Join(dir, "c*", "*.seg"))
	if len(segs) != 0 {
		t.Fatalf("segments left: %v", segs)
	}
}

func TestReopenToleratesPartialTail(t *testing.T) {
	recs := []string{"first", "second", "third"}
	one := len(appendRecord(nil, 1, t0, 1, []byte("third")))
	tests := []struct {
		name string
		cut  int // bytes cut off the end of the segment
		want []string
	}{
		{"intact", 0, recs},
		{"one byte", 1, recs[:2]},
		{"inside header", one - 5, recs[:2]},
		{"whole record", one, recs[:2]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s, _ := openT(t, dir, Options{})
			for _, r := range recs {
				mustAppend(t, s, 0, r)
			}
			s.Close()
			seg := onlySegment(t, dir)
			fi, _ := os.Stat(seg)
			if err := os.Truncate(seg, fi.Size()-int64(tt.cut)); err != nil {
				t.Fatal(err)
			}
			s2, d := openT(t, dir, Options{})
			mustAppend(t, s2, 0, "later")
			got := drain(t, s2, -1)
			want := append(append([]string{}, tt.want...), "later")
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("got %q, want %q", got, want)
			}
			if d.byReason[ReasonCorrupt] != 0 {
				t.Fatalf("a cut tail is not corruption: %v", d.byReason)
			}
		})
	}
}

func onlySegment(t *testing.T, dir string) string {
	t.Helper()
	segs, _ := filepath.Glob(filepath.Join(dir, "c0", "*.seg"))
	if len(segs) != 1 {
		t.Fatalf("segments: %v", segs)
	}
	return segs[0]
}

func TestReopenDropsAfterCorruptRecord(t *testing.T) {
	dir := t.TempDir()
	s, _ := openT(t, dir, Options{})
	for _, r := range []string{"first", "second", "third"} {
		mustAppend(t, s, 0, r)
	}
	s.Close()
	seg := onlySegment(t, dir)
	b, _ := os.ReadFile(seg)
	i := bytes.Index(b, []byte("second"))
	b[i] = 'S'
	os.WriteFile(seg, b, 0o640)
	s2, d := openT(t, dir, Options{})
	if got := drain(t, s2, -1); fmt.Sprint(got) != "[first]" {
		t.Fatalf("got %q", got)
	}
	if d.records[0] != 1 {
		t.Fatalf("corrupt drop not reported: %+v", d)
	}
}

func TestSizeBoundDropsLowestClassOldestFirst(t *testing.T) {
	rec := func(s string) int64 { return int64(headerSize + len(s)) }
	payload := "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" // 70 bytes
	per := rec(payload)
	type app struct {
		c   Class
		tag string
	}
	tests := []struct {
		name      string
		max       int64 // in records
		appends   []app
		want      []string // tags left, in drain order
		wantDrops map[Class]int
	}{
		{
			name:    "fits",
			max:     4,
			appends: []app{{0, "e1"}, {1, "s1"}, {2, "a1"}},
			want:    []string{"e1", "s1", "a1"},
		},
		{
			name:      "events dropped oldest first",
			max:       3,
			appends:   []app{{0, "e1"}, {0, "e2"}, {2, "a1"}, {0, "e3"}, {0, "e4"}},
			want:      []string{"a1", "e3", "e4"},
			wantDrops: map[Class]int{0: 2},
		},
		{
			name:      "alarm pushes out events and status before older alarms",
			max:       3,
			appends:   []app{{2, "a1"}, {0, "e1"}, {1, "s1"}, {2, "a2"}, {2, "a3"}},
			want:      []string{"a1", "a2", "a3"},
			wantDrops: map[Class]int{0: 1, 1: 1},
		},
		{
			name:      "events never push out alarms: the new batch is dropped",
			max:       2,
			appends:   []app{{2, "a1"}, {2, "a2"}, {0, "e1"}},
			want:      []string{"a1", "a2"},
			wantDrops: map[Class]int{0: 1},
		},
		{
			name:      "alarms alone: oldest alarm goes",
			max:       2,
			appends:   []app{{2, "a1"}, {2, "a2"}, {2, "a3"}},
			want:      []string{"a2", "a3"},
			wantDrops: map[Class]int{2: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// One record per segment, so drops are per record.
			s, d := openT(t, t.TempDir(), Options{Classes: 3, MaxBytes: tt.max * per, SegmentBytes: 1})
			for _, a := range tt.appends {
				mustAppend(t, s, a.c, a.tag+payload[len(a.tag):])
			}
			if st := s.Stats(); st.Bytes > tt.max*per {
				t.Fatalf("spool %d bytes over bound %d", st.Bytes, tt.max*per)
			}
			var got []string
			for _, p := range drain(t, s, -1) {
				got = append(got, p[:2])
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("left %v, want %v", got, tt.want)
			}
			if tt.wantDrops == nil {
				tt.wantDrops = map[Class]int{}
			}
			if fmt.Sprint(d.records) != fmt.Sprint(tt.wantDrops) {
				t.Fatalf("drops %v, want %v", d.records, tt.wantDrops)
			}
		})
	}
}

func TestCommitOfDroppedRecordIsNoop(t *testing.T) {
	payload := strings.Repeat("p", 50)
	per := int64(headerSize + len(payload))
	s, _ := openT(t, t.TempDir(), Options{MaxBytes: 2 * per, SegmentBytes: 1})
	mustAppend(t, s, 0, "1"+payload[1:])
	r, _, _ := s.Peek()
	mustAppend(t, s, 0, "2"+payload[1:])
	mustAppend(t, s, 0, "3"+payload[1:]) // drops "1" while it is being sent
	if err := s.Commit(r); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range drain(t, s, -1) {
		got = append(got, p[:1])
	}
	if fmt.Sprint(got) != "[2 3]" {
		t.Fatalf("got %v", got)
	}
}

func TestReopenOverBoundDrops(t *testing.T) {
	dir := t.TempDir()
	s, _ := openT(t, dir, Options{SegmentBytes: 1})
	for i := range 5 {
		mustAppend(t, s, 0, fmt.Sprintf("r%d", i))
	}
	s.Close()
	s2, d := openT(t, dir, Options{SegmentBytes: 1, MaxBytes: 2 * int64(headerSize+2)})
	got := drain(t, s2, -1)
	sort.Strings(got)
	if fmt.Sprint(got) != "[r3 r4]" || d.records[0] != 3 {
		t.Fatalf("got %v drops %v", got, d.records)
	}
}

func TestTooLarge(t *testing.T) {
	s, d := openT(t, t.TempDir(), Options{MaxBytes: 100})
	if err := s.Append(0, 3, make([]byte, 100)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v", err)
	}
	if d.byReason[ReasonFull] != 3 {
		t.Fatalf("drops %v", d.byReason)
	}
}

func BenchmarkAppend(b *testing.B) {
	s, err := Open(b.TempDir(), Options{MaxBytes: 1 << 30})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	data := bytes.Repeat([]byte("cg_event,device=btn-1,kind=panic,site=s01,type=pressed seq=1i 1763643792123000001\n"), 5000)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for range b.N {
		if err := s.Append(0, 5000, data); err != nil {
			b.Fatal(err)
		}
		r, _, _ := s.Peek()
		if err := s.Commit(r); err != nil {
			b.Fatal(err)
		}
	}
}

// The spool never takes the disk's last MinFree bytes: the alarm journal needs them.
func TestMinFreeLeavesTheJournalItsSpace(t *testing.T) {
	free := int64(100 << 20)
	var dropped []string
	s, err := Open(t.TempDir(), Options{MinFree: 32 << 20, FreeBytes: func(string) (int64, error) { return free, nil },
		OnDrop: func(c Class, records, points int, reason string) { dropped = append(dropped, reason) }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Append(0, 1, []byte("ok")); err != nil {
		t.Fatal(err)
	}
	free = 32<<20 + 10 // less than MinFree once this record is written
	if err := s.Append(0, 1, []byte("refused")); err != nil {
		t.Fatal(err)
	}
	if len(dropped) != 1 || dropped[0] != ReasonDisk {
		t.Fatalf("dropped %v, want one %s", dropped, ReasonDisk)
	}
	if st := s.Stats(); st.Records != 1 {
		t.Fatalf("stats %+v: want the first record only", st)
	}
}
