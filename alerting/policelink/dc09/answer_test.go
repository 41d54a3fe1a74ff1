package dc09

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/campusguard/campusguard/internal/testenv"
)

// TestParseAnswer: every answer whose token is NAK or DUH is that answer, in the
// forms receivers in the field use; an ACK must be a valid frame.
func TestParseAnswer(t *testing.T) {
	ts := utc(2025, 9, 24, 16, 20, 1)
	tests := []struct {
		name     string
		in       string
		wantID   Token
		wantForm AnswerForm
		wantTS   bool
		wantErr  error
	}{
		{"standard NAK", "\nE4410025\"NAK\"0000R0L0A0[]_16:20:01,09-24-2025\r", TokenNAK, FormStandard, true, nil},
		{"field NAK, line before receiver", string(NewFieldNAK(ts)), TokenNAK, FormSwapped, true, nil},
		{"field NAK, no LF", strings.TrimPrefix(string(NewFieldNAK(ts)), "\n"), TokenNAK, FormSwapped, true, nil},
		{"bare NAK", `"NAK"`, TokenNAK, FormBare, false, nil},
		{"bare NAK with CR LF", "\"NAK\"\r\n", TokenNAK, FormBare, false, nil},
		{"bare DUH", `"DUH"`, TokenDUH, FormBare, false, nil},
		{"NAK without receiver number", frame(`"NAK"0000NoneL0A0[]_16:20:01,09-24-2025`), TokenNAK, FormLoose, true, nil},
		{"DUH with swapped routing", frame(`"DUH"0042L0R0#1234[]`), TokenDUH, FormSwapped, false, nil},
		{"standard ACK", frame(`"ACK"0042R0L0#1234[]`), TokenACK, FormStandard, false, nil},
		{"field NAK with a bad CRC", strings.Replace(string(NewFieldNAK(ts)), "\"NAK", "\"NAK", 1)[:1] + "0000" + string(NewFieldNAK(ts))[5:], "", 0, false, ErrCRC},
		{"ACK with swapped routing is no ACK", frame(`"ACK"0042L0R0#1234[]`), "", 0, false, ErrFormat},
		{"bare ACK is no ACK", `"ACK"`, "", 0, false, ErrFormat},
		{"NULL is no answer", frame(`"NULL"0000R0L0#1234[]`), "", 0, false, ErrResponse},
		{"garbage", "garbage\r", "", 0, false, ErrFormat},
		{"lower-case token", `"nak"`, "", 0, false, ErrFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := ParseAnswer([]byte(tt.in), nil)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("ParseAnswer(%q) = %+v, %v; want %v", tt.in, a, err, tt.wantErr)
				}
				return
			}
			if err != nil || a.ID != tt.wantID || a.Form != tt.wantForm || a.Timestamp.IsZero() == tt.wantTS {
				t.Fatalf("ParseAnswer(%q) = %+v (%v), %v; want %s %v timestamp %v", tt.in, a, a.Form, err, tt.wantID, tt.wantForm, tt.wantTS)
			}
			if tt.wantTS && !a.Timestamp.Equal(ts) {
				t.Errorf("timestamp %v, want %v", a.Timestamp, ts)
			}
		})
	}
}

func TestFieldNAKFields(t *testing.T) {
	a, err := ParseAnswer(NewFieldNAK(utc(2025, 9, 24, 16, 20, 1)), nil)
	if err != nil || a.Receiver != "0" || a.Line != "0" || a.Account != "0" || a.Seq != 0 {
		t.Fatalf("field NAK = %+v, %v", a, err)
	}
	if _, err := Decode(NewFieldNAK(time.Now()), nil); err == nil {
		t.Fatal("Decode accepts the field NAK: the strict grammar changed")
	}
}

func TestRedactKeys(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{`"ACK"0001R0L0#1234[]`, `"ACK"0001R0L0#1234[]`},
		{`"DUH"0001R0L0#1234[][KAAAAAAAAAAAAAAAA]`, `"DUH"0001R0L0#1234[][K` + Redacted + `]`},
		{`[K1][H2][Ksecret]_x`, `[K` + Redacted + `][H2][K` + Redacted + `]_x`},
		{`[Kunterminated`, `[K` + Redacted},
		{`[K]`, `[K]`},
	}
	for _, tt := range tests {
		if got := RedactKeys(tt.in); got != tt.want {
			t.Errorf("RedactKeys(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	m := Message{ID: TokenACK, Ext: []ExtBlock{{'H', "x"}, {'K', "AAAAAAAAAAAAAAAA"}}}
	r := RedactMessage(m)
	if r.Ext[1].Value != Redacted || m.Ext[1].Value != "AAAAAAAAAAAAAAAA" || r.Ext[0].Value != "x" {
		t.Errorf("RedactMessage = %+v (original %+v)", r, m)
	}
}

// TestFieldNAKGolden pins the field receiver's NAK in testdata/golden/nak-field.frame
// (run with -update to rewrite it) and checks how ParseAnswer reads it.
func TestFieldNAKGolden(t *testing.T) {
	got := NewFieldNAK(utc(2025, 9, 24, 16, 20, 1))
	want := testenv.Golden(t, filepath.Join("testdata", "golden", "nak-field.frame"), got, *update)
	a, err := ParseAnswer(want, nil)
	if err != nil || a.ID != TokenNAK || a.Form != FormSwapped || !a.Timestamp.Equal(utc(2025, 9, 24, 16, 20, 1)) {
		t.Fatalf("ParseAnswer(golden) = %+v, %v", a, err)
	}
}
