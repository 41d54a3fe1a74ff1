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
package dc09
