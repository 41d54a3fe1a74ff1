package dc09

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

func TestEncodeErrors(t *testing.T) {
	ts := utc(2025, 9, 24, 16, 20, 1)
	ok := Message{ID: TokenADMCID, Seq: 1, Receiver: "0", Line: "0", Account: "1234", Data: "#1234|1602 00 000", Timestamp: ts}
	key := mustKey(t, vectorHexKey, KeyHex)
	tests := []struct {
		name   string
		edit   func(*Message)
		key    *Key
		pad    io.Reader
		target error
	}{
		{"empty ID", func(m *Message) { m.ID = "" }, nil, nil, ErrFormat},
		{"ID with quote", func(m *Message) { m.ID = `A"B` }, nil, nil, ErrFormat},
		{"ID with star", func(m *Message) { m.ID = "*ACK" }, nil, nil, ErrFormat},
		{"ID too long", func(m *Message) { m.ID = Token(strings.Repeat("A", MaxToken+1)) }, nil, nil, ErrFormat},
		{"seq negative", func(m *Message) { m.Seq = -1 }, nil, nil, ErrFormat},
		{"seq too big", func(m *Message) { m.Seq = 10000 }, nil, nil, ErrFormat},
		{"receiver not hex", func(m *Message) { m.Receiver = "0G" }, nil, nil, ErrFormat},
		{"receiver too long", func(m *Message) { m.Receiver = "1234567" }, nil, nil, ErrFormat},
		{"no line", func(m *Message) { m.Line = "" }, nil, nil, ErrFormat},
		{"line not hex", func(m *Message) { m.Line = "L" }, nil, nil, ErrFormat},
		{"account not hex", func(m *Message) { m.Account = "12#4" }, nil, nil, ErrFormat},
		{"account too long", func(m *Message) { m.Account = strings.Repeat("1", 17) }, nil, nil, ErrFormat},
		{"data with ]", func(m *Message) { m.Data = "a]b" }, nil, nil, ErrFormat},
		{"data with CR", func(m *Message) { m.Data = "a\rb" }, nil, nil, ErrFormat},
		{"ext tag", func(m *Message) { m.Ext = []ExtBlock{{Tag: 'x', Value: "1"}} }, nil, nil, ErrFormat},
		{"ext value", func(m *Message) { m.Ext = []ExtBlock{{Tag: 'X', Value: "[1"}} }, nil, nil, ErrFormat},
		{"year", func(m *Message) { m.Timestamp = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }, nil, nil, ErrTimestamp},
		{"too long", func(m *Message) { m.Data = strings.Repeat("x", MaxBody) }, nil, nil, ErrLength},
		{"encrypted too long", func(m *Message) { m.Encrypted = true; m.Data = strings.Repeat("x", MaxBody/2) }, key, nil, ErrLength},
		{"encrypted NAK", func(m *Message) { m.Encrypted = true; m.ID = TokenNAK }, key, nil, ErrFormat},
		{"encrypted no key", func(m *Message) { m.Encrypted = true }, nil, nil, ErrNoKey},
		{"encrypted no timestamp", func(m *Message) { m.Encrypted = true; m.Timestamp = time.Time{} }, key, nil, ErrTimestamp},
		{"pad source fails", func(m *Message) { m.Encrypted = true }, key, iotest.ErrReader(io.ErrUnexpectedEOF), io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := ok
			tt.edit(&m)
			b, err := Encode(m, tt.key, tt.pad)
			if !errors.Is(err, tt.target) || b != nil {
				t.Fatalf("Encode(%#v) = %q, %v; want %v", m, b, err, tt.target)
			}
			if !strings.HasPrefix(err.Error(), "dc09: ") {
				t.Fatalf("error %q lacks the dc09: prefix", err)
			}
		})
	}
	if _, err := Encode(ok, nil, nil); err != nil {
		t.Fatalf("Encode(valid): %v", err)
	}
}

// TestEncodeTimestampUTC checks that a local timestamp is sent in UTC and
// that sub-second precision is dropped.
func TestEncodeTimestampUTC(t *testing.T) {
	shanghai := time.FixedZone("CST", 8*3600)
	m := Message{ID: TokenNULL, Line: "0", Account: "1234",
		Timestamp: time.Date(2025, 9, 25, 0, 20, 1, 999_000_000, shanghai)}
	b, err := Encode(m, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(b, []byte("[]_16:20:01,09-24-2025\r")) {
		t.Fatalf("Encode = %q, want UTC timestamp 16:20:01,09-24-2025", b)
	}
	got, err := Decode(b, nil)
	if err != nil || !got.Timestamp.Equal(utc(2025, 9, 24, 16, 20, 1)) || got.Timestamp.Location() != time.UTC {
		t.Fatalf("Decode = %v, %v", got.Timestamp, err)
	}
}

// TestEncryptRoundTrip encrypts every pad length 1..16 with every key size,
// with random and deterministic pads.
func TestEncryptRoundTrip(t *testing.T) {
	keys := map[string]*Key{
		"AES-128 hex":   mustKey(t, strings.Repeat("0123456789ABCDEF", 2), KeyHex),
		"AES-192 hex":   mustKey(t, strings.Repeat("0123456789abcdef", 3), KeyHex),
		"AES-256 hex":   mustKey(t, strings.Repeat("FEDCBA9876543210", 4), KeyHex),
		"AES-128 ASCII": mustKey(t, "campusguard-key!", KeyASCII),
		"AES-192 ASCII": mustKey(t, "campusguard-key-192-bit!", KeyASCII),
		"AES-256 ASCII": mustKey(t, "campusguard-key-with-256-bits!!!", KeyASCII),
	}
	for name, key := range keys {
		t.Run(name, func(t *testing.T) {
			seen := map[int]bool{}
			for n := range 24 {
				m := Message{ID: TokenSIADCS, Encrypted: true, Seq: n + 1, Receiver: "1", Line: "2", Account: "ABC123",
					Data: "#ABC123|Nri1/PA" + strings.Repeat("0", n), Timestamp: utc(2025, 9, 24, 16, 20, 1)}
				if n >= 16 {
					m.Ext = []ExtBlock{{Tag: 'V', Value: "http://cam/" + strings.Repeat("1", n)}}
				}
				for _, pad := range []io.Reader{nil, FixedPad('Z'), FixedPad('|')} {
					b, err := Encode(m, key, pad)
					if err != nil {
						t.Fatalf("Encode: %v", err)
					}
					got, err := Decode(b, key)
					if err != nil || !reflect.DeepEqual(got, m) {
						t.Fatalf("round trip via %q: %v\n got %#v\nwant %#v", b, err, got, m)
					}
					open := bytes.IndexByte(b, '[')
					raw := rawDecrypt(t, key, string(b[open+1:len(b)-1]))
					padN := bytes.IndexByte(raw, '|')
					if padN < 1 || padN > 16 || len(raw)%16 != 0 {
						t.Fatalf("plaintext %q: pad of %d", raw, padN)
					}
					seen[padN] = true
					for _, c := range raw[:padN] {
						if !isAlnum(c) {
							t.Fatalf("pad %q has non-alphanumeric %q", raw[:padN], c)
						}
					}
					if hexPart := string(b[open+1 : len(b)-1]); strings.ToUpper(hexPart) != hexPart {
						t.Fatalf("encrypted region %q is not upper case", hexPart)
					}
				}
			}
			for n := 1; n <= 16; n++ {
				if !seen[n] {
					t.Errorf("pad length %d never produced", n)
				}
			}
		})
	}
}

// TestEncryptAlignedGetsFullPad checks that an aligned plaintext gets 16 pad bytes.
func TestEncryptAlignedGetsFullPad(t *testing.T) {
	key := mustKey(t, vectorHexKey, KeyHex)
	// "|" + data + "]" + 20-byte timestamp = 32 bytes.
	m := Message{ID: TokenNULL, Encrypted: true, Line: "0", Account: "1234", Data: "abcdefghij", Timestamp: utc(2025, 1, 2, 3, 4, 5)}
	b, err := Encode(m, key, FixedPad('q'))
	if err != nil {
		t.Fatal(err)
	}
	raw := rawDecrypt(t, key, string(b[bytes.IndexByte(b, '[')+1:len(b)-1]))
	if want := strings.Repeat("q", 16) + "|abcdefghij]_03:04:05,01-02-2025"; string(raw) != want {
		t.Fatalf("plaintext %q, want %q", raw, want)
	}
}

func TestEncodeNAKForms(t *testing.T) {
	tests := []struct {
		m    Message
		want string
	}{
		{NewNAK(utc(2025, 9, 24, 16, 20, 1)), "\nE4410025\"NAK\"0000R0L0A0[]_16:20:01,09-24-2025\r"},
		{Message{ID: TokenNAK, Line: "A1", Account: "12"}, frame(`"NAK"0000LA1#12[]`)},
		{Message{ID: TokenNAK, Line: "0"}, frame(`"NAK"0000L0A[]`)},
	}
	for _, tt := range tests {
		b, err := Encode(tt.m, nil, nil)
		if err != nil || string(b) != tt.want {
			t.Errorf("Encode(%#v) = %q, %v; want %q", tt.m, b, err, tt.want)
		}
	}
}
