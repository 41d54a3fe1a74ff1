package centre

import (
	"testing"
	"time"

	"github.com/campusguard/campusguard/alerting/policelink/dc09"
)

// haKey is a key as an installer types it into Home Assistant: 32 characters that
// look like hex. The field receiver reads its ASCII bytes (AES-256).
const haKey = "000102030405060708090A0B0C0D0E0F"

func siaMessage(t *testing.T, seq int, ts time.Time) dc09.Message {
	t.Helper()
	data, err := dc09.FormatSIA("1234", dc09.SIAEvent{Area: "1", Code: "PA", Addr: "015"})
	if err != nil {
		t.Fatal(err)
	}
	return dc09.Message{ID: dc09.TokenSIADCS, Seq: seq, Receiver: "0", Line: "0", Account: "1234", Data: data, Timestamp: ts}
}

func TestFieldReceiver(t *testing.T) {
	asciiKey, err := dc09.ParseKey(haKey, dc09.KeyASCII)
	if err != nil {
		t.Fatal(err)
	}
	hexKey, err := dc09.ParseKey(haKey, dc09.KeyHex)
	if err != nil {
		t.Fatal(err)
	}
	withH := func(m dc09.Message) dc09.Message {
		m.Ext = []dc09.ExtBlock{{Tag: 'H', Value: "16:19:00,09-24-2025"}}
		return m
	}
	enc := func(m dc09.Message) dc09.Message { m.Encrypted = true; return m }
	lower := cidMessage(t, 5, base)
	lower.Account, lower.Data = "12ab", "#12ab|1120 01 015"
	tests := []struct {
		name     string
		key      *dc09.Key // the sender's
		m        dc09.Message
		script   Behavior
		wantID   dc09.Token
		wantForm dc09.AnswerForm
		wantEcho bool
	}{
		{"hex-decoded key: field NAK", hexKey, enc(cidMessage(t, 1, base)), ACK, dc09.TokenNAK, dc09.FormSwapped, false},
		{"ASCII key: encrypted ACK", asciiKey, enc(cidMessage(t, 2, base)), ACK, dc09.TokenACK, dc09.FormStandard, false},
		{"ADM-CID with [H..]: field NAK", asciiKey, enc(withH(cidMessage(t, 3, base))), ACK, dc09.TokenNAK, dc09.FormSwapped, false},
		{"SIA-DCS, extended block: key echoed", asciiKey, enc(withH(siaMessage(t, 3, base))), ACK, dc09.TokenACK, dc09.FormStandard, true},
		{"DUH in clear, key echoed", asciiKey, enc(withH(siaMessage(t, 4, base))), DUH, dc09.TokenDUH, dc09.FormStandard, true},
		{"unknown account in clear: bare NAK", nil, lower, ACK, dc09.TokenNAK, dc09.FormBare, false},
		{"unknown account encrypted: field NAK", asciiKey, enc(lower), ACK, dc09.TokenNAK, dc09.FormSwapped, false},
		{"stale timestamp: standard NAK", asciiKey, enc(cidMessage(t, 6, base.Add(-time.Hour))), ACK, dc09.TokenNAK, dc09.FormStandard, false},
	}
	r := startReceiver(t, Config{Field: &FieldConfig{Key: haKey, Accounts: []string{"1234", "12AB"}}})
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.script != ACK {
				r.Script(tt.script)
			}
			raw := udpRaw(t, r.UDPAddr(), encode(t, tt.m, tt.key))
			a, err := dc09.ParseAnswer(raw, tt.key)
			if err != nil || a.ID != tt.wantID || a.Form != tt.wantForm {
				t.Fatalf("answer %q = %+v (%v), %v; want %s %v", raw, a, a.Form, err, tt.wantID, tt.wantForm)
			}
			echoed := len(a.Ext) == 1 && a.Ext[0].Tag == 'K' && a.Ext[0].Value == haKey
			if echoed != tt.wantEcho {
				t.Errorf("answer %+v: key echoed %v, want %v", a, echoed, tt.wantEcho)
			}
			if a.ID == dc09.TokenACK && (a.Seq != tt.m.Seq || a.Encrypted != tt.m.Encrypted || !a.Timestamp.Equal(base)) {
				t.Errorf("ACK %+v does not answer %+v", a, tt.m)
			}
			if a.ID == dc09.TokenDUH && a.Encrypted {
				t.Error("the field receiver's DUH is clear text")
			}
			if recs := waitN(t, r, i+1); recs[i].Answer != map[dc09.Token]Behavior{dc09.TokenACK: ACK, dc09.TokenNAK: NAK, dc09.TokenDUH: DUH}[tt.wantID] {
				t.Errorf("recorded answer %v", recs[i].Answer)
			}
		})
	}
}
