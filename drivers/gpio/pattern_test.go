package gpio

import (
	"testing"
	"time"
)

func TestParsePattern(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		in      string
		want    Pattern
		wantErr bool
	}{
		{"", Steady(), false},
		{"steady", Steady(), false},
		{"pulse", Pulse(500*ms, 500*ms), false},
		{"pulse:300ms/700ms", Pulse(300*ms, 700*ms), false},
		{"sos", SOS(200 * ms), false},
		{"sos:150ms", SOS(150 * ms), false},
		{"pulse:300ms", Pattern{}, true},
		{"pulse:1ms/1ms", Pattern{}, true},
		{"pulse:2m/1s", Pattern{}, true},
		{"steady:1s", Pattern{}, true},
		{"wail", Pattern{}, true},
		{"sos:x", Pattern{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParsePattern(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if err == nil && got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestPatternSteps(t *testing.T) {
	u := 100 * time.Millisecond
	s := SOS(u).steps()
	if len(s) != 18 {
		t.Fatalf("sos has %d steps, want 18", len(s))
	}
	var total time.Duration
	for _, st := range s {
		total += st.d
	}
	// 3 dots (1u) + 3 dashes (3u) + 3 dots = 15u on; gaps: 6×1u + 2×3u + 7u = 19u.
	if total != 34*u {
		t.Fatalf("sos cycle %v, want %v", total, 34*u)
	}
	if st := Steady().steps(); len(st) != 1 || !st[0].on || st[0].d != 0 {
		t.Fatalf("steady steps %+v", st)
	}
}

// FuzzParsePattern: config text never panics, and what parses round-trips.
func FuzzParsePattern(f *testing.F) {
	for _, s := range []string{"steady", "pulse", "pulse:1s/2s", "sos:100ms", "pulse:/", ":", "sos:-1s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePattern(s)
		if err != nil {
			return
		}
		q, err := ParsePattern(p.String())
		if err != nil || q != p {
			t.Fatalf("%q → %+v → %q → %+v, %v", s, p, p.String(), q, err)
		}
		if len(p.steps()) == 0 {
			t.Fatal("no steps")
		}
	})
}
