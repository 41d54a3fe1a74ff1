package dc09

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/hex"
	"fmt"
	"strings"
)

// KeyEncoding says how a configured key string maps to AES key bytes. The
// field disagrees: the standard and several tools read the key as hex, other
// receivers use the string's ASCII bytes. Make it an explicit setting.
type KeyEncoding int

const (
	// KeyHex reads the key as 32, 48 or 64 hex characters (AES-128/192/256).
	KeyHex KeyEncoding = iota
	// KeyASCII uses the bytes of a 16, 24 or 32 character printable ASCII string.
	KeyASCII
)

// String returns "hex" or "ascii".
func (e KeyEncoding) String() string {
	switch e {
	case KeyHex:
		return "hex"
	case KeyASCII:
		return "ascii"
	}
	return fmt.Sprintf("KeyEncoding(%d)", int(e))
}

// ParseKeyEncoding parses "hex" or "ascii" (case-insensitive).
func ParseKeyEncoding(s string) (KeyEncoding, error) {
	switch strings.ToLower(s) {
	case "hex":
		return KeyHex, nil
	case "ascii":
		return KeyASCII, nil
	}
	return 0, fmt.Errorf("dc09: key encoding %q, want \"hex\" or \"ascii\": %w", s, ErrKey)
}

// MarshalText implements encoding.TextMarshaler.
func (e KeyEncoding) MarshalText() ([]byte, error) {
	if e != KeyHex && e != KeyASCII {
		return nil, fmt.Errorf("dc09: unknown key encoding %d: %w", int(e), ErrKey)
	}
	return []byte(e.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (e *KeyEncoding) UnmarshalText(b []byte) error {
	v, err := ParseKeyEncoding(string(b))
	if err != nil {
		return err
	}
	*e = v
	return nil
}

// Key is an AES key for DC-09 encryption. It is safe for concurrent use.
// Its String method never reveals the key material.
type Key struct {
	block cipher.Block
	bits  int
}

// NewKey builds a Key from 16, 24 or 32 raw bytes.
func NewKey(raw []byte) (*Key, error) {
	switch len(raw) {
	case 16, 24, 32:
	default:
		return nil, fmt.Errorf("dc09: key has %d bytes, want 16, 24 or 32: %w", len(raw), ErrKey)
	}
	b, err := aes.NewCipher(raw)
	if err != nil {
		return nil, fmt.Errorf("dc09: %v: %w", err, ErrKey)
	}
	return &Key{block: b, bits: len(raw) * 8}, nil
}

// ParseKey builds a Key from its configured string form.
func ParseKey(s string, enc KeyEncoding) (*Key, error) {
	switch enc {
	case KeyHex:
		switch len(s) {
		case 32, 48, 64:
		default:
			return nil, fmt.Errorf("dc09: hex key has %d characters, want 32, 48 or 64 (AES-128/192/256): %w", len(s), ErrKey)
		}
		raw, err := hex.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("dc09: hex key: %v: %w", err, ErrKey)
		}
		return NewKey(raw)
	case KeyASCII:
		switch len(s) {
		case 16, 24, 32:
		default:
			return nil, fmt.Errorf("dc09: ASCII key has %d bytes, want 16, 24 or 32 (AES-128/192/256): %w", len(s), ErrKey)
		}
		for i := 0; i < len(s); i++ {
			if s[i] < 0x20 || s[i] > 0x7E {
				return nil, fmt.Errorf("dc09: ASCII key has non-printable byte %#02x at %d: %w", s[i], i, ErrKey)
			}
		}
		return NewKey([]byte(s))
	}
	return nil, fmt.Errorf("dc09: unknown key encoding %d: %w", int(enc), ErrKey)
}

// Bits returns the key size: 128, 192 or 256.
func (k *Key) Bits() int { return k.bits }

// String returns a description without the key material, e.g. "AES-128 key".
func (k *Key) String() string {
	if k == nil {
		return "no key"
	}
	return fmt.Sprintf("AES-%d key", k.bits)
}

// GoString is like String, so %#v does not print the key schedule.
func (k *Key) GoString() string { return k.String() }

// encryptCBC encrypts buf (a multiple of the block size) in place with a zero IV.
func (k *Key) encryptCBC(buf []byte) {
	var prev [aes.BlockSize]byte
	for i := 0; i+aes.BlockSize <= len(buf); i += aes.BlockSize {
		blk := buf[i : i+aes.BlockSize]
		for j := range blk {
			blk[j] ^= prev[j]
		}
		k.block.Encrypt(blk, blk)
		copy(prev[:], blk)
	}
}

// decryptCBC decrypts buf (a multiple of the block size) in place with a zero IV.
func (k *Key) decryptCBC(buf []byte) {
	var prev, cur [aes.BlockSize]byte
	for i := 0; i+aes.BlockSize <= len(buf); i += aes.BlockSize {
		blk := buf[i : i+aes.BlockSize]
		copy(cur[:], blk)
		k.block.Decrypt(blk, blk)
		for j := range blk {
			blk[j] ^= prev[j]
		}
		prev = cur
	}
}
