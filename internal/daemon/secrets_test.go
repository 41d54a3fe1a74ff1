package daemon

import (
	"context"
	"testing"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/alerting/policelink/dc09"
	"github.com/campusguard/campusguard/alerting/policelink/dc09/centre"
)

// The police link's AES key from the environment (CAMPUSGUARD_POLICELINK_KEY) wins
// over the one in the file, through the running daemon: the receiving centre holds
// only the environment's key, and it decrypts and acknowledges every report of a duty
// scenario (press, ack, press again, reset, press), each under a number of its own.
// With the file's key it could decrypt none of them.
func TestScenario_PoliceKeyFromTheEnvironment(t *testing.T) {
	const envKey = "0123456789ABCDEF0123456789ABCDEF" // the harness file holds another
	t.Setenv("CAMPUSGUARD_POLICELINK_KEY", envKey)
	key, err := dc09.ParseKey(envKey, dc09.KeyHex)
	if err != nil {
		t.Fatal(err)
	}
	r := centre.New(centre.Config{Network: "tcp", Key: key})
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Stop() })
	h := newHarness(t, harnessOpt{police: r})

	h.pressGate()
	a := h.staffGets(alerting.Fired, "builtin-panic", 1).Alarm
	h.policeGot(1)
	h.ack(a.ID, "张伟")
	h.staffGets(alerting.Acked, "builtin-panic", 1)
	h.releaseGate()
	h.pressGate()
	h.staffGets(alerting.Refired, "builtin-panic", 1)
	h.policeGot(2)
	h.reset(a.ID, "张伟")
	h.staffGets(alerting.ResolvedT, "builtin-panic", 1)
	h.policeGot(3)
	h.releaseGate()
	h.pressGate()
	h.staffGets(alerting.Fired, "builtin-panic", 2)
	got := h.policeGot(4)
	want := []string{"120/1 zone 11", "120/1 zone 11", "120/3 zone 11", "120/1 zone 11"}
	for i, w := range want {
		if got[i].String() != w {
			t.Fatalf("police got %v, want %v", got, want)
		}
	}
	seqs := map[int]bool{}
	for _, rec := range r.Received() {
		if rec.Message.ID != dc09.TokenADMCID {
			continue
		}
		if rec.Err != nil || rec.Answer != centre.ACK || !rec.Message.Encrypted {
			t.Fatalf("report %q: answered %v, encrypted %v, err %v", rec.Message.Data, rec.Answer, rec.Message.Encrypted, rec.Err)
		}
		if seqs[rec.Message.Seq] {
			t.Fatalf("sequence number %04d used twice", rec.Message.Seq)
		}
		seqs[rec.Message.Seq] = true
	}
}
