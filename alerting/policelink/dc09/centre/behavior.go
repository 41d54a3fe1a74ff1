package centre

import (
	"fmt"
	"time"
)

// Behavior is how the Receiver answers one incoming message.
type Behavior int

const (
	// ACK acknowledges the message; the ACK is encrypted when the message
	// was. A timestamp outside the acceptance window is answered with NAK
	// instead, as real receivers do (unless Config.NoTimeCheck).
	ACK Behavior = iota
	// NAK rejects the message with the receiver's clock, whatever its timestamp.
	NAK
	// DUH answers "cannot process" (encrypted when the message was).
	DUH
	// Silent sends no answer, as a receiver that lost the message.
	Silent
)

// String returns "ACK", "NAK", "DUH" or "Silent".
func (b Behavior) String() string {
	switch b {
	case ACK:
		return "ACK"
	case NAK:
		return "NAK"
	case DUH:
		return "DUH"
	case Silent:
		return "Silent"
	}
	return fmt.Sprintf("Behavior(%d)", int(b))
}

// Acceptance window of a common receiver: a message timestamp may lie this
// far in the past or in the future of the receiver's clock.
const (
	DefaultPastWindow   = 40 * time.Second
	DefaultFutureWindow = 20 * time.Second
)
