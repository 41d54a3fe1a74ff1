// Package spool is an on-disk queue of telemetry batches for the times InfluxDB cannot
// take them: bounded in size, ordered, surviving a restart.
//
// Each priority class has its own directory of append-only segment files
// (<dir>/c<class>/<id>.seg). A segment holds records, each length-prefixed and
// checksummed (see DecodeRecord); a record is one batch of line protocol. Every append
// gets a spool-wide sequence number, and Peek returns the record with the lowest one
// among the heads of all classes, so the spool drains in the order it was filled.
//
// A class's read cursor (segment id and offset) is persisted in <dir>/c<class>/cursor
// after each Commit, so a restart resumes after the last committed record. A record
// cut short by a crash at the tail of a segment is dropped (and the file truncated) when
// the spool is reopened.
//
// When an append would take the spool over MaxBytes, whole segments are dropped,
// oldest first, from the lowest class upwards, never from a class above the one being
// appended to: the highest class (alarm history) is kept longest. Drops are reported
// through Options.OnDrop.
//
// Segments are fsynced when they are closed and whenever Sync is called; the owner
// calls Sync periodically (and after appends that must be durable).
//
// A Spool is safe for concurrent use.
package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"golang.org/x/sys/unix"
	"hash/crc32"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Class is a priority class: 0 is dropped first when the spool is full.
type Class uint8

// Drop reasons passed to Options.OnDrop.
const (
	ReasonFull    = "spool_full"    // dropped to keep the spool under MaxBytes
	ReasonCorrupt = "spool_corrupt" // unreadable on disk
	ReasonDisk    = "disk_low"      // refused to keep MinFree bytes of the disk free
)

// ErrTooLarge is returned by Append for a record larger than the whole spool.
var ErrTooLarge = errors.New("spool: record larger than the spool")

// ErrClosed is returned after Close.
var ErrClosed = errors.New("spool: closed")

// Options configure a spool.
type Options struct {
	// MaxBytes bounds the spool's size on disk (default 256 MiB).
	MaxBytes int64
	// SegmentBytes is the size at which a segment is closed and a new one begun
	// (default: MaxBytes/16, at most 8 MiB, at least 64 KiB).
	SegmentBytes int64
	// Classes is the number of priority classes (default 1).
	Classes int
	// OnDrop is told about records dropped (full or corrupt). It is called with the
	// spool's lock held: keep it short (count a metric, log).
	OnDrop func(c Class, records, points int, reason string)
	// Now is the spool's clock for record times (default time.Now).
	Now func() time.Time
	// Logger receives warnings about corruption found on open (default slog.Default()).
	Logger *slog.Logger
	// MinFree is the disk space (bytes) the spool never takes: a record that would
	// leave less free is dropped (ReasonDisk), so telemetry never takes the alarm
	// journal's last space (default 32 MiB; negative = no check).
	MinFree int64
	// FreeBytes reports the free space of the spool's file system (default statfs).
	FreeBytes func(dir string) (int64, error)
}

func (o *Options) defaults() {
	if o.MaxBytes <= 0 {
		o.MaxBytes = 256 << 20
	}
	if o.SegmentBytes <= 0 {
		o.SegmentBytes = min(max(o.MaxBytes/16, 64<<10), 8<<20)
	}
	if o.MinFree == 0 {
		o.MinFree = 32 << 20
	}
	if o.FreeBytes == nil {
		o.FreeBytes = freeBytes
	}
	if o.Classes <= 0 {
		o.Classes = 1
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.OnDrop == nil {
		o.OnDrop = func(Class, int, int, string) {}
	}
}

type segment struct {
	id      uint64
	size    int64 // bytes on disk
	records int   // unread records
	points  int   // points in unread records
}

type queue struct {
	class Class
	dir   string
	segs  []*segment // oldest first; the last one may be the active segment
	cur   int64      // read offset in segs[0]

	w     *os.File // active segment, open for append (always the last of segs)
	wSeg  *segment
	dirty bool

	r    *os.File // reader on segs[0]
	rSeg uint64

	headOK  bool // cached header of the record at the cursor
	headSeq uint64
	headAt  time.Time
	headLen int // payload length

	nextID uint64
}

// Spool is the on-disk queue. See the package doc.
type Spool struct {
	mu     sync.Mutex
	o      Options
	dir    string
	qs     []*queue
	seq    uint64
	bytes  int64
	buf    []byte
	closed bool
}

// Open opens (creating it if needed) the spool in dir, checking every record.
func Open(dir string, o Options) (*Spool, error) {
	o.defaults()
	if o.Classes > 255 {
		return nil, fmt.Errorf("spool %s: %d classes, at most 255", dir, o.Classes)
	}
	s := &Spool{o: o, dir: dir}
	for c := 0; c < o.Classes; c++ {
		q := &queue{class: Class(c), dir: filepath.Join(dir, "c"+strconv.Itoa(c))}
		if err := os.MkdirAll(q.dir, 0o750); err != nil {
			return nil, fmt.Errorf("spool %s: %w", dir, err)
		}
		if err := s.load(q); err != nil {
			s.closeFiles()
			return nil, err
		}
		s.qs = append(s.qs, q)
	}
	for s.bytes > o.MaxBytes {
		if !s.dropOldest(Class(o.Classes - 1)) {
			break
		}
	}
	return s, nil
}

func segName(id uint64) string { return fmt.Sprintf("%016x.seg", id) }

// load scans one class directory: segments, cursor, records.
func (s *Spool) load(q *queue) error {
	ents, err := os.ReadDir(q.dir)
	if err != nil {
		return fmt.Errorf("spool %s: %w", q.dir, err)
	}
	var ids []uint64
	for _, e := range ents {
		name := e.Name()
		if !strings.HasSuffix(name, ".seg") || e.IsDir() {
			continue
		}
		id, err := strconv.ParseUint(strings.TrimSuffix(name, ".seg"), 16, 64)
		if err != nil {
			continue
		}
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	curSeg, curOff := readCursor(filepath.Join(q.dir, "cursor"))
	q.nextID = curSeg
	for _, id := range ids {
		path := filepath.Join(q.dir, segName(id))
		q.nextID = max(q.nextID, id+1)
		if id < curSeg {
			if err := os.Remove(path); err != nil {
				return fmt.Errorf("spool: remove consumed %s: %w", path, err)
			}
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("spool: read %s: %w", path, err)
		}
		seg := &segment{id: id}
		start := int64(0)
		if id == curSeg && len(q.segs) == 0 {
			start = curOff
		}
		off := 0
		for off < len(data) {
			r, n, err := DecodeRecord(data[off:])
			if err != nil {
				s.o.Logger.Warn("spool: dropping damaged tail of segment", "path", path, "offset", off,
					"bytes", len(data)-off, "err", err)
				if !errors.Is(err, ErrShort) {
					s.o.OnDrop(q.class, 1, 0, ReasonCorrupt)
				}
				if err := os.Truncate(path, int64(off)); err != nil {
					return fmt.Errorf("spool: truncate %s: %w", path, err)
				}
				break
			}
			s.seq = max(s.seq, r.Seq)
			if int64(off) >= start {
				if seg.records == 0 && len(q.segs) == 0 {
					q.cur = int64(off) // the cursor, on a record boundary
				}
				seg.records++
				seg.points += r.Points
			}
			off += n
		}
		seg.size = int64(off)
		if seg.records == 0 {
			// Empty or fully consumed.
			if err := os.Remove(path); err != nil {
				return fmt.Errorf("spool: remove %s: %w", path, err)
			}
			continue
		}
		q.segs = append(q.segs, seg)
		s.bytes += seg.size
	}
	return nil
}

func readCursor(path string) (seg uint64, off int64) {
	b, err := os.ReadFile(path)
	if err != nil || len(b) != 20 || crc32.Checksum(b[:16], castagnoli) != binary.LittleEndian.Uint32(b[16:]) {
		return 0, 0 // none or damaged: start at the oldest segment (re-sent points overwrite themselves)
	}
	return binary.LittleEndian.Uint64(b), int64(binary.LittleEndian.Uint64(b[8:]))
}

func writeCursor(dir string, seg uint64, off int64) error {
	var b [20]byte
	binary.LittleEndian.PutUint64(b[:], seg)
	binary.LittleEndian.PutUint64(b[8:], uint64(off))
	binary.LittleEndian.PutUint32(b[16:], crc32.Checksum(b[:16], castagnoli))
	tmp := filepath.Join(dir, "cursor.tmp")
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o640)
	if err != nil {
		return err
	}
	if _, err := f.Write(b[:]); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, "cursor"))
}

// Append adds a batch of points to class c. To stay under MaxBytes it first drops the
// oldest segments of classes up to c (lowest first); when that is not enough, the new
// record itself is dropped (reported through OnDrop, and nil returned).
func (s *Spool) Append(c Class, points int, data []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if int(c) >= len(s.qs) {
		return fmt.Errorf("spool: class %d out of range", c)
	}
	size := int64(headerSize + len(data))
	if size > s.o.MaxBytes || len(data) > MaxPayload {
		s.o.OnDrop(c, 1, points, ReasonFull)
		return ErrTooLarge
	}
	for s.bytes+size > s.o.MaxBytes {
		if !s.dropOldest(c) {
			s.o.OnDrop(c, 1, points, ReasonFull)
			return nil
		}
	}
	if s.o.MinFree > 0 {
		if free, err := s.o.FreeBytes(s.dir); err == nil && free-size < s.o.MinFree {
			// The disk is nearly full: the alarm journal needs what is left.
			s.o.OnDrop(c, 1, points, ReasonDisk)
			return nil
		}
	}
	q := s.qs[c]
	if q.w == nil || q.wSeg.size >= s.o.SegmentBytes {
		if err := s.rotate(q); err != nil {
			return err
		}
	}
	s.seq++
	s.buf = appendRecord(s.buf[:0], s.seq, s.o.Now(), points, data)
	if _, err := q.w.Write(s.buf); err != nil {
		// Cut any partial record off and start a new segment on the next append.
		_ = q.w.Truncate(q.wSeg.size)
		s.closeWriter(q)
		return fmt.Errorf("spool: append to %s: %w", filepath.Join(q.dir, segName(q.wSeg.id)), err)
	}
	if cap(s.buf) > 4<<20 {
		s.buf = nil // do not keep a huge buffer around
	}
	q.wSeg.size += size
	q.wSeg.records++
	q.wSeg.points += points
	q.dirty = true
	s.bytes += size
	return nil
}

// rotate closes q's active segment (fsynced) and begins a new one.
func (s *Spool) rotate(q *queue) error {
	if q.w != nil {
		if err := q.w.Sync(); err != nil {
			return fmt.Errorf("spool: sync %s: %w", q.w.Name(), err)
		}
		s.closeWriter(q)
	}
	id := q.nextID
	path := filepath.Join(q.dir, segName(id))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("spool: new segment: %w", err)
	}
	q.nextID++
	q.w = f
	q.wSeg = &segment{id: id}
	q.segs = append(q.segs, q.wSeg)
	return nil
}

func (s *Spool) closeWriter(q *queue) {
	if q.w != nil {
		_ = q.w.Close()
	}
	q.w, q.dirty = nil, false
}

func (q *queue) closeReader() {
	if q.r != nil {
		_ = q.r.Close()
		q.r = nil
	}
}

// dropOldest removes the oldest segment of the lowest class <= upto that has one.
func (s *Spool) dropOldest(upto Class) bool {
	for c := 0; c <= int(upto) && c < len(s.qs); c++ {
		q := s.qs[c]
		if len(q.segs) == 0 {
			continue
		}
		seg := q.segs[0]
		s.o.OnDrop(q.class, seg.records, seg.points, ReasonFull)
		s.removeHead(q)
		return true
	}
	return false
}

// removeHead deletes q's oldest segment (consumed or dropped).
func (s *Spool) removeHead(q *queue) {
	seg := q.segs[0]
	if q.wSeg == seg {
		s.closeWriter(q)
		q.wSeg = nil
	}
	if q.rSeg == seg.id {
		q.closeReader()
	}
	path := filepath.Join(q.dir, segName(seg.id))
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.o.Logger.Warn("spool: remove segment", "path", path, "err", err)
	}
	s.bytes -= seg.size
	q.segs = q.segs[1:]
	q.cur = 0
	q.headOK = false
}

// head loads the header of the record at q's cursor.
func (s *Spool) head(q *queue) bool {
	for len(q.segs) > 0 {
		if q.headOK {
			return true
		}
		seg := q.segs[0]
		if seg.records == 0 || q.cur >= seg.size {
			if seg == q.wSeg {
				return false // nothing written after the cursor yet
			}
			s.removeHead(q)
			continue
		}
		if err := s.openReader(q); err != nil {
			s.o.Logger.Warn("spool: cannot read segment", "class", q.class, "segment", seg.id, "err", err)
			s.o.OnDrop(q.class, seg.records, seg.points, ReasonCorrupt)
			s.removeHead(q)
			continue
		}
		var h [headerSize]byte
		if _, err := q.r.ReadAt(h[:], q.cur); err != nil {
			s.o.Logger.Warn("spool: cannot read record header", "class", q.class, "segment", seg.id, "err", err)
			s.o.OnDrop(q.class, seg.records, seg.points, ReasonCorrupt)
			s.removeHead(q)
			continue
		}
		n, seq, at, _, err := decodeHeader(h[:])
		if err != nil || q.cur+int64(headerSize+n) > seg.size {
			s.o.OnDrop(q.class, seg.records, seg.points, ReasonCorrupt)
			s.removeHead(q)
			continue
		}
		q.headOK, q.headSeq, q.headAt, q.headLen = true, seq, at, n
		return true
	}
	return false
}

func (s *Spool) openReader(q *queue) error {
	seg := q.segs[0]
	if q.r != nil && q.rSeg == seg.id {
		return nil
	}
	q.closeReader()
	f, err := os.Open(filepath.Join(q.dir, segName(seg.id)))
	if err != nil {
		return err
	}
	q.r, q.rSeg = f, seg.id
	return nil
}

// Peek returns the oldest record (lowest sequence number across classes) without
// removing it; ok is false when the spool is empty. Data is the caller's.
func (s *Spool) Peek() (r Record, ok bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return Record{}, false, ErrClosed
	}
	for {
		var best *queue
		for _, q := range s.qs {
			if s.head(q) && (best == nil || q.headSeq < best.headSeq) {
				best = q
			}
		}
		if best == nil {
			return Record{}, false, nil
		}
		seg := best.segs[0]
		buf := make([]byte, headerSize+best.headLen)
		_, err := best.r.ReadAt(buf, best.cur)
		rec, size, derr := DecodeRecord(buf)
		if err == nil {
			err = derr
		}
		if err != nil {
			s.o.Logger.Warn("spool: dropping unreadable rest of segment", "class", best.class, "segment", seg.id, "err", err)
			s.o.OnDrop(best.class, seg.records, seg.points, ReasonCorrupt)
			s.removeHead(best)
			continue
		}
		rec.Data = buf[headerSize:size:size]
		rec.Class, rec.seg, rec.off = best.class, seg.id, best.cur
		return rec, true, nil
	}
}

// Commit removes r (returned by Peek) from the spool and persists the read cursor.
// Committing a record that was dropped meanwhile is a no-op.
func (s *Spool) Commit(r Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if int(r.Class) >= len(s.qs) {
		return fmt.Errorf("spool: class %d out of range", r.Class)
	}
	q := s.qs[r.Class]
	if len(q.segs) == 0 || q.segs[0].id != r.seg || q.cur != r.off {
		return nil
	}
	seg := q.segs[0]
	q.cur += r.Size()
	seg.records--
	seg.points -= r.Points
	q.headOK = false
	cseg, coff := seg.id, q.cur
	if seg.records == 0 && (seg != q.wSeg || q.cur >= seg.size) {
		s.removeHead(q)
		cseg, coff = seg.id+1, 0
	}
	if err := writeCursor(q.dir, cseg, coff); err != nil {
		return fmt.Errorf("spool: cursor %s: %w", q.dir, err)
	}
	return nil
}

// Sync flushes appended records to stable storage.
func (s *Spool) Sync() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.syncLocked()
}

func (s *Spool) syncLocked() error {
	var errs []error
	for _, q := range s.qs {
		if q.w != nil && q.dirty {
			if err := q.w.Sync(); err != nil {
				errs = append(errs, fmt.Errorf("spool: sync %s: %w", q.w.Name(), err))
				continue
			}
			q.dirty = false
		}
	}
	return errors.Join(errs...)
}

// Stats describe the spool's content.
type Stats struct {
	Bytes   int64     // on disk
	Records int       // unread records
	Points  int       // points in unread records
	Oldest  time.Time // spool time of the oldest unread record (zero when empty)
	Classes []ClassStats
}

// ClassStats describe one class.
type ClassStats struct {
	Records, Points int
}

// Stats returns the spool's current size and age.
func (s *Spool) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{Bytes: s.bytes, Classes: make([]ClassStats, len(s.qs))}
	if s.closed {
		return st
	}
	for i, q := range s.qs {
		for _, seg := range q.segs {
			st.Classes[i].Records += seg.records
			st.Classes[i].Points += seg.points
		}
		st.Records += st.Classes[i].Records
		st.Points += st.Classes[i].Points
		if s.head(q) && (st.Oldest.IsZero() || q.headAt.Before(st.Oldest)) {
			st.Oldest = q.headAt
		}
	}
	return st
}

// Close syncs and closes the spool; the records stay on disk for the next Open.
func (s *Spool) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	err := s.syncLocked()
	s.closeFiles()
	s.closed = true
	return err
}

func (s *Spool) closeFiles() {
	for _, q := range s.qs {
		s.closeWriter(q)
		q.closeReader()
	}
}

// freeBytes is the space available to the process on dir's file system.
func freeBytes(dir string) (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}
