package dc09

import (
	"crypto/rand"
	"fmt"
	"io"
)

// padAlphabet holds the printable alphanumerics pad bytes are drawn from; it
// never contains '|', '[' or ']'.
const padAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// FixedPad returns a deterministic pad source that yields c forever, for
// tests and golden files: Encode(m, key, FixedPad('p')) is reproducible.
// A c that is not an ASCII letter or digit is mapped to one, as any pad byte.
func FixedPad(c byte) io.Reader { return fixedPad(c) }

type fixedPad byte

func (f fixedPad) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(f)
	}
	return len(p), nil
}

func isAlnum(c byte) bool {
	return '0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z'
}

// fillPad fills dst with pad characters read from src (crypto/rand when nil).
// Bytes that are already alphanumeric are kept; others are mapped onto
// padAlphabet.
func fillPad(dst []byte, src io.Reader) error {
	if src == nil {
		src = rand.Reader
	}
	if _, err := io.ReadFull(src, dst); err != nil {
		return fmt.Errorf("dc09: reading %d pad bytes: %w", len(dst), err)
	}
	for i, c := range dst {
		if !isAlnum(c) {
			dst[i] = padAlphabet[int(c)%len(padAlphabet)]
		}
	}
	return nil
}
