package spool

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecodeRecord: the record reader never panics, and what it accepts re-encodes to
// the same bytes.
func FuzzDecodeRecord(f *testing.F) {
	good := appendRecord(nil, 7, t0, 1, []byte("m f=1 1"))
	f.Add(good)
	f.Add(good[:len(good)-2])
	f.Add(append(bytes.Clone(good), good...))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, n, err := DecodeRecord(b)
		if err != nil {
			return
		}
		if n > len(b) || n != headerSize+len(r.Data) {
			t.Fatalf("n=%d len=%d data=%d", n, len(b), len(r.Data))
		}
		re := appendRecord(nil, r.Seq, r.At, r.Points, r.Data)
		if !bytes.Equal(re, b[:n]) {
			t.Fatalf("re-encoding differs")
		}
	})
}

// FuzzOpenSegment: whatever bytes a segment file holds, Open and a full drain neither
// panic nor return records that fail their checksum.
func FuzzOpenSegment(f *testing.F) {
	two := appendRecord(appendRecord(nil, 1, t0, 1, []byte("a")), 2, t0, 2, []byte("b\nc"))
	f.Add(two)
	f.Add(two[:len(two)-1])
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		os.MkdirAll(filepath.Join(dir, "c0"), 0o750)
		os.WriteFile(filepath.Join(dir, "c0", segName(3)), b, 0o640)
		s, err := Open(dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		for range 1000 {
			r, ok, err := s.Peek()
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				return
			}
			if err := s.Commit(r); err != nil {
				t.Fatal(err)
			}
		}
		t.Fatal("spool did not empty")
	})
}
