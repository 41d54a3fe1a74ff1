package policelink

import (
	"strings"
	"testing"
	"time"

	"github.com/campusguard/campusguard/alerting/policelink/dc09"
)

// FuzzAcceptAnswer feeds arbitrary bytes as the receiver's answer to a sent report:
// it must never panic, and it may only accept a NAK (in any form), a valid ACK for
// the sent sequence number and account, or a DUH for them (or a bare one).
func FuzzAcceptAnswer(f *testing.F) {
	key := testKey(f)
	sent := dc09.Message{ID: dc09.TokenADMCID, Encrypted: true, Seq: 42, Receiver: "0", Line: "0", Account: "1234",
		Data: "#1234|1120 01 015", Timestamp: time.Date(2025, 9, 24, 16, 20, 1, 0, time.UTC)}
	now := sent.Timestamp
	for _, m := range []dc09.Message{dc09.NewACK(sent, now), dc09.NewDUH(sent, now), dc09.NewNAK(now)} {
		b, err := dc09.Encode(m, key, dc09.FixedPad('x'))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	stale := dc09.NewACK(sent, now)
	stale.Seq = 41
	stale.Encrypted = false
	f.Add(mustEncode(f, stale))
	f.Add([]byte("\nE34C0062\"*ACK\"0001R5678L1234#080027E62A64[14F088FF5DCB19D1908069507EAB97C7CDB20F1C6EFA550BB59864D54B2DFA1C\r"))
	f.Add([]byte("\nE4410025\"NAK\"0000R0L0A0[]_16:20:01,09-24-2025\r"))
	f.Add([]byte("garbage"))
	f.Add(dc09.NewFieldNAK(now))
	f.Add([]byte(`"NAK"`))
	f.Add([]byte(`"DUH"`))
	f.Add(dc09.Frame([]byte(`"DUH"0042R0L0#1234[][KAAAAAAAAAAAAAAAA]`)))
	f.Add(dc09.Frame([]byte(`"NAK"0000NoneL0A0[]_16:20:01,09-24-2025`)))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, ok := acceptAnswer(sent, key, b)
		if !ok {
			return
		}
		switch a.ID {
		case dc09.TokenNAK:
		case dc09.TokenDUH:
			if a.Form != dc09.FormStandard && a.Seq == 0 && a.Account == "" {
				break // a bare DUH answers the message outstanding
			}
			if a.Seq != sent.Seq || !strings.EqualFold(a.Account, sent.Account) {
				t.Fatalf("accepted %s seq %d account %q for seq %d account %q", a.ID, a.Seq, a.Account, sent.Seq, sent.Account)
			}
		case dc09.TokenACK:
			if a.Form != dc09.FormStandard || a.Seq != sent.Seq || !strings.EqualFold(a.Account, sent.Account) {
				t.Fatalf("accepted %s seq %d account %q for seq %d account %q", a.ID, a.Seq, a.Account, sent.Seq, sent.Account)
			}
		default:
			t.Fatalf("accepted a %q as an answer", a.ID)
		}
	})
}

// FuzzParseOccurrence: never panics; what it accepts formats back to itself.
func FuzzParseOccurrence(f *testing.F) {
	f.Add("13:20:01,09-24-2025")
	f.Add("23:59:59,02-29-2024")
	f.Add("1:2:3,4-5-6")
	f.Fuzz(func(t *testing.T, s string) {
		at, err := ParseOccurrence(s)
		if err != nil {
			return
		}
		if back, err := ParseOccurrence(FormatOccurrence(at)); err != nil || !back.Equal(at) {
			t.Fatalf("%q → %v → %q → %v, %v", s, at, FormatOccurrence(at), back, err)
		}
	})
}
