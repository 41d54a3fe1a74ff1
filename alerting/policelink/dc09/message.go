package dc09

import "time"

// Token is the DC-09 ID token, the word between the quotes of a frame
// (without the leading '*' that marks encryption).
type Token string

// Well-known ID tokens.
const (
	TokenSIADCS Token = "SIA-DCS" // SIA DC-03 payload
	TokenADMCID Token = "ADM-CID" // Contact ID payload
	TokenNULL   Token = "NULL"    // supervision (link test)
	TokenACK    Token = "ACK"     // receiver: delivered
	TokenNAK    Token = "NAK"     // receiver: timestamp rejected
	TokenDUH    Token = "DUH"     // receiver: cannot process
)

// Field limits of the frame.
const (
	// MaxBody is the largest body (from the opening quote to before CR) the
	// 0LLL length field can describe.
	MaxBody = 0xFFF
	// MaxAccount is the longest account, in hex characters.
	MaxAccount = 16
	// MaxPrefix is the longest receiver number or line prefix, in hex characters.
	MaxPrefix = 6
	// MaxToken is the longest ID token accepted.
	MaxToken = 16
)

// ExtBlock is an extended data block "[<Tag><Value>]" following the data block,
// e.g. Tag 'X' longitude, 'Y' latitude, 'H' time of occurrence, 'I' text,
// 'V' verification (snapshot URL), 'M' MAC. Tag is an upper-case ASCII letter.
type ExtBlock struct {
	Tag   byte
	Value string
}

// Message is one decoded DC-09 message.
//
// Receiver is the hex receiver number without its 'R' ("" when absent), Line
// the hex line prefix without its 'L' (required), Account the hex account
// without its '#'. Data is the content of the first [...] block, e.g.
// "#1234|NRR|Atest"; it never contains '[', ']', CR or LF. Timestamp is UTC
// with second precision; the zero time means "no timestamp".
//
// A NAK is written with the account marker 'A' ("L0A0") instead of '#',
// unless its Line contains 'A' (then '#' is used).
type Message struct {
	ID        Token
	Encrypted bool
	Seq       int
	Receiver  string
	Line      string
	Account   string
	Data      string
	Ext       []ExtBlock
	Timestamp time.Time
}

// isHexDigit reports whether c is 0-9, A-F or a-f.
func isHexDigit(c byte) bool {
	return '0' <= c && c <= '9' || 'A' <= c && c <= 'F' || 'a' <= c && c <= 'f'
}

// isHex reports whether s has min..max characters, all hex digits.
func isHex(s string, minLen, maxLen int) bool {
	if len(s) < minLen || len(s) > maxLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isHexDigit(s[i]) {
			return false
		}
	}
	return true
}

// validToken reports whether t is 1..MaxToken characters of A-Z, 0-9 and '-'.
func validToken(t Token) bool {
	if len(t) == 0 || len(t) > MaxToken {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !('A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// blockContentOK reports whether s may stand inside a [...] block.
func blockContentOK(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '[', ']', '\r', '\n':
			return false
		}
	}
	return true
}

// nakAccountForm reports whether m is written with the 'A' account marker.
func nakAccountForm(m *Message) bool {
	if m.ID != TokenNAK {
		return false
	}
	for i := 0; i < len(m.Line); i++ {
		if m.Line[i] == 'A' {
			return false
		}
	}
	return true
}
