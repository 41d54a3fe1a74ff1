package dc09

import "testing"

func benchMessage(encrypted bool) Message {
	return Message{ID: TokenADMCID, Encrypted: encrypted, Seq: 1937, Receiver: "15", Line: "1", Account: "21401",
		Data: "#21401|1120 01 015", Ext: []ExtBlock{{'V', "http://10.0.0.5/snap/42.jpg"}}, Timestamp: utc(2024, 2, 20, 20, 59, 59)}
}

func BenchmarkEncodeClear(b *testing.B) {
	m := benchMessage(false)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Encode(m, nil, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeEncrypted(b *testing.B) {
	m := benchMessage(true)
	key := mustKey(b, vectorHexKey, KeyHex)
	pad := FixedPad('p')
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Encode(m, key, pad); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeEncryptedRandomPad(b *testing.B) {
	m := benchMessage(true)
	key := mustKey(b, vectorHexKey, KeyHex)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Encode(m, key, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeClear(b *testing.B) {
	frame, err := Encode(benchMessage(false), nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(frame, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeEncrypted(b *testing.B) {
	key := mustKey(b, vectorHexKey, KeyHex)
	frame, err := Encode(benchMessage(true), key, FixedPad('p'))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(frame, key); err != nil {
			b.Fatal(err)
		}
	}
}
