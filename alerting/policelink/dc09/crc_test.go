package dc09

import "testing"

// crcBitwise is the textbook bit-by-bit CRC-16/ARC, the reference for the table.
func crcBitwise(b []byte) uint16 {
	var c uint16
	for _, x := range b {
		c ^= uint16(x)
		for range 8 {
			if c&1 != 0 {
				c = c>>1 ^ 0xA001
			} else {
				c >>= 1
			}
		}
	}
	return c
}

func TestCRC16Check(t *testing.T) {
	if got := CRC16([]byte("123456789")); got != 0xBB3D {
		t.Fatalf("CRC16(123456789) = %04X, want BB3D", got)
	}
	if got := CRC16(nil); got != 0 {
		t.Fatalf("CRC16(nil) = %04X, want 0", got)
	}
}

func TestCRC16MatchesBitwise(t *testing.T) {
	buf := make([]byte, 512)
	for i := range buf {
		buf[i] = byte(i*7 + i>>3)
	}
	for n := 0; n <= len(buf); n += 13 {
		if got, want := CRC16(buf[:n]), crcBitwise(buf[:n]); got != want {
			t.Fatalf("CRC16 of %d bytes = %04X, want %04X", n, got, want)
		}
		if got, want := crc16(string(buf[:n])), crcBitwise(buf[:n]); got != want {
			t.Fatalf("crc16(string) of %d bytes = %04X, want %04X", n, got, want)
		}
	}
}
