package dc09

import "errors"

// Sentinel errors. Errors returned by this package wrap one (or, for
// decrypted content, two) of them with context; test with errors.Is.
var (
	// ErrFormat reports a frame or message that does not follow the DC-09 grammar.
	ErrFormat = errors.New("malformed frame")
	// ErrCRC reports a CRC field that does not match the frame body.
	ErrCRC = errors.New("CRC mismatch")
	// ErrLength reports a length field that does not match the frame body,
	// or a body longer than 0xFFF bytes.
	ErrLength = errors.New("length mismatch")
	// ErrTimestamp reports an invalid timestamp, or a missing one where it is
	// mandatory (encrypted messages).
	ErrTimestamp = errors.New("invalid timestamp")
	// ErrNoKey reports an encrypted message encoded or decoded without a key.
	ErrNoKey = errors.New("encrypted message needs a key")
	// ErrDecrypt reports an encrypted region that cannot be decrypted into a
	// valid message (bad hex, bad block size, or a wrong key).
	ErrDecrypt = errors.New("cannot decrypt")
	// ErrKey reports an invalid AES key.
	ErrKey = errors.New("invalid key")
	// ErrPayload reports an invalid Contact ID or SIA DC-03 payload.
	ErrPayload = errors.New("invalid payload")
	// ErrResponse reports a response that does not acknowledge the sent message.
	ErrResponse = errors.New("unexpected response")
	// ErrNAK reports that the receiver answered NAK (timestamp rejected).
	ErrNAK = errors.New("receiver answered NAK")
	// ErrDUH reports that the receiver answered DUH (cannot process the message).
	ErrDUH = errors.New("receiver answered DUH")
)
