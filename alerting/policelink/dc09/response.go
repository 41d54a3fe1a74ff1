package dc09

import (
	"fmt"
	"strings"
	"time"
)

// NewACK returns the receiver's acknowledgement of m: same sequence number,
// receiver, line and account, an empty data block and the receiver time now
// (UTC, whole seconds). It is encrypted ("*ACK") when m was, as receivers do;
// encode it with the same key.
func NewACK(m Message, now time.Time) Message {
	return reply(TokenACK, m, now)
}

// NewDUH returns the receiver's "cannot process" answer to m (for instance an
// unknown event code), shaped like an ACK and encrypted when m was.
func NewDUH(m Message, now time.Time) Message {
	return reply(TokenDUH, m, now)
}

func reply(tok Token, m Message, now time.Time) Message {
	return Message{
		ID:        tok,
		Encrypted: m.Encrypted,
		Seq:       m.Seq,
		Receiver:  m.Receiver,
		Line:      m.Line,
		Account:   m.Account,
		Timestamp: now.UTC().Truncate(time.Second),
	}
}

// NewNAK returns the receiver's timestamp rejection
// "NAK"0000R0L0A0[]_<receiverNow>. It is never encrypted; the transmitter
// corrects its clock from the timestamp (see ClockOffset).
func NewNAK(receiverNow time.Time) Message {
	return Message{
		ID:        TokenNAK,
		Seq:       NullSeq,
		Receiver:  "0",
		Line:      "0",
		Account:   "0",
		Timestamp: receiverNow.UTC().Truncate(time.Second),
	}
}

// ParseResponse decodes a receiver's answer and checks that it is an ACK, NAK
// or DUH (ErrResponse otherwise). key decrypts an encrypted "*ACK".
func ParseResponse(frame []byte, key *Key) (Message, error) {
	m, err := Decode(frame, key)
	if err != nil {
		return m, err
	}
	switch m.ID {
	case TokenACK, TokenNAK, TokenDUH:
		return m, nil
	}
	return m, fmt.Errorf("dc09: response %q is not ACK, NAK or DUH: %w", m.ID, ErrResponse)
}

// ValidateACK checks that resp acknowledges sent: it must be an ACK with the
// same sequence number and account (hex, compared case-insensitively). A NAK
// yields an error wrapping ErrNAK, a DUH one wrapping ErrDUH, anything else
// ErrResponse. Receiver and line are not compared (receivers differ) and a
// clear ACK to an encrypted message is accepted.
func ValidateACK(sent, resp Message) error {
	switch resp.ID {
	case TokenACK:
	case TokenNAK:
		return fmt.Errorf("dc09: %s %04d: receiver time %s: %w", sent.ID, sent.Seq, resp.Timestamp.Format(time.RFC3339), ErrNAK)
	case TokenDUH:
		return fmt.Errorf("dc09: %s %04d: %w", sent.ID, sent.Seq, ErrDUH)
	default:
		return fmt.Errorf("dc09: %s %04d: answer %q is not ACK: %w", sent.ID, sent.Seq, resp.ID, ErrResponse)
	}
	if resp.Seq != sent.Seq {
		return fmt.Errorf("dc09: %s %04d: ACK has sequence %04d: %w", sent.ID, sent.Seq, resp.Seq, ErrResponse)
	}
	if !strings.EqualFold(resp.Account, sent.Account) {
		return fmt.Errorf("dc09: %s %04d: ACK has account %q, sent %q: %w", sent.ID, sent.Seq, resp.Account, sent.Account, ErrResponse)
	}
	return nil
}

// ClockOffset returns the correction to add to the local UTC clock so that it
// agrees with the receiver that sent nak: nak.Timestamp - localNow. Resend
// the same sequence number with the corrected timestamp, and cap such retries.
func ClockOffset(nak Message, localNow time.Time) (time.Duration, error) {
	if nak.ID != TokenNAK {
		return 0, fmt.Errorf("dc09: clock offset from %q, want NAK: %w", nak.ID, ErrResponse)
	}
	if nak.Timestamp.IsZero() {
		return 0, fmt.Errorf("dc09: NAK carries no receiver time: %w", ErrTimestamp)
	}
	return nak.Timestamp.Sub(localNow), nil
}
