package siren_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/alerting/sinks/siren"
	gpiodrv "github.com/campusguard/campusguard/drivers/gpio"
	"github.com/campusguard/campusguard/event"
	"github.com/campusguard/campusguard/event/eventtest"
)

// driverOutput is the daemon's adapter from a siren Output to a GPIO driver output.
type driverOutput struct {
	d  *gpiodrv.Driver
	id string
}

func (o driverOutput) Sound(p siren.Pattern, maxOn time.Duration) error {
	gp := gpiodrv.Steady()
	if p.Mode == siren.Pulse {
		gp = gpiodrv.Pulse(p.On, p.Off)
	}
	return o.d.Sound(o.id, gp, maxOn)
}
func (o driverOutput) Silence() error { return o.d.Silence(o.id) }
func (o driverOutput) Off() error     { return o.d.Off(o.id) }

// TestChainOffSoundsAgainAtOnce: the siren sink over the GPIO driver on a gpiotest
// pin. However the siren went off (the alarm cleared, the core released it, max_on,
// a person's silence or reset), another alarm 5 s later sounds at once: the 30 s
// re-sound rule is the silenced alarm's (alerting), and neither the sink nor the line
// keeps a guard of its own.
func TestChainOffSoundsAgainAtOnce(t *testing.T) {
	tests := []struct {
		name string
		stop func(s *siren.Sink, clk *clockwork.FakeClock, a alerting.Alarm)
	}{
		{"alarm resolved", func(s *siren.Sink, _ *clockwork.FakeClock, a alerting.Alarm) {
			a.State = alerting.Resolved
			_ = s.Deliver(context.Background(), alerting.Notification{ID: "r", Transition: alerting.ResolvedT, Alarm: a, Count: 1})
		}},
		{"core off", func(s *siren.Sink, _ *clockwork.FakeClock, a alerting.Alarm) { siren.Local{S: s}.Off(a) }},
		{"max on-time", func(s *siren.Sink, clk *clockwork.FakeClock, a alerting.Alarm) { clk.Advance(time.Minute) }},
		{"a person silenced it", func(s *siren.Sink, _ *clockwork.FakeClock, a alerting.Alarm) { siren.Local{S: s}.Silence(a) }},
		{"a person reset it", func(s *siren.Sink, _ *clockwork.FakeClock, a alerting.Alarm) {
			a.State = alerting.Resolved
			siren.Local{S: s}.Silence(a)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := clockwork.NewFakeClockAt(time.Date(2026, 11, 20, 13, 0, 0, 0, time.UTC))
			log := slog.New(slog.DiscardHandler)
			pin := siren.NewLevelPin(&gpiotest.Pin{N: "GPIO5"}, 64)
			d, err := gpiodrv.New(gpiodrv.Options{Source: gpiodrv.NewMapSource(map[string]gpio.PinIO{"GPIO5": pin}), Publisher: eventtest.NewRecorder(nil), Clock: clk, Logger: log})
			if err != nil {
				t.Fatal(err)
			}
			if err := d.Apply(gpiodrv.Config{Outputs: []gpiodrv.OutputConfig{{ID: "siren-gate", PinRef: gpiodrv.PinRef{Pin: "GPIO5"}}}}); err != nil {
				t.Fatal(err)
			}
			cfg := siren.Config{
				Outputs: []siren.OutputConfig{{ID: "siren-gate", PatternConfig: siren.PatternConfig{Pattern: siren.Steady, MaxOn: time.Minute}}},
				Routes:  []siren.Route{{Outputs: []string{"siren-gate"}}},
			}
			s, err := siren.New(cfg, map[string]siren.Output{"siren-gate": driverOutput{d: d, id: "siren-gate"}}, siren.Options{Clock: clk, Logger: log})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			pin.Expect(ctx, t, gpio.Low) // off at open

			at := time.Date(2026, 11, 20, 13, 0, 0, 0, time.UTC)
			a := alerting.Alarm{ID: "a1", Zone: "gate", DeviceKind: event.KindPanic, Severity: alerting.Critical, State: alerting.Firing, Count: 1, FiredAt: at}
			siren.Local{S: s}.Sound(a)
			pin.Expect(ctx, t, gpio.High)
			tc.stop(s, clk, a)
			pin.Expect(ctx, t, gpio.Low)
			pin.OnlyLow(t, "the stop") // the driver's and the sink's max-on cut-offs

			clk.Advance(5 * time.Second)
			b := alerting.Alarm{ID: "b1", Zone: "gate", DeviceKind: event.KindPanic, Severity: alerting.Critical, State: alerting.Firing, Count: 1, FiredAt: clk.Now()}
			siren.Local{S: s}.Sound(b)
			pin.Expect(ctx, t, gpio.High)
			if st := s.Outputs()[0]; !st.Sounding {
				t.Fatalf("sink state %+v", st)
			}
		})
	}
}
