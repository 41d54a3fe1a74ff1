package gpio

import (
	"errors"
	"testing"
	"time"
)

// step of a machine script: at ms, feed a level (lvl 0/1), tick (lvl -1) or reset (lvl 2).
type mstep struct {
	ms   int
	lvl  int
	want []transition
}

func TestMachine(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	A, I, R := toActive, toInactive, toReset
	tests := []struct {
		name  string
		m     machine
		steps []mstep
	}{
		{"no debounce, no hold: immediate", machine{}, []mstep{
			{0, 1, []transition{A}}, {5, 0, []transition{I}},
		}},
		{"debounce: stable 20ms counts", machine{debounce: 20 * time.Millisecond}, []mstep{
			{0, 1, nil}, {19, -1, nil}, {20, -1, []transition{A}},
			{30, 0, nil}, {50, -1, []transition{I}},
		}},
		{"debounce: bounce restarts the wait", machine{debounce: 20 * time.Millisecond}, []mstep{
			{0, 1, nil}, {5, 0, nil}, {8, 1, nil}, {20, -1, nil}, {27, -1, nil}, {28, -1, []transition{A}},
		}},
		{"debounce: glitch shorter than debounce is ignored", machine{debounce: 20 * time.Millisecond}, []mstep{
			{0, 1, nil}, {10, 0, nil}, {100, -1, nil},
		}},
		{"hold: short press ignored", machine{hold: 500 * time.Millisecond}, []mstep{
			{0, 1, nil}, {499, 0, nil}, {1000, -1, nil},
		}},
		{"hold: held press counts from the edge", machine{debounce: 20 * time.Millisecond, hold: 500 * time.Millisecond}, []mstep{
			{0, 1, nil}, {20, -1, nil}, {499, -1, nil}, {500, -1, []transition{A}}, {600, 0, nil}, {620, -1, []transition{I}},
		}},
		{"latch: release not reported, reset clears", machine{latch: true}, []mstep{
			{0, 1, []transition{A}}, {10, 0, nil}, {20, 1, nil}, {30, 0, nil}, {40, 2, []transition{R}}, {50, 1, []transition{A}},
		}},
		{"latch: reset while active reports active again", machine{latch: true}, []mstep{
			{0, 1, []transition{A}}, {40, 2, []transition{R, A}}, {50, 0, nil}, {60, 2, []transition{R}},
		}},
		{"no latch: reset refused", machine{}, []mstep{
			{0, 1, []transition{A}}, {5, 2, nil},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.m
			for i, s := range tc.steps {
				var got []change
				switch s.lvl {
				case -1:
					got = m.tick(at(s.ms))
				case 2:
					var err error
					got, err = m.reset(at(s.ms))
					if err != nil && !errors.Is(err, ErrNotLatched) {
						t.Fatalf("step %d: reset: %v", i, err)
					}
				default:
					got = m.sample(s.lvl == 1, at(s.ms))
				}
				if len(got) != len(s.want) {
					t.Fatalf("step %d (%dms): got %v, want %v", i, s.ms, got, s.want)
				}
				for j := range got {
					if got[j].t != s.want[j] {
						t.Fatalf("step %d (%dms): got %v, want %v", i, s.ms, got, s.want)
					}
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
	m.sample(true, t0)
	if dl, _ := m.deadline(); !dl.Equal(t0.Add(20 * time.Millisecond)) {
		t.Fatalf("debounce deadline %v", dl)
	}
	m.tick(t0.Add(20 * time.Millisecond))
	if dl, _ := m.deadline(); !dl.Equal(t0.Add(300 * time.Millisecond)) {
		t.Fatalf("hold deadline %v", dl)
	}
	ch := m.tick(t0.Add(300 * time.Millisecond))
	if len(ch) != 1 || ch[0].t != toActive || !ch[0].edgeAt.Equal(t0) {
		t.Fatalf("got %+v, want active with the edge time", ch)
	}
	if _, ok := m.deadline(); ok {
		t.Fatal("reported machine still has a deadline")
	}
}
