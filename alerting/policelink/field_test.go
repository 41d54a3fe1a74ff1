package policelink

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/alerting/policelink/dc09"
	"github.com/campusguard/campusguard/alerting/policelink/dc09/centre"
	"github.com/campusguard/campusguard/cfgerr"
	"github.com/campusguard/campusguard/event/eventtest"
	"github.com/campusguard/campusguard/health"
	"github.com/campusguard/campusguard/secret"
)

// haKey is a key as an installer types it into Home Assistant's SIA integration:
// 32 characters that look like hex. That receiver reads their ASCII bytes (AES-256);
// with key_encoding hex the link reads 16 bytes (AES-128): not the same key.
const haKey = "000102030405060708090A0B0C0D0E0F"

// startField starts a receiver that answers like the field receiver library.
func startField(t testing.TB, network string, fc centre.FieldConfig) *centre.Receiver {
	t.Helper()
	return startReceiver(t, network, false, func(c *centre.Config) { c.Field = &fc })
}

// logBuffer is a logger whose output the test reads.
func logBuffer() (*slog.Logger, *bytes.Buffer) {
	var b bytes.Buffer
	return slog.New(slog.NewTextHandler(&b, nil)), &b
}

// TestFieldNAKIsRejection (finding 1): the field receiver answers a frame it cannot
// decrypt with "NAK"0000L0R0A0[]_ts and an unknown clear account with a bare "NAK".
// Both are NAKs: the delivery fails at once (no timeout) as a rejection, shown in
// the log and health with the answer, and published once as report_rejected; the
// notification stays pending (not Permanent).
func TestFieldNAKIsRejection(t *testing.T) {
	cases := []struct {
		name   string
		fc     centre.FieldConfig
		mod    func(*Config)
		answer string
	}{
		{"wrong key encoding", centre.FieldConfig{Key: haKey}, func(c *Config) { c.Key, c.KeyEncoding = secret.Inline(haKey), "hex" }, `"NAK"0000L0R0A0[]_`},
		{"unknown account", centre.FieldConfig{Accounts: []string{"9999"}}, func(c *Config) {}, `"NAK"`},
		{"ADM-CID with a time block", centre.FieldConfig{Key: haKey}, func(c *Config) { c.Key, c.KeyEncoding = secret.Inline(haKey), "ascii" }, "omit_time_block"},
	}
	for _, tc := range cases {
		for _, network := range []string{"tcp", "udp"} {
			t.Run(tc.name+"/"+network, func(t *testing.T) {
				ctx := ctxT(t)
				rcv := startField(t, network, tc.fc)
				cfg := baseConfig(network, false, addr(rcv, network))
				cfg.Timeout = time.Minute // a NAK that is not read would end in ctx's deadline
				cfg.NAKRetries = 2
				tc.mod(&cfg)
				events := eventtest.NewRecorder(time.Now)
				log, logs := logBuffer()
				s := newSink(t, cfg, Options{Publisher: events, Logger: log})
				for i := range 2 {
					err := s.Deliver(ctx, fired(fmt.Sprintf("r%d", i), time.Now()))
					var p *alerting.Permanent
					if err == nil || errors.As(err, &p) || !errors.Is(err, ErrRejected) || !errors.Is(err, dc09.ErrNAK) || errors.Is(err, errTimeout) {
						t.Fatalf("Deliver = %v, want a retryable rejection", err)
					}
				}
				if n := rcv.Len(); n != 2*(1+cfg.NAKRetries) {
					t.Errorf("receiver got %d frames, want %d", n, 2*(1+cfg.NAKRetries))
				}
				s.mu.Lock() // path events wait for Run to publish them
				if len(s.events) == 0 || s.events[0].Type != TypePathFail || !strings.Contains(s.events[0].Fields["reason"].(string), DiagRejected) {
					t.Errorf("path events %+v, want path_fail with the rejection as reason", s.events)
				}
				s.mu.Unlock()
				e := waitEvent(t, events, TypeReportReject)
				if e.Fields["cause"] != CauseNAK || e.Fields["path"] != "main" || e.Fields["reason"] != ReasonRejected ||
					!strings.Contains(e.Fields["error"].(string), DiagRejected) || e.Fields["alarm"] != "r0" {
					t.Errorf("report_rejected %+v", e.Fields)
				}
				for _, e := range events.Pending() {
					if e.Type == TypeReportReject {
						t.Errorf("a second report_rejected before any ACK: %+v", e.Fields)
					}
				}
				st := s.Health()
				if st.State == health.Up || !strings.Contains(st.Reason, DiagRejected) || !strings.Contains(st.Reason, tc.answer) {
					t.Errorf("health %v: %s", st.State, st.Reason)
				}
				if !strings.Contains(logs.String(), DiagRejected) || !strings.Contains(logs.String(), strings.ReplaceAll(tc.answer, `"`, `\"`)) {
					t.Errorf("log lacks the diagnosis and the answer:\n%s", logs)
				}
			})
		}
	}
}

// TestClockNAKIsNotRejection: a receiver whose clock is off NAKs with a standard
// NAK: the clock is corrected and nothing is reported as a rejection.
func TestClockNAKIsNotRejection(t *testing.T) {
	ctx := ctxT(t)
	rcv := startField(t, "tcp", centre.FieldConfig{Key: haKey})
	rcv.SetClockOffset(-3 * time.Minute)
	cfg := baseConfig("tcp", false, rcv.TCPAddr())
	cfg.Key, cfg.KeyEncoding, cfg.OmitTimeBlock = secret.Inline(haKey), "ascii", true
	s := newSink(t, cfg, Options{})
	if err := s.Deliver(ctx, fired("c1", time.Now())); err != nil {
		t.Fatal(err)
	}
	if st := s.Health(); strings.Contains(st.Reason, DiagRejected) {
		t.Errorf("health %v: %s", st.State, st.Reason)
	}
}

// TestKeyEncodingASCII (finding 2): with key_encoding ascii the link speaks to the
// field receiver (Home Assistant's form of the key), clear or encrypted, TCP and UDP,
// CID and SIA; check notes the other reading of a 32-character key.
func TestKeyEncodingASCII(t *testing.T) {
	for _, network := range []string{"tcp", "udp"} {
		for _, proto := range []string{ProtocolCID, ProtocolSIA} {
			t.Run(network+"/"+proto, func(t *testing.T) {
				ctx := ctxT(t)
				rcv := startField(t, network, centre.FieldConfig{Key: haKey, Accounts: []string{"1234"}})
				cfg := baseConfig(network, false, addr(rcv, network))
				cfg.Key, cfg.KeyEncoding, cfg.Protocol = secret.Inline(haKey), "ascii", proto
				cfg.OmitTimeBlock = proto == ProtocolCID // the field library's ADM-CID pattern refuses extended blocks
				s := newSink(t, cfg, Options{})
				if err := s.Deliver(ctx, fired("k1", time.Now())); err != nil {
					t.Fatal(err)
				}
				if r := rcv.Received()[0]; r.Answer != centre.ACK || !r.Message.Encrypted {
					t.Errorf("receiver %+v", r)
				}
			})
		}
	}
}

// TestKeyEchoRedacted (finding 4): the field receiver echoes the key as [K…] in
// its encrypted ACK when the report carries an [H..] block: neither the installer
// test's output nor the sink's log shows it.
func TestKeyEchoRedacted(t *testing.T) {
	ctx := ctxT(t)
	rcv := startField(t, "tcp", centre.FieldConfig{Key: haKey})
	cfg := baseConfig("tcp", false, rcv.TCPAddr())
	cfg.Key, cfg.KeyEncoding, cfg.Protocol = secret.Inline(haKey), "ascii", ProtocolSIA
	var out strings.Builder
	if err := TestReport(ctx, cfg, &out, TestOptions{}); err != nil {
		t.Fatalf("TestReport: %v\n%s", err, out.String())
	}
	if strings.Contains(out.String(), haKey) || !strings.Contains(out.String(), "[K"+dc09.Redacted+"]") {
		t.Errorf("output shows the key or no redacted echo:\n%s", out.String())
	}
	rcv.Script(centre.ACK, centre.DUH) // the field DUH echoes the key in clear
	log, logs := logBuffer()
	s := newSink(t, cfg, Options{Logger: log})
	if err := s.Deliver(ctx, fired("e1", time.Now())); err != nil {
		t.Fatal(err)
	}
	err := s.Deliver(ctx, fired("e2", time.Now()))
	if !errors.Is(err, dc09.ErrDUH) || strings.Contains(err.Error(), haKey) {
		t.Errorf("Deliver = %v", err)
	}
	if strings.Contains(logs.String(), haKey) || strings.Contains(fmt.Sprint(s.Health()), haKey) {
		t.Errorf("the key is logged or in health:\n%s", logs)
	}
	for _, r := range rcv.Received() {
		if !bytes.Contains(r.Reply, []byte(haKey)) && r.Message.Data != "" && r.Answer == centre.DUH {
			t.Errorf("the field receiver did not echo the key in its DUH %q: the test proves nothing", r.Reply)
		}
	}
	t.Log("\n" + out.String())
}

// TestAccountUpperCase (finding 5): a lower-case account is sent in upper case (the
// field receiver matches accounts in upper case) and check notes it.
func TestAccountUpperCase(t *testing.T) {
	ctx := ctxT(t)
	rcv := startField(t, "udp", centre.FieldConfig{Accounts: []string{"12AB"}})
	cfg := baseConfig("udp", false, rcv.UDPAddr())
	cfg.Account, cfg.OmitTimeBlock = "12ab", true
	s := newSink(t, cfg, Options{})
	if err := s.Deliver(ctx, fired("u1", time.Now())); err != nil {
		t.Fatal(err)
	}
	if m := rcv.Received()[0].Message; m.Account != "12AB" || !strings.HasPrefix(m.Data, "#12AB|") {
		t.Errorf("sent %+v", m)
	}
	c := validConfig()
	c.Account = "12ab"
	c.SetDefaults(cfgerr.Env{})
	var errs, notes cfgerr.List
	c.Validate(&errs)
	c.Notes(&notes)
	if errs.Len() != 0 || notes.Len() != 1 || notes.Errs[0].Key != "account" || !strings.Contains(notes.Errs[0].Msg, `"12AB"`) {
		t.Errorf("errors %v, notes %v", errs.Err(), notes.Err())
	}
}

// TestWrongKeyAtStart (finding 1): with a wrong key_encoding the first supervision
// poll is rejected: health, the log and path_fail say so before any alarm.
func TestWrongKeyAtStart(t *testing.T) {
	ctx := ctxT(t)
	clock := clockwork.NewFakeClockAt(time.Now())
	rcv := startField(t, "tcp", centre.FieldConfig{Key: haKey})
	cfg := baseConfig("tcp", false, rcv.TCPAddr())
	cfg.Key, cfg.KeyEncoding = secret.Inline(haKey), "hex"
	cfg.PeriodicTest.Disabled = true
	events := eventtest.NewRecorder(time.Now)
	s := newSink(t, cfg, Options{Clock: clock, Publisher: events})
	runSink(t, ctx, s)
	e := waitEvent(t, events, TypePathFail)
	if !strings.Contains(e.Fields["reason"].(string), DiagRejected) || !strings.Contains(e.Fields["error"].(string), "L0R0A0") {
		t.Errorf("path_fail %+v", e.Fields)
	}
	if st := s.Health(); st.State != health.Down || !strings.Contains(st.Reason, DiagRejected) {
		t.Errorf("health %v: %s", st.State, st.Reason)
	}
}
