package sim

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/jonboulle/clockwork"

	"periph.io/x/conn/v3/gpio"

	gpiodrv "github.com/campusguard/campusguard/drivers/gpio"
	"github.com/campusguard/campusguard/event"
	"github.com/campusguard/campusguard/site"
)

// recorder keeps what the simulator published (the daemon tests run it against the
// real broker; here only topics and payloads are checked).
type recorder struct {
	mu   sync.Mutex
	msgs []string
}

func (r *recorder) Publish(ctx context.Context, broker, topic string, qos byte, retained bool, payload []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, topic+" "+string(payload))
	return nil
}

func newSim(t *testing.T) (*Sim, *recorder, *clockwork.FakeClock) {
	t.Helper()
	s := &site.Site{ID: "s01"}
	rec := &recorder{}
	clk := clockwork.NewFakeClock()
	sm, err := New(Options{
		Clock: clk,
		Site:  s,
		Devices: []site.Device{
			{ID: "panic-gate", Kind: event.KindPanic, Driver: "gpio"},
			{ID: "window", Kind: event.KindAntiFall, Driver: "gpio"},
			{ID: "cam-1", Kind: event.KindKitchenCamera, Driver: "mqtt"},
			{ID: "radar", Kind: event.KindAntiFall, Driver: "mqtt"},
		},
		GPIO: gpiodrv.Config{Inputs: []gpiodrv.InputConfig{
			{Device: "panic-gate", PinRef: gpiodrv.PinRef{Pin: "GPIO17"}, Contact: "no", ActiveLevel: "low",
				Supervision: &gpiodrv.SupervisionConfig{PinRef: gpiodrv.PinRef{Pin: "GPIO27"}, TroubleLevel: "high"}},
			{Device: "window", PinRef: gpiodrv.PinRef{Pin: "GPIO22"}, Contact: "nc", ActiveLevel: "low"},
		}},
		MQTT: rec, Broker: "b",
	})
	if err != nil {
		t.Fatal(err)
	}
	return sm, rec, clk
}

// TestWiredIdleLevels: an opened line reads its device's idle level, not the pull's.
func TestWiredIdleLevels(t *testing.T) {
	sm, _, _ := newSim(t)
	tests := []struct {
		pin  string
		pull gpio.Pull
		want gpio.Level
	}{
		{"GPIO17", gpio.PullUp, gpio.High}, // NO contact to ground: open reads high
		{"GPIO27", gpio.PullUp, gpio.Low},  // supervision loop intact: low
		{"GPIO22", gpio.PullUp, gpio.Low},  // NC window contact closed: low
	}
	for _, tt := range tests {
		p, err := sm.PinSource().Pin(tt.pin)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.In(tt.pull, gpio.BothEdges); err != nil {
			t.Fatal(err)
		}
		if got := p.Read(); got != tt.want {
			t.Errorf("%s reads %v after In, want %v", tt.pin, got, tt.want)
		}
	}
}

func TestScenarios(t *testing.T) {
	sm, rec, clk := newSim(t)
	ctx := context.Background()
	if err := sm.RunScenario(ctx, "nope"); err == nil || !strings.Contains(err.Error(), "unknown scenario") {
		t.Fatalf("unknown scenario: %v", err)
	}
	// The window scenario opens the NC contact (trigger level high) and closes it.
	done := make(chan error, 1)
	go func() { done <- sm.RunScenario(ctx, "window") }()
	p := sm.Pin("GPIO22")
	if l := <-p.EdgesChan; l != gpio.High {
		t.Errorf("window opened with level %v", l)
	}
	if err := clk.BlockUntilContext(ctx, 1); err != nil { // the scenario holds the window open
		t.Fatal(err)
	}
	clk.Advance(WindowHold)
	if l := <-p.EdgesChan; l != gpio.Low {
		t.Errorf("window closed with level %v", l)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// Camera offline publishes the camera's last will on its status topic.
	if err := sm.RunScenario(ctx, "camera-offline"); err != nil {
		t.Fatal(err)
	}
	if len(rec.msgs) != 1 || rec.msgs[0] != "school/s01/kitchen/cam-1/status offline" {
		t.Fatalf("published %q", rec.msgs)
	}
	// The heartbeats skip the muted camera and report the radar clear.
	rec.msgs = nil
	sm.heartbeats(ctx)
	if len(rec.msgs) != 1 || !strings.HasPrefix(rec.msgs[0], "school/s01/antifall/radar/state ") {
		t.Fatalf("heartbeats %q", rec.msgs)
	}
	var st map[string]any
	if err := json.Unmarshal([]byte(strings.SplitN(rec.msgs[0], " ", 2)[1]), &st); err != nil || st["occupied"] != false {
		t.Fatalf("radar heartbeat %q: %v", rec.msgs[0], err)
	}
}
