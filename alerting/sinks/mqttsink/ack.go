package mqttsink

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"
)

// Limits of an ack message.
const (
	MaxAckPayload = 4096
	maxAlarmID    = 128
	maxBy         = 64
	maxNote       = 512
)

// AckMessage is what a staff app publishes on the ack topic (docs/mqtt-alarms.md).
type AckMessage struct {
	AlarmID string `json:"alarm_id"`
	By      string `json:"by"`
	Note    string `json:"note,omitempty"`
	TS      int64  `json:"ts"`            // Unix time in seconds
	Sig     string `json:"sig,omitempty"` // hex HMAC-SHA256 of CanonicalAck (hmac auth)
}

// Reasons an ack is rejected (also the "result" label of the acks metric).
var (
	ErrAckJSON      = errors.New("bad_json")
	ErrAckInvalid   = errors.New("invalid")
	ErrAckSignature = errors.New("bad_signature")
	ErrAckStale     = errors.New("stale")
	ErrAckReplay    = errors.New("replay")
	ErrAckBusy      = errors.New("overload") // too many acks at once: the queue or replay cache is full
	ErrAckFailed    = errors.New("failed")   // the Acker refused it for good (unknown alarm...)
	// ErrAckUnavailable: the Acker could not record it (the journal cannot write) until
	// its ts left the replay window; the message stays with the broker.
	ErrAckUnavailable = errors.New("unavailable")
)

// ParseAck decodes and checks an ack payload's shape (not its signature or time).
func ParseAck(payload []byte) (AckMessage, error) {
	var m AckMessage
	if len(payload) > MaxAckPayload {
		return m, fmt.Errorf("%w: payload of %d bytes", ErrAckInvalid, len(payload))
	}
	d := json.NewDecoder(bytes.NewReader(payload))
	d.DisallowUnknownFields()
	if err := d.Decode(&m); err != nil {
		return AckMessage{}, fmt.Errorf("%w: %v", ErrAckJSON, err)
	}
	if d.More() {
		return AckMessage{}, fmt.Errorf("%w: data after the object", ErrAckJSON)
	}
	switch {
	case m.AlarmID == "" || len(m.AlarmID) > maxAlarmID:
		return m, fmt.Errorf("%w: alarm_id must be 1..%d bytes", ErrAckInvalid, maxAlarmID)
	case len(m.By) > maxBy:
		return m, fmt.Errorf("%w: by is longer than %d bytes", ErrAckInvalid, maxBy)
	case len(m.Note) > maxNote:
		return m, fmt.Errorf("%w: note is longer than %d bytes", ErrAckInvalid, maxNote)
	case !utf8.ValidString(m.AlarmID) || !utf8.ValidString(m.By) || !utf8.ValidString(m.Note):
		return m, fmt.Errorf("%w: not UTF-8", ErrAckInvalid)
	case m.TS <= 0:
		return m, fmt.Errorf("%w: ts (Unix seconds) is required", ErrAckInvalid)
	}
	return m, nil
}

// CanonicalAck is the string an ack's signature covers: the lines
//
//	campusguard-ack-v1
//	<topic the ack is published on>
//	<alarm_id>
//	<by>
//	<note>
//	<ts as decimal seconds>
//
// joined by "\n" (no trailing newline). The topic binds the signature to one gateway.
func CanonicalAck(topic string, m AckMessage) string {
	return "campusguard-ack-v1\n" + topic + "\n" + m.AlarmID + "\n" + m.By + "\n" + m.Note + "\n" + strconv.FormatInt(m.TS, 10)
}

// SignAck returns the hex HMAC-SHA256 of CanonicalAck with secret (what a staff app
// puts in sig).
func SignAck(secret, topic string, m AckMessage) string {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte(CanonicalAck(topic, m)))
	return hex.EncodeToString(h.Sum(nil))
}

// VerifyAck checks m's signature (when secret is not empty) and that its ts is within
// window of now.
func VerifyAck(secret, topic string, m AckMessage, now time.Time, window time.Duration) error {
	if secret != "" {
		got, err := hex.DecodeString(m.Sig)
		if err != nil || len(got) != sha256.Size {
			return fmt.Errorf("%w: sig is not 64 hex digits", ErrAckSignature)
		}
		want, _ := hex.DecodeString(SignAck(secret, topic, m))
		if !hmac.Equal(got, want) {
			return ErrAckSignature
		}
	}
	// Compare in seconds: a huge ts must not overflow a time.Duration.
	d := now.Unix() - m.TS
	w := int64(window / time.Second)
	if d > w || d < -w {
		return fmt.Errorf("%w: ts is %d s from the gateway's clock", ErrAckStale, d)
	}
	return nil
}

// replayCache remembers accepted acks until their ts leaves the window.
type replayCache struct {
	max  int
	seen map[string]int64 // key → expiry (Unix seconds)
}

// add records key until exp: ErrAckReplay when key is already recorded, ErrAckBusy
// when the cache is full of live entries.
func (c *replayCache) add(key string, exp, now int64) error {
	if _, dup := c.seen[key]; dup {
		return ErrAckReplay
	}
	if len(c.seen) >= c.max {
		for k, e := range c.seen {
			if e < now {
				delete(c.seen, k)
			}
		}
		if len(c.seen) >= c.max {
			return ErrAckBusy
		}
	}
	c.seen[key] = exp
	return nil
}
