package dc09

import (
	"errors"
	"testing"
	"time"
)

func TestResponsesMatchVectors(t *testing.T) {
	sent := Message{ID: TokenSIADCS, Seq: 1, Line: "0", Account: "080027E62A64", Data: "#080027E62A64|NRP"}
	ack, err := Encode(NewACK(sent, time.Date(2015, 4, 14, 16, 7, 7, 500, time.UTC)), nil, nil)
	if want := "\n2729002E\"ACK\"0001L0#080027E62A64[]_16:07:07,04-14-2015\r"; err != nil || string(ack) != want {
		t.Fatalf("ACK = %q, %v; want %q", ack, err, want)
	}
	nak, err := Encode(NewNAK(utc(2015, 4, 14, 16, 9, 9)), nil, nil)
	if want := "\n3C830025\"NAK\"0000R0L0A0[]_16:09:09,04-14-2015\r"; err != nil || string(nak) != want {
		t.Fatalf("NAK = %q, %v; want %q", nak, err, want)
	}

	// The encrypted ACK vector, rebuilt from the message it answers.
	key := mustKey(t, vectorHexKey, KeyHex)
	esent := Message{ID: TokenSIADCS, Encrypted: true, Seq: 1, Receiver: "5678", Line: "1234", Account: "080027E62A64",
		Data: "#080027E62A64|NRP", Timestamp: utc(2015, 4, 14, 16, 8, 10)}
	eack := NewACK(esent, utc(2015, 4, 14, 16, 8, 12))
	want, err := ParseResponse([]byte("\nE34C0062\"*ACK\"0001R5678L1234#080027E62A64[14F088FF5DCB19D1908069507EAB97C7CDB20F1C6EFA550BB59864D54B2DFA1C\r"), key)
	if err != nil || !equalMessages(eack, want) {
		t.Fatalf("NewACK = %#v, vector decodes to %#v (%v)", eack, want, err)
	}
	if err := ValidateACK(esent, want); err != nil {
		t.Fatalf("ValidateACK(vector): %v", err)
	}
	b, err := Encode(eack, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := ParseResponse(b, key); err != nil || !equalMessages(got, eack) {
		t.Fatalf("ParseResponse(encrypted ACK) = %#v, %v", got, err)
	}

	duh := NewDUH(esent, utc(2015, 4, 14, 16, 8, 12))
	if duh.ID != TokenDUH || !duh.Encrypted || duh.Seq != 1 || duh.Account != esent.Account {
		t.Fatalf("NewDUH = %#v", duh)
	}
}

func TestValidateACK(t *testing.T) {
	sent := Message{ID: TokenADMCID, Seq: 42, Receiver: "1", Line: "2", Account: "abc123", Data: "#abc123|1120 01 015"}
	now := utc(2025, 9, 24, 16, 20, 1)
	ok := NewACK(sent, now)
	tests := []struct {
		name string
		resp Message
		want error
	}{
		{"ACK", ok, nil},
		{"ACK upper-case account, other route", Message{ID: TokenACK, Seq: 42, Receiver: "0", Line: "0", Account: "ABC123"}, nil},
		{"wrong seq", Message{ID: TokenACK, Seq: 41, Line: "2", Account: "abc123"}, ErrResponse},
		{"wrong account", Message{ID: TokenACK, Seq: 42, Line: "2", Account: "abc124"}, ErrResponse},
		{"NAK", NewNAK(now), ErrNAK},
		{"DUH", NewDUH(sent, now), ErrDUH},
		{"other", Message{ID: TokenNULL, Seq: 42, Line: "2", Account: "abc123"}, ErrResponse},
	}
	for _, tt := range tests {
		err := ValidateACK(sent, tt.resp)
		if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
			t.Errorf("%s: ValidateACK = %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestParseResponseRejectsOthers(t *testing.T) {
	if _, err := ParseResponse([]byte("\nB0AC0027\"ADM-CID\"0001L0#7099[#7099|1628 01 000]\r"), nil); !errors.Is(err, ErrResponse) {
		t.Fatalf("ParseResponse(ADM-CID) = %v, want ErrResponse", err)
	}
	if _, err := ParseResponse([]byte("junk"), nil); !errors.Is(err, ErrFormat) {
		t.Fatalf("ParseResponse(junk) = %v, want ErrFormat", err)
	}
}

func TestClockOffset(t *testing.T) {
	local := utc(2025, 9, 24, 16, 19, 0)
	nak, err := ParseResponse([]byte("\nE4410025\"NAK\"0000R0L0A0[]_16:20:01,09-24-2025\r"), nil)
	if err != nil {
		t.Fatal(err)
	}
	d, err := ClockOffset(nak, local)
	if err != nil || d != 61*time.Second {
		t.Fatalf("ClockOffset = %v, %v; want 61s", d, err)
	}
	if _, err := ClockOffset(Message{ID: TokenACK}, local); !errors.Is(err, ErrResponse) {
		t.Fatalf("ClockOffset(ACK) = %v", err)
	}
	if _, err := ClockOffset(Message{ID: TokenNAK}, local); !errors.Is(err, ErrTimestamp) {
		t.Fatalf("ClockOffset(NAK without time) = %v", err)
	}
}
