package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"time"
)

// The record format, little-endian:
//
//	offset size field
//	0      4    payload length n
//	4      4    CRC-32C (Castagnoli) of bytes 8 .. 28+n
//	8      8    seq: spool-wide order of appends (drain order)
//	16     8    spooled-at time, Unix nanoseconds
//	24     4    number of points in the payload
//	28     n    payload (line protocol)
const headerSize = 28

// MaxPayload bounds one record's payload; a larger length field means corruption.
const MaxPayload = 64 << 20

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Errors of DecodeRecord.
var (
	// ErrShort means the bytes end inside a record: a write cut short by a crash.
	ErrShort = errors.New("spool: truncated record")
	// ErrCorrupt means the record's length or checksum is wrong.
	ErrCorrupt = errors.New("spool: corrupt record")
)

// Record is one spooled batch.
type Record struct {
	Class  Class     // priority class
	Seq    uint64    // spool-wide append order
	At     time.Time // when it was spooled
	Points int       // points in Data
	Data   []byte    // the batch (line protocol)

	seg uint64 // segment id and offset: where Commit moves the cursor past
	off int64
}

// Size is the record's size on disk.
func (r *Record) Size() int64 { return int64(headerSize + len(r.Data)) }

// appendRecord appends r's encoding to dst.
func appendRecord(dst []byte, seq uint64, at time.Time, points int, data []byte) []byte {
	var h [headerSize]byte
	binary.LittleEndian.PutUint32(h[0:], uint32(len(data)))
	binary.LittleEndian.PutUint64(h[8:], seq)
	binary.LittleEndian.PutUint64(h[16:], uint64(at.UnixNano()))
	binary.LittleEndian.PutUint32(h[24:], uint32(points))
	c := crc32.Update(0, castagnoli, h[8:])
	c = crc32.Update(c, castagnoli, data)
	binary.LittleEndian.PutUint32(h[4:], c)
	dst = append(dst, h[:]...)
	return append(dst, data...)
}

// DecodeRecord decodes the record at the start of b and returns it with the number of
// bytes it takes. Data aliases b. It returns ErrShort when b ends inside the record
// and ErrCorrupt when the length or checksum is wrong; it never panics.
func DecodeRecord(b []byte) (Record, int, error) {
	if len(b) < headerSize {
		return Record{}, 0, ErrShort
	}
	n := binary.LittleEndian.Uint32(b[0:])
	if n > MaxPayload {
		return Record{}, 0, fmt.Errorf("%w: length %d", ErrCorrupt, n)
	}
	total := headerSize + int(n)
	if len(b) < total {
		return Record{}, 0, ErrShort
	}
	want := binary.LittleEndian.Uint32(b[4:])
	if got := crc32.Checksum(b[8:total], castagnoli); got != want {
		return Record{}, 0, fmt.Errorf("%w: checksum %08x, want %08x", ErrCorrupt, got, want)
	}
	r := Record{
		Seq:    binary.LittleEndian.Uint64(b[8:]),
		At:     time.Unix(0, int64(binary.LittleEndian.Uint64(b[16:]))),
		Points: int(binary.LittleEndian.Uint32(b[24:])),
		Data:   b[headerSize:total:total],
	}
	return r, total, nil
}

// decodeHeader reads the fixed header (no checksum check: the payload is not read).
func decodeHeader(h []byte) (n int, seq uint64, at time.Time, points int, err error) {
	if len(h) < headerSize {
		return 0, 0, time.Time{}, 0, ErrShort
	}
	ln := binary.LittleEndian.Uint32(h[0:])
	if ln > MaxPayload {
		return 0, 0, time.Time{}, 0, fmt.Errorf("%w: length %d", ErrCorrupt, ln)
	}
	return int(ln), binary.LittleEndian.Uint64(h[8:]), time.Unix(0, int64(binary.LittleEndian.Uint64(h[16:]))),
		int(binary.LittleEndian.Uint32(h[24:])), nil
}
