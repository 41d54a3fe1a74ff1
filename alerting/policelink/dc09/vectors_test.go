package dc09

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// Keys of the encrypted test vectors of the SIA DC-09 reference.
const (
	vectorHexKey   = "ABCDABCDABCDABCDABCDABCDABCDABCD"
	vectorASCIIKey = "AAAAAAAAAAAAAAAA"
)

func utc(y int, mo time.Month, d, h, mi, s int) time.Time {
	return time.Date(y, mo, d, h, mi, s, 0, time.UTC)
}

// clearVectors are the clear-text test vectors of the DC-09 reference.
var clearVectors = []struct {
	name  string
	frame string
	// canon is the expected re-encoding when it differs from frame (frame
	// without LF/CR, or with lower-case hex).
	canon string
	want  Message
}{
	{
		name:  "SIA-DCS receiver and ASCII block",
		frame: "\nF4D20029\"SIA-DCS\"0001RF3L77#1234[#1234|NRR|Atest]\r",
		want:  Message{ID: TokenSIADCS, Seq: 1, Receiver: "F3", Line: "77", Account: "1234", Data: "#1234|NRR|Atest"},
	},
	{
		name:  "SIA-DCS empty data",
		frame: "\n96ED0016\"SIA-DCS\"0001L0#1234[]\r",
		want:  Message{ID: TokenSIADCS, Seq: 1, Line: "0", Account: "1234"},
	},
	{
		name:  "NAK 2025",
		frame: "\nE4410025\"NAK\"0000R0L0A0[]_16:20:01,09-24-2025\r",
		want:  Message{ID: TokenNAK, Seq: 0, Receiver: "0", Line: "0", Account: "0", Timestamp: utc(2025, 9, 24, 16, 20, 1)},
	},
	{
		name:  "NAK 2015",
		frame: "\n3C830025\"NAK\"0000R0L0A0[]_16:09:09,04-14-2015\r",
		want:  Message{ID: TokenNAK, Seq: 0, Receiver: "0", Line: "0", Account: "0", Timestamp: utc(2015, 4, 14, 16, 9, 9)},
	},
	{
		name:  "ACK lower-case length",
		frame: "\n2729002e\"ACK\"0001L0#080027E62A64[]_16:07:07,04-14-2015\r",
		canon: "\n2729002E\"ACK\"0001L0#080027E62A64[]_16:07:07,04-14-2015\r",
		want:  Message{ID: TokenACK, Seq: 1, Line: "0", Account: "080027E62A64", Timestamp: utc(2015, 4, 14, 16, 7, 7)},
	},
	{
		name:  "NULL",
		frame: "\n1D85002B\"NULL\"0001L0#00653210[]_09:17:32,05-18-2016\r",
		want:  Message{ID: TokenNULL, Seq: 1, Line: "0", Account: "00653210", Timestamp: utc(2016, 5, 18, 9, 17, 32)},
	},
	{
		name:  "ADM-CID",
		frame: "\nB0AC0027\"ADM-CID\"0001L0#7099[#7099|1628 01 000]\r",
		want:  Message{ID: TokenADMCID, Seq: 1, Line: "0", Account: "7099", Data: "#7099|1628 01 000"},
	},
	{
		name:  "SIA-DCS area modifier",
		frame: "\n68AF0025\"SIA-DCS\"0001L0#1234[#1234|Nri1/BA12]\r",
		want:  Message{ID: TokenSIADCS, Seq: 1, Line: "0", Account: "1234", Data: "#1234|Nri1/BA12"},
	},
	{
		name:  "SIA-DCS extended block and timestamp",
		frame: "\n9B6D0059\"SIA-DCS\"0000RC0FFDL1234#080027E62A64[#080027E62A64|NHB0003][E115000]_14:25:17,06-22-2015\r",
		want: Message{ID: TokenSIADCS, Seq: 0, Receiver: "C0FFD", Line: "1234", Account: "080027E62A64",
			Data: "#080027E62A64|NHB0003", Ext: []ExtBlock{{Tag: 'E', Value: "115000"}}, Timestamp: utc(2015, 6, 22, 14, 25, 17)},
	},
	{
		name:  "ADM-CID without LF and CR",
		frame: "F68B003B\"ADM-CID\"0028L0#9757[#9757|1602 00 000]_20:59:45,02-20-2024",
		canon: "\nF68B003B\"ADM-CID\"0028L0#9757[#9757|1602 00 000]_20:59:45,02-20-2024\r",
		want:  Message{ID: TokenADMCID, Seq: 28, Line: "0", Account: "9757", Data: "#9757|1602 00 000", Timestamp: utc(2024, 2, 20, 20, 59, 45)},
	},
	{
		name:  "ADM-CID receiver, without LF and CR",
		frame: "99820040\"ADM-CID\"1937R15L1#21401[#21401|1602 00 000]_20:59:59,02-20-2024",
		canon: "\n99820040\"ADM-CID\"1937R15L1#21401[#21401|1602 00 000]_20:59:59,02-20-2024\r",
		want: Message{ID: TokenADMCID, Seq: 1937, Receiver: "15", Line: "1", Account: "21401", Data: "#21401|1602 00 000",
			Timestamp: utc(2024, 2, 20, 20, 59, 59)},
	},
}

func TestClearVectors(t *testing.T) {
	for _, v := range clearVectors {
		t.Run(v.name, func(t *testing.T) {
			got, err := Decode([]byte(v.frame), nil)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !reflect.DeepEqual(got, v.want) {
				t.Fatalf("Decode:\n got %#v\nwant %#v", got, v.want)
			}
			enc, err := Encode(got, nil, nil)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			want := v.canon
			if want == "" {
				want = v.frame
			}
			if string(enc) != want {
				t.Fatalf("Encode:\n got %q\nwant %q", enc, want)
			}
			// A key does not change clear messages.
			key := mustKey(t, vectorHexKey, KeyHex)
			if got2, err := Decode([]byte(v.frame), key); err != nil || !reflect.DeepEqual(got2, got) {
				t.Fatalf("Decode with key: %v, %#v", err, got2)
			}
			if enc2, err := Encode(got, key, nil); err != nil || !bytes.Equal(enc2, enc) {
				t.Fatalf("Encode with key: %v, %q", err, enc2)
			}
		})
	}
}

// encryptedVectors are the encrypted test vectors of the DC-09 reference.
var encryptedVectors = []struct {
	name    string
	frame   string
	key     string
	enc     KeyEncoding
	padLen  int    // pad bytes before the '|' or ']'
	plain   string // decrypted text after the pad
	want    Message
	wantPad string // the pad itself, when printable
}{
	{
		name:   "SIA-DCS hex key",
		frame:  "\nE88800a7\"*SIA-DCS\"0000RC0FFDL1234#080027E62A64[A054F111518361720BAB126501C6D994CD9151D2C84881C0FEA933A0790F49A9236EBD45F2AED32FAA252EB1AA18FC3CDEDE2452F33185E5931D31308D9B9882\r",
		key:    vectorHexKey,
		enc:    KeyHex,
		padLen: 12,
		plain:  "|#080027E62A64|NHB0003][E115000]_15:12:40,06-22-2015",
		want: Message{ID: TokenSIADCS, Encrypted: true, Seq: 0, Receiver: "C0FFD", Line: "1234", Account: "080027E62A64",
			Data: "#080027E62A64|NHB0003", Ext: []ExtBlock{{Tag: 'E', Value: "115000"}}, Timestamp: utc(2015, 6, 22, 15, 12, 40)},
	},
	{
		name:   "ACK hex key",
		frame:  "\nE34C0062\"*ACK\"0001R5678L1234#080027E62A64[14F088FF5DCB19D1908069507EAB97C7CDB20F1C6EFA550BB59864D54B2DFA1C\r",
		key:    vectorHexKey,
		enc:    KeyHex,
		padLen: 10,
		plain:  "|]_16:08:12,04-14-2015",
		want: Message{ID: TokenACK, Encrypted: true, Seq: 1, Receiver: "5678", Line: "1234", Account: "080027E62A64",
			Timestamp: utc(2015, 4, 14, 16, 8, 12)},
	},
	{
		name:    "NULL ASCII key, no '|'",
		frame:   "76D80055\"*NULL\"0000R0L0#AAAB[B4BC8B40D0E6D959D6BEA78E88CC0B2155741A3C44FBB96D476A3E557CAD64D9",
		key:     vectorASCIIKey,
		enc:     KeyASCII,
		padLen:  11,
		plain:   "]_18:24:52,07-05-2020",
		wantPad: "ppppppppppp",
		want:    Message{ID: TokenNULL, Encrypted: true, Seq: 0, Receiver: "0", Line: "0", Account: "AAAB", Timestamp: utc(2020, 7, 5, 18, 24, 52)},
	},
}

func TestEncryptedVectors(t *testing.T) {
	for _, v := range encryptedVectors {
		t.Run(v.name, func(t *testing.T) {
			key := mustKey(t, v.key, v.enc)

			// The raw plaintext: pad, then the documented text.
			hexText := v.frame[strings.IndexByte(v.frame, '[')+1:]
			hexText = strings.TrimSuffix(hexText, "\r")
			raw := rawDecrypt(t, key, hexText)
			if len(raw) != v.padLen+len(v.plain) || string(raw[v.padLen:]) != v.plain {
				t.Fatalf("plaintext %q, want %d pad bytes + %q", raw, v.padLen, v.plain)
			}
			if v.wantPad != "" && string(raw[:v.padLen]) != v.wantPad {
				t.Fatalf("pad %q, want %q", raw[:v.padLen], v.wantPad)
			}

			got, err := Decode([]byte(v.frame), key)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !reflect.DeepEqual(got, v.want) {
				t.Fatalf("Decode:\n got %#v\nwant %#v", got, v.want)
			}

			// Without a key: ErrNoKey and the header.
			hdr, err := Decode([]byte(v.frame), nil)
			if !errors.Is(err, ErrNoKey) {
				t.Fatalf("Decode without key: %v, want ErrNoKey", err)
			}
			wantHdr := Message{ID: v.want.ID, Encrypted: true, Seq: v.want.Seq, Receiver: v.want.Receiver, Line: v.want.Line, Account: v.want.Account}
			if !reflect.DeepEqual(hdr, wantHdr) {
				t.Fatalf("header without key:\n got %#v\nwant %#v", hdr, wantHdr)
			}

			// With the other vector key: ErrDecrypt.
			other := mustKey(t, vectorASCIIKey, KeyASCII)
			if v.enc == KeyASCII {
				other = mustKey(t, vectorHexKey, KeyHex)
			}
			if _, err := Decode([]byte(v.frame), other); !errors.Is(err, ErrDecrypt) {
				t.Fatalf("Decode with wrong key: %v, want ErrDecrypt", err)
			}

			// Deterministic re-encryption round trip.
			enc, err := Encode(got, key, FixedPad('p'))
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			again, err := Decode(enc, key)
			if err != nil || !reflect.DeepEqual(again, got) {
				t.Fatalf("round trip: %v\n got %#v\nwant %#v", err, again, got)
			}
			raw = rawDecrypt(t, key, string(enc[strings.IndexByte(string(enc), '[')+1:len(enc)-1]))
			pad := bytes.IndexByte(raw, '|')
			tail := strings.TrimPrefix(v.plain, "|")
			if len(raw)%16 != 0 || pad < 1 || pad > 16 || strings.Trim(string(raw[:pad]), "p") != "" || string(raw[pad+1:]) != tail {
				t.Fatalf("re-encrypted plaintext %q: want 1..16 'p', '|', %q", raw, tail)
			}
		})
	}
}

// rawDecrypt decrypts a hex region without stripping the pad.
func rawDecrypt(t *testing.T, key *Key, hexText string) []byte {
	t.Helper()
	buf := make([]byte, len(hexText)/2)
	for i := range buf {
		v, ok := parse4hex("00" + hexText[2*i:2*i+2])
		if !ok {
			t.Fatalf("bad hex %q", hexText)
		}
		buf[i] = byte(v)
	}
	key.decryptCBC(buf)
	return buf
}

func mustKey(t testing.TB, s string, enc KeyEncoding) *Key {
	t.Helper()
	k, err := ParseKey(s, enc)
	if err != nil {
		t.Fatalf("ParseKey(%q, %v): %v", s, enc, err)
	}
	return k
}

// TestPayloadVectors parses the data blocks of the vectors with the payload
// helpers and formats them back.
func TestPayloadVectors(t *testing.T) {
	cids := []struct {
		data    string
		account string
		cid     CID
	}{
		{"#7099|1628 01 000", "7099", CID{Qualifier: 1, Code: 628, Area: 1, Zone: 0}},
		{"#9757|1602 00 000", "9757", CID{Qualifier: 1, Code: 602}},
		{"#21401|1602 00 000", "21401", CID{Qualifier: 1, Code: 602}},
	}
	for _, c := range cids {
		acct, got, err := ParseCID(c.data)
		if err != nil || acct != c.account || got != c.cid {
			t.Errorf("ParseCID(%q) = %q, %+v, %v; want %q, %+v", c.data, acct, got, err, c.account, c.cid)
		}
		if s, err := FormatCID(acct, got); err != nil || s != c.data {
			t.Errorf("FormatCID(%q, %+v) = %q, %v; want %q", acct, got, s, err, c.data)
		}
	}
	sias := []struct {
		data    string
		account string
		ev      SIAEvent
	}{
		{"#1234|NRR|Atest", "1234", SIAEvent{Code: "RR", ASCII: "test"}},
		{"#1234|Nri1/BA12", "1234", SIAEvent{Area: "1", Code: "BA", Addr: "12"}},
		{"#080027E62A64|NHB0003", "080027E62A64", SIAEvent{Code: "HB", Addr: "0003"}},
	}
	for _, c := range sias {
		acct, got, err := ParseSIA(c.data)
		if err != nil || acct != c.account || got != c.ev {
			t.Errorf("ParseSIA(%q) = %q, %+v, %v; want %q, %+v", c.data, acct, got, err, c.account, c.ev)
		}
		if s, err := FormatSIA(acct, got); err != nil || s != c.data {
			t.Errorf("FormatSIA(%q, %+v) = %q, %v; want %q", acct, got, s, err, c.data)
		}
	}
}
