package gpio

import (
	"fmt"
	"testing"
	"time"
)

// step of a machine script: at ms, feed a level (lvl 0/1) or tick (lvl -1); want is
// the changes as "A" (active), "A*" (active from the level at start) or "I" (inactive).
type mstep struct {
	ms   int
	lvl  int
	want []string
}

func (c change) String() string {
	switch {
	case c.t == toActive && c.initial:
		return "A*"
	case c.t == toActive:
		return "A"
	case c.t == toInactive:
		return "I"
	}
	return fmt.Sprintf("?%d", c.t)
}

func TestMachine(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	A, As, I := []string{"A"}, []string{"A*"}, []string{"I"}
	tests := []struct {
		name  string
		m     machine
		steps []mstep
	}{
		{"no debounce, no hold: immediate", machine{}, []mstep{
			{0, 0, nil}, {1, 1, A}, {5, 0, I},
		}},
		{"debounce: stable 20ms counts", machine{debounce: 20 * time.Millisecond}, []mstep{
			{0, 0, nil}, {1, 1, nil}, {20, -1, nil}, {21, -1, A},
			{30, 0, nil}, {50, -1, I},
		}},
		{"debounce: bounce restarts the wait", machine{debounce: 20 * time.Millisecond}, []mstep{
			{0, 0, nil}, {1, 1, nil}, {5, 0, nil}, {8, 1, nil}, {20, -1, nil}, {27, -1, nil}, {28, -1, A},
		}},
		{"debounce: glitch shorter than debounce is ignored", machine{debounce: 20 * time.Millisecond}, []mstep{
			{0, 0, nil}, {1, 1, nil}, {10, 0, nil}, {100, -1, nil},
		}},
		{"hold: short press ignored", machine{hold: 500 * time.Millisecond}, []mstep{
			{0, 0, nil}, {1, 1, nil}, {499, 0, nil}, {1000, -1, nil},
		}},
		{"hold: held press counts from the edge", machine{debounce: 20 * time.Millisecond, hold: 500 * time.Millisecond}, []mstep{
			{0, 0, nil}, {1, 1, nil}, {21, -1, nil}, {500, -1, nil}, {501, -1, A}, {600, 0, nil}, {620, -1, I},
		}},
		// The wire, faithfully: every press and every release, however many.
		{"pressed twice 5 s apart: two actives, released between", machine{debounce: 20 * time.Millisecond}, []mstep{
			{0, 0, nil}, {1000, 1, nil}, {1020, -1, A}, {1500, 0, nil}, {1520, -1, I},
			{6000, 1, nil}, {6020, -1, A}, {6500, 0, nil}, {6520, -1, I},
		}},
		{"pressed twice without a release seen: one active", machine{}, []mstep{
			{0, 0, nil}, {1, 1, A}, {5000, 1, nil},
		}},
		// The level at start.
		{"normal at start: nothing", machine{debounce: 20 * time.Millisecond}, []mstep{
			{0, 0, nil}, {20, -1, nil}, {1000, -1, nil},
		}},
		{"active at start, no debounce: initial at once", machine{}, []mstep{
			{0, 1, As}, {5, 0, I}, {10, 1, A},
		}},
		{"active at start: initial once the debounce settles", machine{debounce: 20 * time.Millisecond}, []mstep{
			{0, 1, nil}, {19, -1, nil}, {20, -1, As}, {100, 0, nil}, {120, -1, I}, {200, 1, nil}, {220, -1, A},
		}},
		{"active at start with hold: initial after the hold", machine{debounce: 20 * time.Millisecond, hold: 100 * time.Millisecond}, []mstep{
			{0, 1, nil}, {20, -1, nil}, {99, -1, nil}, {100, -1, As},
		}},
		{"active at start but bouncing: not initial", machine{debounce: 20 * time.Millisecond}, []mstep{
			{0, 1, nil}, {5, 0, nil}, {8, 1, nil}, {28, -1, A},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.m
			for i, s := range tc.steps {
				var got []change
				if s.lvl < 0 {
					got = m.tick(at(s.ms))
				} else {
					got = m.sample(s.lvl == 1, at(s.ms))
				}
				gs := make([]string, len(got))
				for j := range got {
					gs[j] = got[j].String()
				}
				if fmt.Sprint(gs) != fmt.Sprint(s.want) {
					t.Fatalf("step %d (%dms): got %v, want %v", i, s.ms, gs, s.want)
				}
			}
		})
	}
}

func TestMachineDeadline(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	m := machine{debounce: 20 * time.Millisecond, hold: 300 * time.Millisecond}
	if _, ok := m.deadline(); ok {
		t.Fatal("idle machine has a deadline")
	}
	m.sample(false, t0) // the level at start: normal
	if _, ok := m.deadline(); ok {
		t.Fatal("normal at start has a deadline")
	}
	m.sample(true, t0)
	if dl, _ := m.deadline(); !dl.Equal(t0.Add(20 * time.Millisecond)) {
		t.Fatalf("debounce deadline %v", dl)
	}
	m.tick(t0.Add(20 * time.Millisecond))
	if dl, _ := m.deadline(); !dl.Equal(t0.Add(300 * time.Millisecond)) {
		t.Fatalf("hold deadline %v", dl)
	}
	ch := m.tick(t0.Add(300 * time.Millisecond))
	if len(ch) != 1 || ch[0].t != toActive || ch[0].initial || !ch[0].edgeAt.Equal(t0) {
		t.Fatalf("got %+v, want active (not initial) with the edge time", ch)
	}
	if _, ok := m.deadline(); ok {
		t.Fatal("reported machine still has a deadline")
	}
}
