// Package dc09 is a pure codec for SIA DC-09 (ANSI/SIA DC-09-2013/2021) frames
// as sent by the campus gateway to the regional alarm receiving centre.
//
// It builds and parses the frame
//
//	<LF>CRC(4 hex)0LLL"ID"SEQ[Rrcvr]Lpref#acct[data][ext]..._HH:MM:SS,MM-DD-YYYY<CR>
//
// with its CRC-16/ARC and length fields, the optional AES-CBC encryption of the
// region after the first '[', the Contact ID (ADM-CID) and SIA DC-03 (SIA-DCS)
// payloads, and the receiver's ACK / NAK / DUH responses.
//
// The package performs no I/O: callers own sockets, clocks and retries. Every
// error returned wraps one of the sentinel errors below (ErrFormat, ErrCRC,
// ErrLength, ...) so that callers can branch with errors.Is.
//
// # Why one package
//
// Its single job is the DC-09 codec, about 1,700 lines, one file per part (frame
// encode and decode, CRC, length and padding, timestamps, AES key and encryption,
// Contact ID and SIA DC-03 payloads, receiver answers, sequence numbers). The parts
// share the frame's blocks and the sentinel errors, and a change of the standard's
// framing touches several of them at once. The payload formats (cid.go, sia.go) are the
// seam that could split off, at about 270 lines; that is not worth a package now.
package dc09
