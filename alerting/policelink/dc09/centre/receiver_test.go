package centre

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/campusguard/campusguard/alerting/policelink/dc09"
)

func TestACKOverTCPAndUDP(t *testing.T) {
	r := startReceiver(t, Config{})
	if r.TCPAddr() == "" || r.UDPAddr() == "" {
		t.Fatalf("addresses %q %q", r.TCPAddr(), r.UDPAddr())
	}
	m1 := cidMessage(t, 1, base)
	f1 := encode(t, m1, nil)
	tc := dialTCP(t, r.TCPAddr())
	tc.send(f1)
	if ack := tc.read(nil); dc09.ValidateACK(m1, ack) != nil || ack.Encrypted || !ack.Timestamp.Equal(base) {
		t.Fatalf("TCP answer %#v", ack)
	}
	m2 := dc09.Message{ID: dc09.TokenNULL, Seq: 0, Receiver: "0", Line: "0", Account: "1234"} // no timestamp
	f2 := encode(t, m2, nil)
	if ack := udpExchange(t, r.UDPAddr(), f2, nil); dc09.ValidateACK(m2, ack) != nil {
		t.Fatalf("UDP answer %#v", ack)
	}
	recs := waitN(t, r, 2)
	if len(recs) != 2 || recs[0].Network != "tcp" || recs[1].Network != "udp" ||
		!bytes.Equal(recs[0].Raw, f1) || !bytes.Equal(recs[1].Raw, f2) ||
		recs[0].Message.Data != m1.Data || recs[1].Message.ID != dc09.TokenNULL ||
		recs[0].Answer != ACK || recs[1].Answer != ACK || recs[0].Err != nil || recs[0].From == "" {
		t.Fatalf("records %+v", recs)
	}
	if !recs[0].At.Equal(base) {
		t.Fatalf("At = %v", recs[0].At)
	}
}

func TestEncryptedACK(t *testing.T) {
	for _, tt := range []struct {
		name, key string
		enc       dc09.KeyEncoding
	}{
		{"hex", "ABCDABCDABCDABCDABCDABCDABCDABCD", dc09.KeyHex},
		{"ascii", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", dc09.KeyASCII},
	} {
		t.Run(tt.name, func(t *testing.T) {
			key, err := dc09.ParseKey(tt.key, tt.enc)
			if err != nil {
				t.Fatal(err)
			}
			r := startReceiver(t, Config{Key: key})
			m := cidMessage(t, 7, base.Add(-5*time.Second))
			m.Encrypted = true
			tc := dialTCP(t, r.TCPAddr())
			tc.send(encode(t, m, key))
			ack := tc.read(key)
			if err := dc09.ValidateACK(m, ack); err != nil || !ack.Encrypted || !ack.Timestamp.Equal(base) {
				t.Fatalf("answer %#v: %v", ack, err)
			}
			if ack := udpExchange(t, r.UDPAddr(), encode(t, m, key), key); !ack.Encrypted || ack.Seq != 7 {
				t.Fatalf("UDP answer %#v", ack)
			}
			if recs := waitN(t, r, 2); !recs[0].Message.Encrypted || recs[0].Message.Data != m.Data {
				t.Fatalf("record %+v", recs[0])
			}
		})
	}
}

func TestUndecodableFramesGetNAK(t *testing.T) {
	key, _ := dc09.ParseKey("ABCDABCDABCDABCDABCDABCDABCDABCD", dc09.KeyHex)
	r := startReceiver(t, Config{})
	r.Script(DUH) // not consumed by the bad frames
	bad := encode(t, cidMessage(t, 1, base), nil)
	bad[len(bad)-3]++ // body changed: CRC mismatch
	enc := cidMessage(t, 2, base)
	enc.Encrypted = true
	tc := dialTCP(t, r.TCPAddr())
	tc.send(bad)
	if nak := tc.read(nil); nak.ID != dc09.TokenNAK || !nak.Timestamp.Equal(base) {
		t.Fatalf("answer to bad CRC %#v", nak)
	}
	tc.send(encode(t, enc, key)) // the receiver has no key
	if nak := tc.read(nil); nak.ID != dc09.TokenNAK {
		t.Fatalf("answer to encrypted %#v", nak)
	}
	tc.send(encode(t, cidMessage(t, 3, base), nil))
	if duh := tc.read(nil); duh.ID != dc09.TokenDUH || duh.Seq != 3 {
		t.Fatalf("scripted answer %#v", duh)
	}
	recs := waitN(t, r, 3)
	if !errors.Is(recs[0].Err, dc09.ErrCRC) || !errors.Is(recs[1].Err, dc09.ErrNoKey) || recs[2].Err != nil {
		t.Fatalf("errors %v, %v, %v", recs[0].Err, recs[1].Err, recs[2].Err)
	}
	if recs[1].Message.Account != "1234" || recs[1].Message.Seq != 2 {
		t.Fatalf("header of undecryptable message %+v", recs[1].Message)
	}
}

// TestScriptAndBehavior shows silence without waiting for a timeout: the
// first answer read on the connection is the one to the second message.
func TestScriptAndBehavior(t *testing.T) {
	r := startReceiver(t, Config{})
	r.Script(Silent, DUH)
	tc := dialTCP(t, r.TCPAddr())
	tc.send(encode(t, cidMessage(t, 1, base), nil))
	tc.send(encode(t, cidMessage(t, 2, base), nil))
	if m := tc.read(nil); m.ID != dc09.TokenDUH || m.Seq != 2 {
		t.Fatalf("first answer %#v, want DUH to 0002 (0001 unanswered)", m)
	}
	tc.send(encode(t, cidMessage(t, 3, base), nil))
	if m := tc.read(nil); m.ID != dc09.TokenACK || m.Seq != 3 {
		t.Fatalf("answer %#v, want ACK 0003 after the script", m)
	}
	r.SetBehavior(NAK)
	tc.send(encode(t, cidMessage(t, 4, base), nil))
	if m := tc.read(nil); m.ID != dc09.TokenNAK {
		t.Fatalf("answer %#v, want NAK", m)
	}
	r.SetBehavior(Silent)
	tc.send(encode(t, cidMessage(t, 5, base), nil))
	waitN(t, r, 5) // 0005 is handled (silently) before the switch back
	r.SetBehavior(ACK)
	tc.send(encode(t, cidMessage(t, 6, base), nil))
	if m := tc.read(nil); m.ID != dc09.TokenACK || m.Seq != 6 {
		t.Fatalf("answer %#v, want ACK 0006", m)
	}
	var answers []Behavior
	for _, rec := range waitN(t, r, 6) {
		answers = append(answers, rec.Answer)
		if (rec.Answer == Silent) != (rec.Reply == nil) {
			t.Fatalf("record %+v: reply and answer disagree", rec)
		}
	}
	want := []Behavior{Silent, DUH, ACK, NAK, Silent, ACK}
	for i := range want {
		if answers[i] != want[i] {
			t.Fatalf("answers %v, want %v", answers, want)
		}
	}
}

func TestBehaviorString(t *testing.T) {
	for b, want := range map[Behavior]string{ACK: "ACK", NAK: "NAK", DUH: "DUH", Silent: "Silent", 9: "Behavior(9)"} {
		if b.String() != want {
			t.Errorf("%d.String() = %q", int(b), b.String())
		}
	}
}
