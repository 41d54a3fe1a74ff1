package dc09

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// sentinels are the errors every Decode error must wrap one of.
var sentinels = []error{ErrFormat, ErrCRC, ErrLength, ErrTimestamp, ErrNoKey, ErrDecrypt}

// FuzzDecode checks that Decode never panics, that its errors wrap a
// sentinel, and that a frame that decodes re-encodes to one that decodes to
// the same Message. Each input is tried as is and, to get past the checksum,
// with its CRC and length fields recomputed.
func FuzzDecode(f *testing.F) {
	for _, v := range clearVectors {
		f.Add([]byte(v.frame))
	}
	for _, v := range encryptedVectors {
		if v.enc == KeyHex {
			f.Add([]byte(v.frame))
		}
	}
	for _, gc := range goldenCases(f) {
		if b, err := os.ReadFile(filepath.Join("testdata", "golden", gc.name+".frame")); err == nil && (gc.key == nil || gc.key.Bits() == 128) {
			f.Add(b)
		}
	}
	f.Add([]byte(frame(`"NAK"0000R0LA0#1[]`)))
	f.Add(NewFieldNAK(utc(2025, 9, 24, 16, 20, 1))) // line before receiver: refused by Decode
	f.Add([]byte(`"NAK"`))
	f.Add([]byte(frame(`"DUH"0042R0L0#1234[][KAAAAAAAAAAAAAAAA]`)))
	f.Add([]byte(frame(`"SIA-DCS"0001L0#1234[#1234|NPA1][X1][Y2][Vhttp://x]_00:00:00,01-01-2000`)))
	key := mustKey(f, vectorHexKey, KeyHex)
	f.Fuzz(func(t *testing.T, in []byte) {
		checkDecode(t, in, key)
		body := in
		if len(body) > 0 && body[0] == '\n' {
			body = body[1:]
		}
		if len(body) > 0 && body[len(body)-1] == '\r' {
			body = body[:len(body)-1]
		}
		if len(body) >= 8 {
			body = body[8:]
		}
		if len(body) <= MaxBody {
			checkDecode(t, []byte(frame(string(body))), key)
		}
	})
}

func checkDecode(t *testing.T, in []byte, key *Key) {
	m, err := Decode(in, key)
	if err != nil {
		for _, s := range sentinels {
			if errors.Is(err, s) {
				return
			}
		}
		t.Fatalf("Decode(%q): error %v wraps no sentinel", in, err)
	}
	enc, err := Encode(m, key, FixedPad('p'))
	if err != nil {
		// Re-encoding may add a byte ("L0A[" for a NAK without account) or a
		// block (a '|' the sender left out) to a frame already at the limit.
		if errors.Is(err, ErrLength) && len(in) > MaxBody-40 {
			return
		}
		t.Fatalf("Decode(%q) = %#v, but Encode fails: %v", in, m, err)
	}
	m2, err := Decode(enc, key)
	if err != nil || !reflect.DeepEqual(m, m2) {
		t.Fatalf("round trip of %q via %q:\n got %#v, %v\nwant %#v", in, enc, m2, err, m)
	}
}

// FuzzDecryptedContent fuzzes the plaintext of an encrypted frame: the pad
// stripping and the parse of the decrypted region.
func FuzzDecryptedContent(f *testing.F) {
	f.Add([]byte("ppppppppppp]_18:24:52,07-05-2020"))
	f.Add([]byte("pppppppppp|]_16:08:12,04-14-2015"))
	f.Add([]byte("pppppppppppp|#080027E62A64|NHB0003][E115000]_15:12:40,06-22-2015"))
	f.Add([]byte("p|a|b]|]"))
	key := mustKey(f, vectorHexKey, KeyHex)
	f.Fuzz(func(t *testing.T, plain []byte) {
		if len(plain) == 0 || len(plain) > 1000 {
			return
		}
		buf := append([]byte(nil), plain...)
		for len(buf)%16 != 0 {
			buf = append(buf, 'p')
		}
		key.encryptCBC(buf)
		checkDecode(t, []byte(frame(fmt.Sprintf(`"*SIA-DCS"0001R1L2#1234[%X`, buf))), key)
	})
}

// FuzzPayloads checks that what ParseCID and ParseSIA accept formats back to
// a string that parses to the same value.
func FuzzPayloads(f *testing.F) {
	for _, s := range []string{"#7099|1628 01 000", "#1234|Nri1/BA12", "#1234|NRR|Atest", "#1|Nri2/id12/ti10:30/OP12^Gate^|Ax"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		if acct, c, err := ParseCID(data); err == nil {
			s, err := FormatCID(acct, c)
			if err != nil {
				t.Fatalf("ParseCID(%q) = %+v but FormatCID fails: %v", data, c, err)
			}
			if a2, c2, err := ParseCID(s); err != nil || a2 != acct || c2 != c {
				t.Fatalf("CID round trip of %q via %q: %+v, %v", data, s, c2, err)
			}
		} else if !errors.Is(err, ErrPayload) {
			t.Fatalf("ParseCID(%q): %v", data, err)
		}
		if acct, e, err := ParseSIA(data); err == nil {
			s, err := FormatSIA(acct, e)
			if err != nil {
				t.Fatalf("ParseSIA(%q) = %+v but FormatSIA fails: %v", data, e, err)
			}
			if a2, e2, err := ParseSIA(s); err != nil || a2 != acct || e2 != e {
				t.Fatalf("SIA round trip of %q via %q: %+v, %v", data, s, e2, err)
			}
		} else if !errors.Is(err, ErrPayload) {
			t.Fatalf("ParseSIA(%q): %v", data, err)
		}
	})
}

// FuzzParseAnswer checks that ParseAnswer never panics, that its errors wrap a
// sentinel, that only a valid frame is read as an ACK (loose forms are NAK or DUH
// only), and that RedactKeys leaves no key block content.
func FuzzParseAnswer(f *testing.F) {
	ts := utc(2025, 9, 24, 16, 20, 1)
	f.Add(NewFieldNAK(ts))
	f.Add([]byte(`"NAK"`))
	f.Add([]byte(`"DUH"`))
	f.Add([]byte(frame(`"NAK"0000NoneL0A0[]_16:20:01,09-24-2025`)))
	f.Add([]byte(frame(`"DUH"0042R0L0#1234[][KAAAAAAAAAAAAAAAA]`)))
	f.Add([]byte("\nE4410025\"NAK\"0000R0L0A0[]_16:20:01,09-24-2025\r"))
	f.Add([]byte("\nE34C0062\"*ACK\"0001R5678L1234#080027E62A64[14F088FF5DCB19D1908069507EAB97C7CDB20F1C6EFA550BB59864D54B2DFA1C\r"))
	key := mustKey(f, vectorHexKey, KeyHex)
	f.Fuzz(func(t *testing.T, in []byte) {
		a, err := ParseAnswer(in, key)
		if err != nil {
			for _, s := range append(sentinels, ErrResponse) {
				if errors.Is(err, s) {
					goto redact
				}
			}
			t.Fatalf("ParseAnswer(%q): error %v wraps no sentinel", in, err)
		}
		switch a.ID {
		case TokenACK:
			if a.Form != FormStandard {
				t.Fatalf("ParseAnswer(%q) read a %v ACK", in, a.Form)
			}
		case TokenNAK, TokenDUH:
		default:
			t.Fatalf("ParseAnswer(%q) = %q", in, a.ID)
		}
	redact:
		r := RedactKeys(string(in))
		for rest := r; ; {
			i := strings.Index(rest, "[K")
			if i < 0 {
				break
			}
			rest = rest[i+2:]
			if !strings.HasPrefix(rest, Redacted) && !strings.HasPrefix(rest, "]") && rest != "" {
				t.Fatalf("RedactKeys(%q) = %q leaves a key", in, r)
			}
		}
	})
}
