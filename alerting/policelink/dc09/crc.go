package dc09

// crcTable is the byte-wise table of CRC-16/ARC (reflected polynomial 0xA001).
var crcTable = func() (t [256]uint16) {
	for i := range t {
		c := uint16(i)
		for range 8 {
			if c&1 != 0 {
				c = c>>1 ^ 0xA001
			} else {
				c >>= 1
			}
		}
		t[i] = c
	}
	return t
}()

// CRC16 returns the CRC-16/ARC of b (poly 0x8005 reflected, init 0, no final
// xor), the checksum DC-09 uses. CRC16([]byte("123456789")) == 0xBB3D.
func CRC16(b []byte) uint16 { return crc16(b) }

func crc16[T ~string | ~[]byte](b T) uint16 {
	var c uint16
	for i := 0; i < len(b); i++ {
		c = c>>8 ^ crcTable[byte(c)^b[i]]
	}
	return c
}
