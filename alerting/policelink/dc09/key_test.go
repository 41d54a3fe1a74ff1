package dc09

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestParseKey(t *testing.T) {
	tests := []struct {
		s    string
		enc  KeyEncoding
		bits int
		err  string
	}{
		{strings.Repeat("ab", 16), KeyHex, 128, ""},
		{strings.Repeat("AB", 24), KeyHex, 192, ""},
		{strings.Repeat("0f", 32), KeyHex, 256, ""},
		{strings.Repeat("A", 16), KeyASCII, 128, ""},
		{strings.Repeat("A", 24), KeyASCII, 192, ""},
		{strings.Repeat("A", 32), KeyASCII, 256, ""},
		{strings.Repeat("A", 16), KeyHex, 0, "hex key has 16 characters, want 32, 48 or 64"},
		{strings.Repeat("A", 31), KeyHex, 0, "hex key has 31 characters"},
		{strings.Repeat("G", 32), KeyHex, 0, "hex key"},
		{"", KeyHex, 0, "hex key has 0 characters"},
		{strings.Repeat("A", 32), KeyASCII, 256, ""},
		{strings.Repeat("A", 15), KeyASCII, 0, "ASCII key has 15 bytes, want 16, 24 or 32"},
		{strings.Repeat("A", 64), KeyASCII, 0, "ASCII key has 64 bytes"},
		{strings.Repeat("A", 15) + "\n", KeyASCII, 0, "non-printable"},
		{strings.Repeat("A", 13) + "门", KeyASCII, 0, "non-printable"},
		{strings.Repeat("A", 32), KeyEncoding(7), 0, "unknown key encoding"},
	}
	for _, tt := range tests {
		k, err := ParseKey(tt.s, tt.enc)
		if tt.err != "" {
			if !errors.Is(err, ErrKey) || !strings.Contains(err.Error(), tt.err) || k != nil {
				t.Errorf("ParseKey(%q, %v) = %v, %v; want error containing %q", tt.s, tt.enc, k, err, tt.err)
			}
			continue
		}
		if err != nil || k.Bits() != tt.bits {
			t.Errorf("ParseKey(%q, %v) = %v, %v; want %d bits", tt.s, tt.enc, k, err, tt.bits)
		}
	}
	if _, err := NewKey(make([]byte, 20)); !errors.Is(err, ErrKey) {
		t.Errorf("NewKey(20 bytes) = %v, want ErrKey", err)
	}
}

func TestKeyDoesNotLeak(t *testing.T) {
	k := mustKey(t, vectorHexKey, KeyHex)
	for _, s := range []string{k.String(), fmt.Sprint(k), fmt.Sprintf("%v %+v %#v %s", k, k, k, k)} {
		if strings.Contains(strings.ToUpper(s), "ABCD") || strings.Contains(s, "\xab\xcd") {
			t.Fatalf("key printed as %q", s)
		}
	}
	if got := k.String(); got != "AES-128 key" {
		t.Fatalf("String() = %q", got)
	}
	var nilKey *Key
	if got := nilKey.String(); got != "no key" {
		t.Fatalf("nil String() = %q", got)
	}
}

func TestKeyEncodingText(t *testing.T) {
	for _, e := range []KeyEncoding{KeyHex, KeyASCII} {
		b, err := e.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back KeyEncoding
		if err := back.UnmarshalText(b); err != nil || back != e {
			t.Fatalf("round trip of %v: %v, %v", e, back, err)
		}
	}
	if e, err := ParseKeyEncoding("ASCII"); err != nil || e != KeyASCII {
		t.Fatalf("ParseKeyEncoding(ASCII) = %v, %v", e, err)
	}
	var e KeyEncoding
	if err := e.UnmarshalText([]byte("base64")); !errors.Is(err, ErrKey) {
		t.Fatalf("UnmarshalText(base64) = %v", err)
	}
	if _, err := KeyEncoding(9).MarshalText(); !errors.Is(err, ErrKey) {
		t.Fatalf("MarshalText(9) = %v", err)
	}
	if s := KeyEncoding(9).String(); s != "KeyEncoding(9)" {
		t.Fatalf("String = %q", s)
	}
}
