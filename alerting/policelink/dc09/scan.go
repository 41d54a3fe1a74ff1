package dc09

import "bytes"

// ScanFrames is a bufio.SplitFunc that splits a TCP byte stream into frames.
// A frame ends with CR. LF, CR and NUL bytes between frames are skipped, but
// the LF that opens a frame is kept in the token, as is the closing CR, so a
// token can be passed to Decode as is. At EOF an unterminated rest is returned
// as a last frame (Decode will judge it).
func ScanFrames(data []byte, atEOF bool) (advance int, token []byte, err error) {
	start := 0
	for start < len(data) && isSep(data[start]) {
		start++
	}
	if start == len(data) {
		if !atEOF && start > 0 && data[start-1] == '\n' {
			return start - 1, nil, nil // keep a frame's opening LF
		}
		return start, nil, nil
	}
	tok := start
	if start > 0 && data[start-1] == '\n' {
		tok = start - 1
	}
	if i := bytes.IndexByte(data[start:], '\r'); i >= 0 {
		end := start + i + 1
		return end, data[tok:end], nil
	}
	if atEOF {
		return len(data), data[tok:], nil
	}
	return tok, nil, nil
}

func isSep(c byte) bool { return c == '\r' || c == '\n' || c == 0 }

// ScanAnswers is ScanFrames for a transmitter reading a receiver's answers over
// TCP: it also returns a bare answer, the quoted token alone ("NAK") that some
// receivers send without LF, CRC, length or CR, as soon as its closing quote
// arrives. A frame always has its CRC and length before the quote, so data that
// starts with a quote is such an answer.
func ScanAnswers(data []byte, atEOF bool) (advance int, token []byte, err error) {
	start := 0
	for start < len(data) && isSep(data[start]) {
		start++
	}
	if start < len(data) && data[start] == '"' {
		if j := bytes.IndexAny(data[start+1:], "\"\r\n"); j >= 0 && data[start+1+j] == '"' {
			end := start + 1 + j + 1
			return end, data[start:end], nil
		}
	}
	return ScanFrames(data, atEOF)
}
