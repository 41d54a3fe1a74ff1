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
