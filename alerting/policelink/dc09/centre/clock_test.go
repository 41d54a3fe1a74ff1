package centre

import (
	"errors"
	"testing"
	"time"

	"github.com/campusguard/campusguard/alerting/policelink/dc09"
)

// TestTimeWindow checks the 40 s past / 20 s future acceptance window.
func TestTimeWindow(t *testing.T) {
	r := startReceiver(t, Config{Network: "udp"})
	tests := []struct {
		offset time.Duration // message time - receiver time
		want   dc09.Token
	}{
		{0, dc09.TokenACK},
		{-40 * time.Second, dc09.TokenACK},
		{-41 * time.Second, dc09.TokenNAK},
		{20 * time.Second, dc09.TokenACK},
		{21 * time.Second, dc09.TokenNAK},
		{-time.Hour, dc09.TokenNAK},
	}
	for i, tt := range tests {
		m := udpExchange(t, r.UDPAddr(), encode(t, cidMessage(t, i+1, base.Add(tt.offset)), nil), nil)
		if m.ID != tt.want {
			t.Errorf("message at receiver time %+v: answer %s, want %s", tt.offset, m.ID, tt.want)
		}
	}
	r2 := startReceiver(t, Config{Network: "udp", NoTimeCheck: true})
	if m := udpExchange(t, r2.UDPAddr(), encode(t, cidMessage(t, 1, base.Add(-time.Hour)), nil), nil); m.ID != dc09.TokenACK {
		t.Errorf("NoTimeCheck: answer %s", m.ID)
	}
}

// TestNAKClockCorrection plays the transmitter's part: a receiver whose clock
// is 5 minutes ahead answers NAK, the panel corrects its clock from the NAK
// and resends the same sequence number, which is acknowledged.
func TestNAKClockCorrection(t *testing.T) {
	r := startReceiver(t, Config{Network: "tcp", ClockOffset: 5 * time.Minute})
	if got := r.Now(); !got.Equal(base.Add(5 * time.Minute)) {
		t.Fatalf("receiver clock %v", got)
	}
	local := base
	m := cidMessage(t, 9, local)
	tc := dialTCP(t, r.TCPAddr())
	tc.send(encode(t, m, nil))
	nak := tc.read(nil)
	if err := dc09.ValidateACK(m, nak); !errors.Is(err, dc09.ErrNAK) {
		t.Fatalf("ValidateACK = %v, want ErrNAK", err)
	}
	offset, err := dc09.ClockOffset(nak, local)
	if err != nil || offset != 5*time.Minute {
		t.Fatalf("ClockOffset = %v, %v", offset, err)
	}
	m.Timestamp = local.Add(offset)
	tc.send(encode(t, m, nil))
	if ack := tc.read(nil); dc09.ValidateACK(m, ack) != nil {
		t.Fatalf("answer after correction %#v", ack)
	}
	r.SetClockOffset(-time.Minute)
	tc.send(encode(t, m, nil))
	if nak := tc.read(nil); nak.ID != dc09.TokenNAK || !nak.Timestamp.Equal(base.Add(-time.Minute)) {
		t.Fatalf("answer after the receiver's clock moved %#v", nak)
	}
}
