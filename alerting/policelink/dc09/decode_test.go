package dc09

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// equalMessages compares two decoded messages.
func equalMessages(a, b Message) bool { return reflect.DeepEqual(a, b) }

// frame wraps body in LF, CRC, length and CR, as a sender would.
func frame(body string) string {
	return fmt.Sprintf("\n%04X%04X%s\r", crc16(body), len(body), body)
}

func TestDecodeErrors(t *testing.T) {
	long := `"NULL"0000L0#1234[` + strings.Repeat("x", MaxBody) + `]`
	tests := []struct {
		name  string
		frame string
		want  error
	}{
		{"empty", "", ErrFormat},
		{"short", "\n1234\r", ErrFormat},
		{"CRC", "\nF4D30029\"SIA-DCS\"0001RF3L77#1234[#1234|NRR|Atest]\r", ErrCRC},
		{"CRC not hex", "\nF4DX0029\"SIA-DCS\"0001RF3L77#1234[#1234|NRR|Atest]\r", ErrFormat},
		{"length", "\nF4D2002A\"SIA-DCS\"0001RF3L77#1234[#1234|NRR|Atest]\r", ErrLength},
		{"length not hex", "\nF4D200G9\"SIA-DCS\"0001RF3L77#1234[#1234|NRR|Atest]\r", ErrFormat},
		{"body changed", "\nF4D20029\"SIA-DCS\"0001RF3L77#1234[#1234|NRR|Atesu]\r", ErrCRC},
		{"too long", frame(long), ErrLength},
		{"no quote", frame(`NULL"0000L0#1234[]`), ErrFormat},
		{"unclosed token", frame(`"NULL0000L0#1234[]`), ErrFormat},
		{"bad token", frame(`"nul"0000L0#1234[]`), ErrFormat},
		{"empty token", frame(`""0000L0#1234[]`), ErrFormat},
		{"encrypted NAK", frame(`"*NAK"0000R0L0A0[00000000000000000000000000000000`), ErrFormat},
		{"seq short", frame(`"NULL"00`), ErrFormat},
		{"seq not digits", frame(`"NULL"00a0L0#1234[]`), ErrFormat},
		{"no data block", frame(`"NULL"0000L0#1234`), ErrFormat},
		{"no line", frame(`"NULL"0000R0#1234[]`), ErrFormat},
		{"empty line", frame(`"NULL"0000L#1234[]`), ErrFormat},
		{"line too long", frame(`"NULL"0000L1234567#1234[]`), ErrFormat},
		{"empty receiver", frame(`"NULL"0000RL0#1234[]`), ErrFormat},
		{"receiver too long", frame(`"NULL"0000R1234567L0#1234[]`), ErrFormat},
		{"no account", frame(`"NULL"0000L0[]`), ErrFormat},
		{"account not hex", frame(`"NULL"0000L0#12G4[]`), ErrFormat},
		{"account too long", frame(`"NULL"0000L0#12345678901234567[]`), ErrFormat},
		{"junk before L", frame(`"NULL"0000X0L0#1234[]`), ErrFormat},
		{"data unclosed", frame(`"NULL"0000L0#1234[abc`), ErrFormat},
		{"data with [", frame(`"NULL"0000L0#1234[a[b]`), ErrFormat},
		{"data with LF", frame("\"NULL\"0000L0#1234[a\nb]"), ErrFormat},
		{"ext unclosed", frame(`"NULL"0000L0#1234[][Xabc`), ErrFormat},
		{"ext empty", frame(`"NULL"0000L0#1234[][]`), ErrFormat},
		{"ext lower tag", frame(`"NULL"0000L0#1234[][x1]`), ErrFormat},
		{"junk after blocks", frame(`"NULL"0000L0#1234[]x`), ErrTimestamp},
		{"timestamp short", frame(`"NULL"0000L0#1234[]_16:20:01,09-24-202`), ErrTimestamp},
		{"timestamp long", frame(`"NULL"0000L0#1234[]_16:20:01,09-24-20255`), ErrTimestamp},
		{"timestamp hour", frame(`"NULL"0000L0#1234[]_24:20:01,09-24-2025`), ErrTimestamp},
		{"timestamp minute", frame(`"NULL"0000L0#1234[]_23:60:01,09-24-2025`), ErrTimestamp},
		{"timestamp second", frame(`"NULL"0000L0#1234[]_23:59:60,09-24-2025`), ErrTimestamp},
		{"timestamp month", frame(`"NULL"0000L0#1234[]_16:20:01,13-24-2025`), ErrTimestamp},
		{"timestamp day", frame(`"NULL"0000L0#1234[]_16:20:01,02-29-2025`), ErrTimestamp},
		{"timestamp day 0", frame(`"NULL"0000L0#1234[]_16:20:01,02-00-2024`), ErrTimestamp},
		{"timestamp digits", frame(`"NULL"0000L0#1234[]_16:2x:01,09-24-2025`), ErrTimestamp},
		{"timestamp separators", frame(`"NULL"0000L0#1234[]_16-20-01,09-24-2025`), ErrTimestamp},
		{"timestamp zero time", frame(`"NULL"0000L0#1234[]_00:00:00,01-01-0001`), ErrTimestamp},
		{"encrypted odd hex", frame(`"*NULL"0000L0#1234[ABC`), ErrDecrypt},
		{"encrypted empty", frame(`"*NULL"0000L0#1234[`), ErrDecrypt},
		{"encrypted partial block", frame(`"*NULL"0000L0#1234[` + strings.Repeat("A", 34)), ErrDecrypt},
		{"encrypted not hex", frame(`"*NULL"0000L0#1234[` + strings.Repeat("G", 32)), ErrDecrypt},
	}
	key := mustKey(t, vectorHexKey, KeyHex)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode([]byte(tt.frame), key)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Decode(%q) error = %v, want %v", tt.frame, err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "dc09: ") {
				t.Fatalf("error %q lacks the dc09: prefix", err)
			}
		})
	}
}

// TestDecodeTolerance covers the forms a receiver or panel may send that are
// not exactly what Encode writes.
func TestDecodeTolerance(t *testing.T) {
	tests := []struct {
		name  string
		frame string
		check func(Message) bool
	}{
		{"lower-case CRC", strings.ToLower(frame(`"NULL"0000R0L0#ABC[]`)[:5]) + frame(`"NULL"0000R0L0#ABC[]`)[5:],
			func(m Message) bool { return m.ID == TokenNULL && m.Account == "ABC" }},
		{"only LF", strings.TrimSuffix(frame(`"NULL"0000L0#123[]`), "\r"), func(m Message) bool { return m.Line == "0" }},
		{"only CR", strings.TrimPrefix(frame(`"NULL"0000L0#123[]`), "\n"), func(m Message) bool { return m.Line == "0" }},
		{"lower-case hex fields", frame(`"NULL"0000RabL0c#00ff[]`),
			func(m Message) bool { return m.Receiver == "ab" && m.Line == "0c" && m.Account == "00ff" }},
		{"empty account", frame(`"ACK"0007R0L0#[]`), func(m Message) bool { return m.ID == TokenACK && m.Seq == 7 && m.Account == "" }},
		{"unknown token", frame(`"RSP-X1"0001L0#123[]`), func(m Message) bool { return m.ID == "RSP-X1" }},
		{"NAK with # account", frame(`"NAK"0000R0L0#1234[]_16:20:01,09-24-2025`), func(m Message) bool { return m.Account == "1234" && m.Line == "0" }},
		{"NAK without account", frame(`"NAK"0000R0L0[]_16:20:01,09-24-2025`), func(m Message) bool { return m.Account == "" && m.Line == "0" }},
		{"NAK line with A", frame(`"NAK"0000R0LA1#12[]`), func(m Message) bool { return m.Line == "A1" && m.Account == "12" }},
		{"several ext blocks", frame(`"SIA-DCS"0001L0#1234[#1234|NPA1][X114.05][Y22.54][Vhttp://cam/1.jpg]`),
			func(m Message) bool {
				return len(m.Ext) == 3 && m.Ext[0] == ExtBlock{'X', "114.05"} && m.Ext[2] == ExtBlock{'V', "http://cam/1.jpg"}
			}},
		{"empty ext value", frame(`"NULL"0000L0#1234[][I]`), func(m Message) bool { return len(m.Ext) == 1 && m.Ext[0] == ExtBlock{'I', ""} }},
		{"UTF-8 text", frame(`"SIA-DCS"0001L0#1234[#1234|NPA1][I门卫室]`), func(m Message) bool { return m.Ext[0].Value == "门卫室" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Decode([]byte(tt.frame), nil)
			if err != nil {
				t.Fatalf("Decode(%q): %v", tt.frame, err)
			}
			if !tt.check(m) {
				t.Fatalf("Decode(%q) = %#v", tt.frame, m)
			}
			// Whatever decodes re-encodes to a frame that decodes the same.
			enc, err := Encode(m, nil, nil)
			if err != nil {
				t.Fatalf("Encode(%#v): %v", m, err)
			}
			if m2, err := Decode(enc, nil); err != nil || !equalMessages(m, m2) {
				t.Fatalf("round trip of %q via %q: %v, %#v", tt.frame, enc, err, m2)
			}
		})
	}
}

// TestDecodeEncryptedNoTimestamp builds an encrypted frame whose plaintext
// lacks the mandatory timestamp.
func TestDecodeEncryptedNoTimestamp(t *testing.T) {
	key := mustKey(t, vectorHexKey, KeyHex)
	plain := []byte("ppppppppppppp|#1234|1602 00 000]") // 32 bytes, no timestamp
	if len(plain)%16 != 0 {
		t.Fatalf("test plaintext has %d bytes", len(plain))
	}
	key.encryptCBC(plain)
	body := fmt.Sprintf(`"*ADM-CID"0001L0#1234[%X`, plain)
	_, err := Decode([]byte(frame(body)), key)
	if !errors.Is(err, ErrTimestamp) {
		t.Fatalf("Decode: %v, want ErrTimestamp", err)
	}
}
