package gpio

import (
	"testing"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"
)

func TestSplitChipLine(t *testing.T) {
	tests := []struct {
		in   string
		chip string
		line int
		ok   bool
	}{
		{"gpiochip0/17", "gpiochip0", 17, true},
		{"/dev/gpiochip1/3", "/dev/gpiochip1", 3, true},
		{"GPIO17", "", 0, false},
		{"gpiochip0/x", "", 0, false},
		{"/5", "", 0, false},
		{"gpiochip0/-1", "", 0, false},
	}
	for _, tc := range tests {
		chip, line, ok := splitChipLine(tc.in)
		if chip != tc.chip || line != tc.line || ok != tc.ok {
			t.Errorf("%q: got %q %d %v", tc.in, chip, line, ok)
		}
	}
}

// TestHostSourceUnknownPin: on any machine (with or without GPIO chips) an unknown
// name is an error, never a nil pin or a crash.
func TestHostSourceUnknownPin(t *testing.T) {
	var h HostSource
	for _, name := range []string{"NO_SUCH_PIN_XYZ", "nochip/3"} {
		p, err := h.Pin(name)
		if err == nil || p != nil {
			t.Fatalf("%s: got %v, %v; want an error", name, p, err)
		}
		t.Logf("%s: %v", name, err)
	}
}

func TestMapSource(t *testing.T) {
	p := &gpiotest.Pin{N: "A"}
	m := NewMapSource(map[string]gpio.PinIO{"A": p})
	if got, err := m.Pin("A"); err != nil || got != p {
		t.Fatal(got, err)
	}
	m.Set("A", nil)
	if _, err := m.Pin("A"); err == nil {
		t.Fatal("removed pin still found")
	}
}
