package dc09

import (
	"fmt"
	"strings"
)

// Decode parses one frame. The leading LF and trailing CR are optional, the
// CRC and length fields may be upper or lower case hex. The CRC and length are
// checked (ErrCRC, ErrLength) before the body is parsed (ErrFormat,
// ErrTimestamp).
//
// An encrypted frame ("*" before the ID token) is decrypted with key. Without
// a key Decode returns ErrNoKey together with a Message whose header fields
// (ID, Encrypted, Seq, Receiver, Line, Account) are filled, so that a caller
// can pick a per-account key and try again. Errors in the decrypted content
// (a wrong key, most likely) wrap ErrDecrypt as well as the specific error.
// An encrypted message must carry a timestamp.
func Decode(frame []byte, key *Key) (Message, error) {
	f := frame
	if len(f) > 0 && f[0] == '\n' {
		f = f[1:]
	}
	if len(f) > 0 && f[len(f)-1] == '\r' {
		f = f[:len(f)-1]
	}
	if len(f) < headerLen-1 {
		return Message{}, fmt.Errorf("dc09: frame of %d bytes is too short: %w", len(frame), ErrFormat)
	}
	crcField, lenField, body := f[0:4], f[4:8], f[8:]
	wantLen, ok := parse4hex(lenField)
	if !ok {
		return Message{}, fmt.Errorf("dc09: length field %q is not hex: %w", lenField, ErrFormat)
	}
	if int(wantLen) != len(body) || len(body) > MaxBody {
		return Message{}, fmt.Errorf("dc09: length field %q, body has %#04x bytes: %w", lenField, len(body), ErrLength)
	}
	wantCRC, ok := parse4hex(crcField)
	if !ok {
		return Message{}, fmt.Errorf("dc09: CRC field %q is not hex: %w", crcField, ErrFormat)
	}
	if got := crc16(body); got != wantCRC {
		return Message{}, fmt.Errorf("dc09: CRC field %q, body has %04X: %w", crcField, got, ErrCRC)
	}
	return decodeBody(string(body), key)
}

// decodeBody parses the body, from the opening quote to before CR.
func decodeBody(s string, key *Key) (Message, error) {
	var m Message
	bad := func(format string, args ...any) (Message, error) {
		return m, fmt.Errorf("dc09: "+format+": %w", append(args, ErrFormat)...)
	}
	if len(s) == 0 || s[0] != '"' {
		return bad("body does not start with '\"'")
	}
	end := strings.IndexByte(s[1:], '"')
	if end < 0 {
		return bad("ID token has no closing quote")
	}
	tok, rest := s[1:1+end], s[2+end:]
	if strings.HasPrefix(tok, "*") {
		m.Encrypted = true
		tok = tok[1:]
	}
	m.ID = Token(tok)
	if !validToken(m.ID) {
		return bad("ID token %q is not 1..%d characters of A-Z, 0-9, '-'", tok, MaxToken)
	}
	if m.Encrypted && m.ID == TokenNAK {
		return bad("NAK must not be encrypted")
	}
	if len(rest) < 4 {
		return bad("%s: sequence number missing", tok)
	}
	for i := range 4 {
		c := rest[i]
		if c < '0' || c > '9' {
			return bad("%s: sequence %q is not 4 digits", tok, rest[:4])
		}
		m.Seq = m.Seq*10 + int(c-'0')
	}
	rest = rest[4:]
	open := strings.IndexByte(rest, '[')
	if open < 0 {
		return bad("%s %04d: no '[' data block", tok, m.Seq)
	}
	if err := parseRoute(&m, rest[:open]); err != nil {
		return m, err
	}
	inner := rest[open+1:]
	if !m.Encrypted {
		if err := parseTail(&m, inner); err != nil {
			return m, err
		}
		return m, nil
	}
	if key == nil {
		return m, fmt.Errorf("dc09: %s %04d account %q: %w", tok, m.Seq, m.Account, ErrNoKey)
	}
	plain, err := decrypt(inner, key)
	if err != nil {
		return m, fmt.Errorf("dc09: %s %04d account %q: %w", tok, m.Seq, m.Account, err)
	}
	if err := parseTail(&m, plain); err != nil {
		return m, fmt.Errorf("dc09: %s %04d account %q: decrypted content (wrong key?): %w: %w", tok, m.Seq, m.Account, ErrDecrypt, err)
	}
	if m.Timestamp.IsZero() {
		return m, fmt.Errorf("dc09: %s %04d account %q: encrypted message has no timestamp: %w", tok, m.Seq, m.Account, ErrTimestamp)
	}
	return m, nil
}

// parseRoute parses "[R<rcvr>]L<line>#<acct>" (a NAK may use "A<acct>" or no
// account at all) into m.
func parseRoute(m *Message, h string) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("dc09: %s %04d: "+format+": %w", append([]any{m.ID, m.Seq}, append(args, ErrFormat)...)...)
	}
	if strings.HasPrefix(h, "R") {
		i := 1
		for i < len(h) && isHexDigit(h[i]) {
			i++
		}
		m.Receiver = h[1:i]
		if !isHex(m.Receiver, 1, MaxPrefix) {
			return bad("receiver %q must be 1..%d hex digits", m.Receiver, MaxPrefix)
		}
		h = h[i:]
	}
	if !strings.HasPrefix(h, "L") {
		return bad("line prefix 'L' missing in %q", h)
	}
	h = h[1:]
	if i := strings.IndexByte(h, '#'); i >= 0 {
		m.Line, m.Account = h[:i], h[i+1:]
	} else if m.ID == TokenNAK {
		if i := strings.IndexByte(h, 'A'); i >= 0 {
			m.Line, m.Account = h[:i], h[i+1:]
		} else {
			m.Line = h
		}
	} else {
		return bad("account '#' missing")
	}
	if !isHex(m.Line, 1, MaxPrefix) {
		return bad("line %q must be 1..%d hex digits", m.Line, MaxPrefix)
	}
	if !isHex(m.Account, 0, MaxAccount) {
		return bad("account %q must be at most %d hex digits", m.Account, MaxAccount)
	}
	return nil
}

// parseTail parses "data][ext]..._ts", the part after the first '['.
func parseTail(m *Message, s string) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("dc09: %s %04d: "+format+": %w", append([]any{m.ID, m.Seq}, append(args, ErrFormat)...)...)
	}
	end := strings.IndexByte(s, ']')
	if end < 0 {
		return bad("data block has no ']'")
	}
	m.Data, s = s[:end], s[end+1:]
	if !blockContentOK(m.Data) {
		return bad("data block contains '[', CR or LF")
	}
	for strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return bad("extended block has no ']'")
		}
		blk := s[1:end]
		s = s[end+1:]
		if len(blk) == 0 || blk[0] < 'A' || blk[0] > 'Z' {
			return bad("extended block %q has no A-Z tag", blk)
		}
		if !blockContentOK(blk[1:]) {
			return bad("extended block %q contains '[', CR or LF", blk)
		}
		m.Ext = append(m.Ext, ExtBlock{Tag: blk[0], Value: blk[1:]})
	}
	if s == "" {
		return nil
	}
	t, err := parseTimestamp(s)
	if err != nil {
		return fmt.Errorf("dc09: %s %04d: %w", m.ID, m.Seq, err)
	}
	m.Timestamp = t
	return nil
}

// decrypt decodes and decrypts the hex region and strips the pad: up to and
// including the first '|' if it comes before the first ']', else up to the
// first ']'. The result is the clear "data][ext]..._ts".
func decrypt(hexText string, key *Key) (string, error) {
	n := len(hexText)
	if n == 0 || n%(2*16) != 0 {
		return "", fmt.Errorf("encrypted region has %d hex characters, want a non-zero multiple of 32: %w", n, ErrDecrypt)
	}
	buf := make([]byte, n/2)
	for i := range buf {
		hi, ok1 := unhex(hexText[2*i])
		lo, ok2 := unhex(hexText[2*i+1])
		if !ok1 || !ok2 {
			return "", fmt.Errorf("encrypted region has non-hex %q at %d: %w", hexText[2*i:2*i+2], 2*i, ErrDecrypt)
		}
		buf[i] = hi<<4 | lo
	}
	key.decryptCBC(buf)
	rb := -1
	for i, c := range buf {
		if c == '|' {
			return string(buf[i+1:]), nil
		}
		if c == ']' {
			rb = i
			break
		}
	}
	if rb < 0 {
		return "", fmt.Errorf("decrypted content has no ']' (wrong key?): %w", ErrDecrypt)
	}
	return string(buf[rb:]), nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// parse4hex parses exactly four hex digits of either case.
func parse4hex[T ~string | ~[]byte](b T) (uint16, bool) {
	if len(b) != 4 {
		return 0, false
	}
	var v uint16
	for i := range 4 {
		d, ok := unhex(b[i])
		if !ok {
			return 0, false
		}
		v = v<<4 | uint16(d)
	}
	return v, true
}
