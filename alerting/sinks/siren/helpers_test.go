package siren

import (
	"context"
	"testing"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"
)

// LevelPin is a gpiotest pin that reports every level written to it. It is
// exported for the package's external tests too.
type LevelPin struct {
	*gpiotest.Pin
	Levels chan gpio.Level
}

// NewLevelPin reports p's levels on a channel that holds n of them.
func NewLevelPin(p *gpiotest.Pin, n int) *LevelPin {
	return &LevelPin{Pin: p, Levels: make(chan gpio.Level, n)}
}

func (p *LevelPin) Out(l gpio.Level) error {
	err := p.Pin.Out(l)
	p.Levels <- l
	return err
}

// Expect waits for the next level written and fails t unless it is want; ctx
// guards the wait.
func (p *LevelPin) Expect(ctx context.Context, t testing.TB, want gpio.Level) {
	t.Helper()
	select {
	case l := <-p.Levels:
		if l != want {
			t.Fatalf("pin went %s, want %s", l, want)
		}
	case <-ctx.Done():
		t.Fatalf("pin never went %s", want)
	}
}

// OnlyLow fails t if a level still queued is not low (the cut-offs that may follow
// a stop); after says what they followed.
func (p *LevelPin) OnlyLow(t testing.TB, after string) {
	t.Helper()
	for len(p.Levels) > 0 {
		if l := <-p.Levels; l != gpio.Low {
			t.Fatalf("pin went %s after %s", l, after)
		}
	}
}
