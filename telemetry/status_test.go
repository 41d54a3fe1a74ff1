package telemetry

import (
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/cfgerr"
	"github.com/campusguard/campusguard/devhealth"
	"github.com/campusguard/campusguard/event"
)

type fakeDevices []devhealth.DeviceState

func (f fakeDevices) Snapshot() []devhealth.DeviceState { return f }

type fakeBus struct{}

func (fakeBus) Subscriptions() []*event.Subscription { return nil }
func (fakeBus) Published() uint64                    { return 42 }

type fakeAlarms int

func (n fakeAlarms) Active() []alerting.Alarm { return make([]alerting.Alarm, n) }

// One status round writes a point per device and one for the gateway.
func TestRecordStatus(t *testing.T) {
	clock := clockwork.NewFakeClockAt(time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC))
	cfg := Config{Enabled: true, URL: "http://127.0.0.1:1", Bucket: "b", SpoolDir: t.TempDir()}
	cfg.SetDefaults(cfgerr.Env{})
	f, err := New(cfg, Options{Clock: clock, Logger: quietLogger(), Site: "s01"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.spool.Close(); f.client.Close() })
	devs := fakeDevices{
		{Device: "gate", Kind: event.KindPanic, Status: devhealth.StatusOnline},
		{Device: "cam-2", Kind: event.KindKitchenCamera, Status: devhealth.StatusOffline},
	}
	f.recordStatus(StatusSources{Devices: devs, Bus: fakeBus{}, Alarms: fakeAlarms(2), Started: clock.Now().Add(-time.Hour)})
	f.mu.Lock()
	b := f.status
	f.mu.Unlock()
	if b == nil || b.n != 3 {
		t.Fatalf("status batch %+v, want 3 points", b)
	}
	text := string(b.buf)
	for _, want := range []string{"device=gate", "device=cam-2,kind=kitchen_camera", "alarms_active=2", "events=42", "uptime_s=3600"} {
		if !strings.Contains(text, want) {
			t.Errorf("status points lack %q:\n%s", want, text)
		}
	}
}
