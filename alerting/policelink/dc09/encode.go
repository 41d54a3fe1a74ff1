package dc09

import (
	"fmt"
	"io"
)

const upperHex = "0123456789ABCDEF"

// headerLen is the length of "<LF>CCCC0LLL" before the body.
const headerLen = 9

// Encode builds the frame for m, leading LF and trailing CR included, with
// upper-case CRC and length fields.
//
// When m.Encrypted is set, the region after the first '[' is encrypted with
// key (required, else ErrNoKey), m.Timestamp is mandatory (else ErrTimestamp)
// and the pad characters are read from pad: nil means crypto/rand, FixedPad
// gives reproducible output. key and pad are ignored for clear messages.
func Encode(m Message, key *Key, pad io.Reader) ([]byte, error) {
	if err := validate(&m); err != nil {
		return nil, err
	}
	if m.Encrypted && key == nil {
		return nil, fmt.Errorf("dc09: encode %s seq %04d: %w", m.ID, m.Seq, ErrNoKey)
	}
	tail := tailLen(&m)
	var padN, plainN int
	size := headerLen + 2 + len(m.ID) + 1 + 4 + 1 + len(m.Receiver) + 1 + len(m.Line) + 1 + len(m.Account) + 1 + 1
	if m.Encrypted {
		padN = 16 - (1+tail)%16
		plainN = padN + 1 + tail
		size += 2 * plainN
	} else {
		size += tail
	}
	buf := make([]byte, headerLen, size)
	buf[0] = '\n'
	buf = append(buf, '"')
	if m.Encrypted {
		buf = append(buf, '*')
	}
	buf = append(buf, m.ID...)
	buf = append(buf, '"')
	buf = append4(buf, m.Seq)
	if m.Receiver != "" {
		buf = append(buf, 'R')
		buf = append(buf, m.Receiver...)
	}
	buf = append(buf, 'L')
	buf = append(buf, m.Line...)
	if nakAccountForm(&m) {
		buf = append(buf, 'A')
	} else {
		buf = append(buf, '#')
	}
	buf = append(buf, m.Account...)
	buf = append(buf, '[')
	var err error
	if !m.Encrypted {
		if buf, err = appendTail(buf, &m); err != nil {
			return nil, err
		}
	} else {
		// Build the plaintext where its hex form goes, then hex-encode it
		// backwards in place: byte i is read before positions 2i and 2i+1 are
		// written, and bytes before i sit below 2i, so nothing unread is lost.
		start := len(buf)
		plain := buf[start : start+padN]
		if err := fillPad(plain, pad); err != nil {
			return nil, err
		}
		plain = append(plain, '|')
		if plain, err = appendTail(plain, &m); err != nil {
			return nil, err
		}
		key.encryptCBC(plain)
		buf = buf[:start+2*plainN]
		for i := plainN - 1; i >= 0; i-- {
			c := plain[i]
			buf[start+2*i] = upperHex[c>>4]
			buf[start+2*i+1] = upperHex[c&0x0F]
		}
	}
	body := buf[headerLen:]
	if len(body) > MaxBody {
		return nil, fmt.Errorf("dc09: encode %s seq %04d: body of %d bytes exceeds %d: %w", m.ID, m.Seq, len(body), MaxBody, ErrLength)
	}
	put4hex(buf[1:5], crc16(body))
	put4hex(buf[5:9], uint16(len(body)))
	return append(buf, '\r'), nil
}

// tailLen is the length of "data][ext]..._ts".
func tailLen(m *Message) int {
	n := len(m.Data) + 1
	for _, e := range m.Ext {
		n += 3 + len(e.Value)
	}
	if !m.Timestamp.IsZero() {
		n += tsLen
	}
	return n
}

// appendTail appends "data][ext]..._ts", the part after the first '['.
func appendTail(b []byte, m *Message) ([]byte, error) {
	b = append(b, m.Data...)
	b = append(b, ']')
	for _, e := range m.Ext {
		b = append(b, '[', e.Tag)
		b = append(b, e.Value...)
		b = append(b, ']')
	}
	if m.Timestamp.IsZero() {
		return b, nil
	}
	return appendTimestamp(b, m.Timestamp)
}

func append4(b []byte, n int) []byte {
	return append(b, byte('0'+n/1000), byte('0'+n/100%10), byte('0'+n/10%10), byte('0'+n%10))
}

func put4hex(dst []byte, v uint16) {
	dst[0] = upperHex[v>>12]
	dst[1] = upperHex[v>>8&0xF]
	dst[2] = upperHex[v>>4&0xF]
	dst[3] = upperHex[v&0xF]
}

// validate checks that m can be encoded so that Decode gives m back.
func validate(m *Message) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("dc09: encode %q seq %d: "+format+": %w", append([]any{m.ID, m.Seq}, append(args, ErrFormat)...)...)
	}
	if !validToken(m.ID) {
		return bad("ID token must be 1..%d characters of A-Z, 0-9, '-'", MaxToken)
	}
	if m.Encrypted && m.ID == TokenNAK {
		return bad("NAK is never encrypted")
	}
	if m.Seq < 0 || m.Seq > MaxSeq {
		return bad("sequence outside 0000..%04d", MaxSeq)
	}
	if m.Receiver != "" && !isHex(m.Receiver, 1, MaxPrefix) {
		return bad("receiver %q must be 1..%d hex digits", m.Receiver, MaxPrefix)
	}
	if !isHex(m.Line, 1, MaxPrefix) {
		return bad("line %q must be 1..%d hex digits", m.Line, MaxPrefix)
	}
	if !isHex(m.Account, 0, MaxAccount) {
		return bad("account %q must be at most %d hex digits", m.Account, MaxAccount)
	}
	if !blockContentOK(m.Data) {
		return bad("data must not contain '[', ']', CR or LF")
	}
	for i, e := range m.Ext {
		if e.Tag < 'A' || e.Tag > 'Z' {
			return bad("extended block %d: tag %q is not A-Z", i, e.Tag)
		}
		if !blockContentOK(e.Value) {
			return bad("extended block %d: value must not contain '[', ']', CR or LF", i)
		}
	}
	if m.Encrypted && m.Timestamp.IsZero() {
		return fmt.Errorf("dc09: encode %q seq %d: encrypted message needs a timestamp: %w", m.ID, m.Seq, ErrTimestamp)
	}
	return nil
}
