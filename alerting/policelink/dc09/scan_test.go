package dc09

import (
	"bufio"
	"strings"
	"testing"
	"testing/iotest"
)

func TestScanFrames(t *testing.T) {
	a := clearVectors[0].frame
	b := clearVectors[1].frame
	c := strings.TrimPrefix(clearVectors[2].frame, "\n") // no LF
	d := strings.TrimSuffix(clearVectors[9].frame, "\r") // unterminated, last
	stream := "\r\n" + a + "\x00" + b + "\n\n" + c + "\r\r" + c + a + d
	want := []string{a, b, "\n" + c, c, a, d} // the LF opening a frame is kept
	for _, one := range []bool{false, true} {
		sc := bufio.NewScanner(strings.NewReader(stream))
		if one {
			sc = bufio.NewScanner(iotest.OneByteReader(strings.NewReader(stream)))
		}
		sc.Split(ScanFrames)
		var got []string
		for sc.Scan() {
			got = append(got, sc.Text())
		}
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Fatalf("one byte %v: frames\n%q\nwant\n%q", one, got, want)
		}
		for _, f := range got {
			if _, err := Decode([]byte(f), nil); err != nil {
				t.Fatalf("Decode(%q): %v", f, err)
			}
		}
	}
}

func TestScanFramesOnlySeparators(t *testing.T) {
	sc := bufio.NewScanner(strings.NewReader("\n\r\x00\n"))
	sc.Split(ScanFrames)
	for sc.Scan() {
		t.Fatalf("unexpected token %q", sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
}

// TestScanAnswers: a bare "NAK" without CR is an answer of its own on a TCP stream,
// between frames, as soon as its closing quote arrives.
func TestScanAnswers(t *testing.T) {
	a := clearVectors[2].frame // a NAK frame
	field := string(NewFieldNAK(utc(2025, 9, 24, 16, 20, 1)))
	stream := `"NAK"` + a + "\r\n" + `"DUH"` + field + `"NAK"`
	want := []string{`"NAK"`, a, `"DUH"`, field, `"NAK"`}
	for _, one := range []bool{false, true} {
		var r = strings.NewReader(stream)
		sc := bufio.NewScanner(r)
		if one {
			sc = bufio.NewScanner(iotest.OneByteReader(strings.NewReader(stream)))
		}
		sc.Split(ScanAnswers)
		var got []string
		for sc.Scan() {
			got = append(got, sc.Text())
		}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Fatalf("one byte %v: answers\n%q\nwant\n%q", one, got, want)
		}
		for _, f := range got {
			if a, err := ParseAnswer([]byte(f), nil); err != nil || (a.ID != TokenNAK && a.ID != TokenDUH) {
				t.Fatalf("ParseAnswer(%q) = %+v, %v", f, a, err)
			}
		}
	}
}

// FuzzScanAnswers: the split function never panics, never advances past the data,
// and a stream cut anywhere yields the same answers.
func FuzzScanAnswers(f *testing.F) {
	f.Add([]byte(`"NAK"`+clearVectors[2].frame), 3)
	f.Add(append([]byte("\r\n\"DUH\""), NewFieldNAK(utc(2025, 9, 24, 16, 20, 1))...), 7)
	f.Fuzz(func(t *testing.T, in []byte, cut int) {
		scan := func(chunks ...[]byte) []string {
			var out []string
			var buf []byte
			for i, c := range chunks {
				buf = append(buf, c...)
				atEOF := i == len(chunks)-1
				for len(buf) > 0 {
					adv, tok, err := ScanAnswers(buf, atEOF)
					if err != nil || adv < 0 || adv > len(buf) {
						t.Fatalf("ScanAnswers(%q) = %d, %q, %v", buf, adv, tok, err)
					}
					if tok != nil {
						out = append(out, string(tok))
					}
					if adv == 0 && tok == nil {
						break
					}
					buf = buf[adv:]
				}
			}
			return out
		}
		if cut < 0 {
			cut = -cut
		}
		cut %= len(in) + 1
		whole, parts := scan(in), scan(in[:cut], in[cut:])
		if strings.Join(whole, "\x01") != strings.Join(parts, "\x01") {
			t.Fatalf("%q: whole %q, cut at %d %q", in, whole, cut, parts)
		}
	})
}
