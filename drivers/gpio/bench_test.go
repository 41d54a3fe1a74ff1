package gpio

import (
	"context"
	"testing"
	"time"

	"github.com/campusguard/campusguard/event"
	"github.com/jonboulle/clockwork"
	"periph.io/x/conn/v3/gpio"
)

// BenchmarkEdgeToSiren measures a button edge on a gpiotest pin → debounced input →
// event on a real event.Bus → a tiny consumer calling Output.Sound → the siren pin
// driven high. Each op is one press (measured, reported as ns/edge-to-siren) and
// one release (the consumer silences; resound suppression is off for the loop).
func BenchmarkEdgeToSiren(b *testing.B) {
	btn, so := newTPin("BTN", gpio.High), newTPin("SO", gpio.Low)
	bus := event.NewBus(nil)
	sub := bus.Subscribe("siren", 64, event.Block)
	src := NewMapSource(map[string]gpio.PinIO{"BTN": btn, "SO": so})
	d, err := New(Options{Site: "s01", Source: src, Publisher: bus, Clock: clockwork.NewRealClock(), Logger: quietLog()})
	if err != nil {
		b.Fatal(err)
	}
	err = d.Apply(Config{
		Heartbeat: -1,
		Inputs:    []InputConfig{{Device: "btn", Kind: event.KindPanic, PinRef: PinRef{Pin: "BTN"}, Debounce: -1}},
		Outputs:   []OutputConfig{{ID: "siren", PinRef: PinRef{Pin: "SO"}}},
	})
	if err != nil {
		b.Fatal(err)
	}
	<-so.outs // off at start
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan struct{})
	go func() { defer close(runDone); _ = d.Run(ctx) }()
	consDone := make(chan struct{})
	go func() { // the consumer: alerting's siren sink in miniature
		defer close(consDone)
		for e := range sub.C() {
			switch e.Type {
			case event.TypePressed:
				_ = d.Sound("siren", Steady(), 0)
			case event.TypeReleased:
				_ = d.Silence("siren")
			}
		}
	}()
	select {
	case <-btn.inC:
	case <-time.After(wait):
		b.Fatal("input not opened")
	}

	var total time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		btn.EdgesChan <- gpio.Low
		if <-so.outs != gpio.High {
			b.Fatal("siren not on")
		}
		total += time.Since(t0)
		btn.EdgesChan <- gpio.High
		if <-so.outs != gpio.Low {
			b.Fatal("siren not off")
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(total.Nanoseconds())/float64(b.N), "ns/edge-to-siren")
	cancel()
	<-runDone
	bus.Close()
	<-consDone
}
