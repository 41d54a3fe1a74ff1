package gpio

import (
	"fmt"
	"strings"
	"time"
)

// Pattern names.
const (
	PatternSteady = "steady" // on until stopped
	PatternPulse  = "pulse"  // On on, Off off, repeated
	PatternSOS    = "sos"    // ... --- ... in Morse, On is the unit (dot) length
)

// Default pattern timings.
const (
	DefaultPulseOn  = 500 * time.Millisecond
	DefaultPulseOff = 500 * time.Millisecond
	DefaultSOSUnit  = 200 * time.Millisecond
	minStep         = 10 * time.Millisecond
)

// Pattern is how an output sounds. The zero Pattern is steady.
type Pattern struct {
	Name string        // PatternSteady, PatternPulse or PatternSOS ("" = steady)
	On   time.Duration // pulse: on time; sos: unit length
	Off  time.Duration // pulse: off time
}

// Steady is the output on for as long as it sounds.
func Steady() Pattern { return Pattern{Name: PatternSteady} }

// Pulse is the output on for on, off for off, repeated.
func Pulse(on, off time.Duration) Pattern { return Pattern{Name: PatternPulse, On: on, Off: off} }

// SOS is ... --- ... with the given dot length, repeated.
func SOS(unit time.Duration) Pattern { return Pattern{Name: PatternSOS, On: unit} }

// ParsePattern reads a pattern from config: "steady", "pulse" (500ms/500ms),
// "pulse:300ms/700ms", "sos" (200 ms unit) or "sos:150ms".
func ParsePattern(s string) (Pattern, error) {
	name, arg, hasArg := strings.Cut(strings.TrimSpace(s), ":")
	var p Pattern
	switch name {
	case "", PatternSteady:
		if hasArg {
			return p, fmt.Errorf("pattern %q: steady takes no timing", s)
		}
		return Steady(), nil
	case PatternPulse:
		p = Pulse(DefaultPulseOn, DefaultPulseOff)
		if hasArg {
			on, off, ok := strings.Cut(arg, "/")
			if !ok {
				return p, fmt.Errorf("pattern %q: want pulse:ON/OFF, e.g. pulse:500ms/500ms", s)
			}
			var err error
			if p.On, err = time.ParseDuration(on); err != nil {
				return p, fmt.Errorf("pattern %q: on time: %w", s, err)
			}
			if p.Off, err = time.ParseDuration(off); err != nil {
				return p, fmt.Errorf("pattern %q: off time: %w", s, err)
			}
		}
	case PatternSOS:
		p = SOS(DefaultSOSUnit)
		if hasArg {
			var err error
			if p.On, err = time.ParseDuration(arg); err != nil {
				return p, fmt.Errorf("pattern %q: unit: %w", s, err)
			}
		}
	default:
		return p, fmt.Errorf("unknown pattern %q (want steady, pulse[:ON/OFF] or sos[:UNIT])", s)
	}
	if err := p.Validate(); err != nil {
		return p, fmt.Errorf("pattern %q: %w", s, err)
	}
	return p, nil
}

// Validate checks the timings (each step at least 10 ms, at most 1 min).
func (p Pattern) Validate() error {
	chk := func(what string, d time.Duration) error {
		if d < minStep || d > time.Minute {
			return fmt.Errorf("%s %s is outside 10ms..1m", what, d)
		}
		return nil
	}
	switch p.Name {
	case "", PatternSteady:
		return nil
	case PatternPulse:
		if err := chk("on time", p.On); err != nil {
			return err
		}
		return chk("off time", p.Off)
	case PatternSOS:
		return chk("unit", p.On)
	}
	return fmt.Errorf("unknown pattern %q", p.Name)
}

// String is the config form of the pattern (ParsePattern reads it back).
func (p Pattern) String() string {
	switch p.Name {
	case PatternPulse:
		return fmt.Sprintf("pulse:%s/%s", p.On, p.Off)
	case PatternSOS:
		return fmt.Sprintf("sos:%s", p.On)
	}
	return PatternSteady
}

// step is one segment of a pattern: the output at level on for d (0 = forever).
type step struct {
	on bool
	d  time.Duration
}

// steps expands the pattern into the cycle the output repeats.
func (p Pattern) steps() []step {
	switch p.Name {
	case PatternPulse:
		return []step{{true, p.On}, {false, p.Off}}
	case PatternSOS:
		u := p.On
		var s []step
		letter := func(units int) {
			for i := 0; i < 3; i++ {
				s = append(s, step{true, time.Duration(units) * u})
				gap := u // between elements
				if i == 2 {
					gap = 3 * u // between letters
				}
				s = append(s, step{false, gap})
			}
		}
		letter(1)
		letter(3)
		letter(1)
		s[len(s)-1].d = 7 * u // between words
		return s
	}
	return []step{{true, 0}}
}
