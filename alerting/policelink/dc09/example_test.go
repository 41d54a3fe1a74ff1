package dc09_test

import (
	"fmt"
	"time"

	"github.com/campusguard/campusguard/alerting/policelink/dc09"
)

func Example() {
	var seq dc09.Sequence
	data, err := dc09.FormatCID("1234", dc09.CID{Qualifier: dc09.QualifierNew, Code: 120, Area: 1, Zone: 15})
	if err != nil {
		panic(err)
	}
	m := dc09.Message{
		ID: dc09.TokenADMCID, Seq: seq.Next(), Receiver: "0", Line: "0", Account: "1234", Data: data,
		Timestamp: time.Date(2025, 9, 24, 16, 20, 1, 0, time.UTC),
	}
	frame, err := dc09.Encode(m, nil, nil)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%q\n", frame)

	// The receiver's answer, checked against what was sent.
	ack := []byte("\nA5240028\"ACK\"0001R0L0#1234[]_16:20:02,09-24-2025\r")
	resp, err := dc09.ParseResponse(ack, nil)
	fmt.Println(err, dc09.ValidateACK(m, resp))
	// Output:
	// "\nE45D003D\"ADM-CID\"0001R0L0#1234[#1234|1120 01 015]_16:20:01,09-24-2025\r"
	// <nil> <nil>
}

func ExampleDecode_encrypted() {
	key, err := dc09.ParseKey("ABCDABCDABCDABCDABCDABCDABCDABCD", dc09.KeyHex)
	if err != nil {
		panic(err)
	}
	frame := "\nE34C0062\"*ACK\"0001R5678L1234#080027E62A64[14F088FF5DCB19D1908069507EAB97C7CDB20F1C6EFA550BB59864D54B2DFA1C\r"
	m, err := dc09.Decode([]byte(frame), key)
	fmt.Println(m.ID, m.Encrypted, m.Seq, m.Account, m.Timestamp, err)
	// Output: ACK true 1 080027E62A64 2015-04-14 16:08:12 +0000 UTC <nil>
}

func ExampleClockOffset() {
	nak, _ := dc09.ParseResponse([]byte("\nE4410025\"NAK\"0000R0L0A0[]_16:20:01,09-24-2025\r"), nil)
	offset, err := dc09.ClockOffset(nak, time.Date(2025, 9, 24, 16, 19, 0, 0, time.UTC))
	fmt.Println(offset, err)
	// Output: 1m1s <nil>
}
