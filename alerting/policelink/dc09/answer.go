package dc09

import (
	"bytes"
	"fmt"
	"strings"
	"time"
)

// AnswerForm says how a receiver wrote its answer.
type AnswerForm int

const (
	// FormStandard is a valid frame (CRC, length, "[R]L#acct" order), as ParseResponse
	// accepts it.
	FormStandard AnswerForm = iota
	// FormSwapped is a framed NAK or DUH whose routing fields are out of order
	// ("NAK"0000L0R0A0[]_ts): a receiver library in the field answers so when it
	// cannot decrypt or parse a frame, or has no key for the account.
	FormSwapped
	// FormLoose is a NAK or DUH whose fields do not follow the grammar otherwise
	// (a missing receiver number written as "None", no data block...).
	FormLoose
	// FormBare is the quoted token alone, without LF, CRC, length or fields
	// ("NAK"): the same library's answer for an account it does not know.
	FormBare
)

// String returns "standard", "swapped routing fields", "loose" or "bare".
func (f AnswerForm) String() string {
	switch f {
	case FormStandard:
		return "standard"
	case FormSwapped:
		return "swapped routing fields"
	case FormLoose:
		return "loose"
	case FormBare:
		return "bare"
	}
	return fmt.Sprintf("AnswerForm(%d)", int(f))
}

// Answer is a receiver's answer as a transmitter reads it: the decoded message
// and how it was written. For FormSwapped, FormLoose and FormBare answers only
// ID is certain; Seq, Receiver, Line, Account and Timestamp are filled when they
// could be read.
type Answer struct {
	Message
	Form AnswerForm
}

// ParseAnswer reads a receiver's answer to a transmitted message. A valid ACK,
// NAK or DUH frame is returned as ParseResponse returns it (FormStandard).
// Otherwise, an answer whose ID token is NAK or DUH is still that answer,
// whatever the order of its routing fields or its framing: receivers in the
// field answer a frame they cannot decrypt or parse with "NAK"0000L0R0A0[]_ts
// (line before receiver), and an unknown account with a bare "NAK". When such an
// answer carries a CRC and length, they must be right (a corrupted frame is not
// an answer). Anything else is an error from ParseResponse. An ACK is never read
// loosely: only a valid frame acknowledges.
func ParseAnswer(b []byte, key *Key) (Answer, error) {
	m, err := ParseResponse(b, key)
	if err == nil {
		return Answer{Message: m, Form: FormStandard}, nil
	}
	a, ok := looseAnswer(b)
	if !ok {
		return Answer{Message: m}, err
	}
	return a, nil
}

// looseAnswer reads a NAK or DUH that Decode refused.
func looseAnswer(b []byte) (Answer, bool) {
	s := string(bytes.Trim(b, "\r\n\x00 \t"))
	q := strings.IndexByte(s, '"')
	if q < 0 {
		return Answer{}, false
	}
	header, body := s[:q], s[q:]
	end := strings.IndexByte(body[1:], '"')
	if end < 0 {
		return Answer{}, false
	}
	tok := Token(body[1 : 1+end])
	if tok != TokenNAK && tok != TokenDUH {
		return Answer{}, false
	}
	switch {
	case header == "":
	case len(header) == 8:
		crc, ok1 := parse4hex(header[:4])
		n, ok2 := parse4hex(header[4:])
		if !ok1 || !ok2 || int(n) != len(body) || crc16([]byte(body)) != crc {
			return Answer{}, false
		}
	default:
		return Answer{}, false
	}
	a := Answer{Message: Message{ID: tok}, Form: FormBare}
	rest := body[2+end:]
	if rest == "" {
		if header != "" {
			a.Form = FormLoose
		}
		return a, true
	}
	a.Form = FormLoose
	if len(rest) >= 4 && isDigits(rest[:4], 4, 4) {
		for i := range 4 {
			a.Seq = a.Seq*10 + int(rest[i]-'0')
		}
		rest = rest[4:]
	}
	route := rest
	if i := strings.IndexByte(rest, '['); i >= 0 {
		route = rest[:i]
	}
	rPos, lPos := -1, -1
	for i := 0; i < len(route); i++ {
		c := route[i]
		if c != 'R' && c != 'L' && c != '#' && c != 'A' {
			continue
		}
		j := i + 1
		for j < len(route) && isHexDigit(route[j]) && !(c != '#' && route[j] == 'A' && j > i+1) {
			j++
		}
		v := route[i+1 : j]
		switch {
		case c == 'R' && rPos < 0 && v != "" && len(v) <= MaxPrefix:
			rPos, a.Receiver = i, v
		case c == 'L' && lPos < 0 && v != "" && len(v) <= MaxPrefix:
			lPos, a.Line = i, v
		case (c == '#' || c == 'A') && a.Account == "" && len(v) <= MaxAccount:
			a.Account = v
		}
		if j > i+1 {
			i = j - 1
		}
	}
	if rPos >= 0 && lPos >= 0 && lPos < rPos {
		a.Form = FormSwapped
	}
	if len(rest) >= tsLen {
		if t, err := parseTimestamp(rest[len(rest)-tsLen:]); err == nil {
			a.Timestamp = t
		}
	}
	return a, true
}

// Redacted is what RedactKeys leaves of a key block's content.
const Redacted = "…redacted…"

// RedactKeys returns s with the content of every "[K…]" block replaced by
// Redacted. A receiver library in the field echoes the account's key in a [K…]
// block of its (encrypted) ACK, or of its clear DUH, when the report carried an
// extended block: redact every answer before it is logged, printed or shown.
func RedactKeys(s string) string {
	if !strings.Contains(s, "[K") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "[K")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i+2])
		s = s[i+2:]
		end := strings.IndexByte(s, ']')
		if end < 0 {
			end = len(s)
		}
		if end > 0 {
			b.WriteString(Redacted)
		}
		s = s[end:]
	}
}

// RedactMessage returns m with the value of its K extended blocks replaced by
// Redacted (see RedactKeys); m itself is not modified.
func RedactMessage(m Message) Message {
	for i, e := range m.Ext {
		if e.Tag == 'K' {
			ext := append([]ExtBlock(nil), m.Ext...)
			for j := i; j < len(ext); j++ {
				if ext[j].Tag == 'K' {
					ext[j].Value = Redacted
				}
			}
			m.Ext = ext
			m.Data = RedactKeys(m.Data)
			return m
		}
	}
	m.Data = RedactKeys(m.Data)
	return m
}

// NewFieldNAK returns the rejection a receiver library in the field sends for a
// frame it cannot decrypt or parse: "NAK"0000L0R0A0[]_ts, line before receiver,
// with a valid CRC and length. Decode refuses it; ParseAnswer reads it as a NAK
// (FormSwapped).
func NewFieldNAK(receiverNow time.Time) []byte {
	body, _ := appendTimestamp([]byte(`"NAK"0000L0R0A0[]`), receiverNow)
	return Frame(body)
}

// Frame wraps body (from the opening quote of the ID token to before CR) in LF,
// CRC, length and CR, without checking it: for receivers and tests that must
// send what Encode would refuse.
func Frame(body []byte) []byte {
	out := make([]byte, headerLen, headerLen+len(body)+1)
	out[0] = '\n'
	put4hex(out[1:5], crc16(body))
	put4hex(out[5:9], uint16(len(body)&0xFFFF))
	out = append(out, body...)
	return append(out, '\r')
}
