package centre

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/campusguard/campusguard/alerting/policelink/dc09"
)

// FieldConfig makes a Receiver answer the way the receiver library behind Home
// Assistant's SIA integration does (and many receiving centres built on it), so
// that the police link's tests keep it honest:
//
//   - a frame it cannot decode or decrypt (wrong key, wrong key encoding, an
//     encrypted frame for an account without a key) is answered at once with
//     "NAK"0000L0R0A0[]_ts: line before receiver, which a strict DC-09 parser
//     refuses;
//   - a clear frame for an account it does not know gets a bare "NAK", with no
//     LF, CRC, length or fields;
//   - the key is the ASCII bytes of the configured string (16, 24 or 32
//     characters: AES-128/192/256), also when the string looks like hex;
//   - accounts are matched as written, upper case;
//   - an ADM-CID report with an extended block it cannot parse (an [H..] time of
//     occurrence: its pattern takes letters, digits, spaces and '^' only) gets the
//     same NAK as an undecodable frame;
//   - its encrypted ACK is padded with '0' and has no '|', and echoes the key as a
//     [K<key>] block when the report carried an extended block (an [H..] time of
//     occurrence, say); a DUH is never encrypted and echoes it in clear.
type FieldConfig struct {
	// Key is the key string as the receiver is configured with it ("" = the
	// accounts are clear text).
	Key string
	// Accounts are the accounts the receiver knows (upper-case hex), all with Key.
	// Empty: every account is known.
	Accounts []string
}

// fieldHandle answers raw like the field receiver. Called with r.mu held.
func (r *Receiver) fieldHandle(rec *Received, now time.Time) {
	fc := r.cfg.Field
	var key *dc09.Key
	if fc.Key != "" {
		k, err := dc09.ParseKey(fc.Key, dc09.KeyASCII)
		if err != nil {
			rec.Err = fmt.Errorf("centre: field key: %w", err)
			rec.Answer, rec.Reply = NAK, dc09.NewFieldNAK(now)
			return
		}
		key = k
	}
	rec.Message, rec.Err = dc09.Decode(rec.Raw, key)
	m := rec.Message
	known := len(fc.Accounts) == 0 || slices.Contains(fc.Accounts, m.Account)
	switch {
	case rec.Err != nil, m.Encrypted && (!known || key == nil):
		if rec.Err == nil {
			rec.Err = fmt.Errorf("centre: field receiver has no key for account %q: %w", m.Account, dc09.ErrNoKey)
		}
		rec.Answer, rec.Reply = NAK, dc09.NewFieldNAK(now)
		return
	case !known:
		rec.Err = fmt.Errorf("centre: unknown account %q", m.Account)
		rec.Answer, rec.Reply = NAK, []byte(`"NAK"`)
		return
	case m.ID == dc09.TokenADMCID && !cidExtOK(m.Ext):
		rec.Err = fmt.Errorf("centre: the field receiver cannot parse ADM-CID extended blocks %v: %w", m.Ext, dc09.ErrFormat)
		rec.Answer, rec.Reply = NAK, dc09.NewFieldNAK(now)
		return
	case len(r.script) > 0:
		rec.Answer, r.script = r.script[0], r.script[1:]
	default:
		rec.Answer = r.cfg.Behavior
	}
	if rec.Answer == ACK && !r.inWindow(m.Timestamp, now) {
		rec.Answer = NAK
	}
	echo := ""
	if len(m.Ext) > 0 && key != nil {
		echo = "[K" + fc.Key + "]"
	}
	route := "R" + m.Receiver + "L" + m.Line
	if m.Receiver == "" {
		route = "R0L" + m.Line
	}
	head := fmt.Sprintf(`"%%s"%04d%s#%s[`, m.Seq, route, m.Account)
	switch rec.Answer {
	case Silent:
		return
	case DUH:
		rec.Reply = dc09.Frame([]byte(fmt.Sprintf(head, "DUH") + "]" + echo))
	case NAK:
		body, _ := dc09.Encode(dc09.Message{ID: dc09.TokenNAK, Receiver: orZero(m.Receiver), Line: m.Line, Account: "0", Timestamp: now}, nil, nil)
		rec.Reply = body
	default:
		if !m.Encrypted {
			rec.Reply = dc09.Frame([]byte(fmt.Sprintf(head, "ACK") + "]" + echo))
			return
		}
		plain := "]" + echo + "_" + now.UTC().Format("15:04:05,01-02-2006")
		enc, err := zeroPadEncrypt([]byte(fc.Key), plain)
		if err != nil {
			rec.Err = err
			return
		}
		rec.Reply = dc09.Frame([]byte(fmt.Sprintf(head, "*ACK") + enc))
	}
}

// cidExtOK reports whether the field receiver's ADM-CID pattern takes ext: block
// values of letters, digits, '_', spaces and '^' only.
func cidExtOK(ext []dc09.ExtBlock) bool {
	for _, e := range ext {
		for _, c := range e.Value {
			ok := c == '_' || c == ' ' || c == '\t' || c == '^' ||
				'0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z'
			if !ok {
				return false
			}
		}
	}
	return true
}

func orZero(s string) string {
	if s == "" {
		return "0"
	}
	return s
}

// zeroPadEncrypt left-pads plain with '0' to the next multiple of 16 (a full
// block when aligned), encrypts it with AES-CBC and a zero IV, and returns
// upper-case hex: the field receiver's encrypted answer.
func zeroPadEncrypt(key []byte, plain string) (string, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return "", fmt.Errorf("centre: field key: %w", err)
	}
	n := len(plain) + 16 - len(plain)%16
	buf := []byte(strings.Repeat("0", n-len(plain)) + plain)
	cipher.NewCBCEncrypter(b, make([]byte, aes.BlockSize)).CryptBlocks(buf, buf)
	return strings.ToUpper(hex.EncodeToString(buf)), nil
}
