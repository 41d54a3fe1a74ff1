package gpio

import (
	"fmt"
	"strconv"
	"strings"
	"sync"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/host/v3"
	"periph.io/x/host/v3/gpioioctl"
)

// PinSource resolves pin names (PinRef.Name: "GPIO17", a line name, or "chip/line")
// to pins. The driver opens a pin (In or Out) after resolving it.
type PinSource interface {
	Pin(name string) (gpio.PinIO, error)
}

// OutputSource is a PinSource that can hand out a line already made an output and
// driven to a level, in one request, so the line never shows another level first.
// Output opens its line through OutputPin, at the off level, when its source has it.
type OutputSource interface {
	PinSource
	OutputPin(name string, initial gpio.Level) (gpio.PinIO, error)
}

// HostSource resolves pins on the running machine: it calls host.Init once (which
// picks the kernel's GPIO character-device driver on a Linux box with /dev/gpiochip*)
// and then looks names up in gpioreg, and "chip/line" names in the chips found.
type HostSource struct {
	once sync.Once
	err  error
}

// Pin implements PinSource.
func (h *HostSource) Pin(name string) (gpio.PinIO, error) {
	h.once.Do(func() {
		if _, err := host.Init(); err != nil {
			h.err = fmt.Errorf("gpio host init: %w", err)
		}
	})
	if h.err != nil {
		return nil, h.err
	}
	if chip, line, ok := splitChipLine(name); ok {
		for _, c := range gpioioctl.Chips {
			if c.Name() != chip && c.Label() != chip && c.Path() != chip {
				continue
			}
			if l := c.ByNumber(line); l != nil {
				return l, nil
			}
			return nil, fmt.Errorf("gpio chip %s has no line %d", chip, line)
		}
		return nil, fmt.Errorf("gpio chip %q not found", chip)
	}
	p := gpioreg.ByName(name)
	if p == nil {
		return nil, fmt.Errorf("gpio pin %q not found", name)
	}
	return p, nil
}

// OutputPin implements OutputSource. A line of the GPIO character device (periph's
// gpioioctl) is requested from the kernel as an output with its initial value in the
// same request: periph's own Out would make it an output first, which drives it low,
// and only then write the level (an active-low relay would click on). Other pins
// (sysfs, memory-mapped SoC drivers) already set the level before the direction in
// Out, and are returned to be driven by it.
func (h *HostSource) OutputPin(name string, initial gpio.Level) (gpio.PinIO, error) {
	p, err := h.Pin(name)
	if err != nil {
		return nil, err
	}
	line, ok := p.(*gpioioctl.GPIOLine)
	if !ok {
		return p, nil
	}
	for _, c := range gpioioctl.Chips {
		for _, l := range c.Lines() {
			if l == line {
				return requestOutputLine(c.Path(), line.Number(), name, initial)
			}
		}
	}
	return nil, fmt.Errorf("gpio %s: no chip holds this line", name)
}

var _ OutputSource = (*HostSource)(nil)

// splitChipLine splits "gpiochip0/17".
func splitChipLine(name string) (chip string, line int, ok bool) {
	i := strings.LastIndexByte(name, '/')
	if i <= 0 {
		return "", 0, false
	}
	n, err := strconv.Atoi(name[i+1:])
	if err != nil || n < 0 {
		return "", 0, false
	}
	return name[:i], n, true
}

// MapSource is a PinSource over a fixed set of pins, for tests and the simulator
// (usually *gpiotest.Pin). Safe for concurrent use.
type MapSource struct {
	mu   sync.RWMutex
	pins map[string]gpio.PinIO
}

// NewMapSource returns a source holding pins (the map is copied).
func NewMapSource(pins map[string]gpio.PinIO) *MapSource {
	m := &MapSource{pins: make(map[string]gpio.PinIO, len(pins))}
	for k, v := range pins {
		m.pins[k] = v
	}
	return m
}

// Set adds or replaces a pin (nil removes it).
func (m *MapSource) Set(name string, p gpio.PinIO) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if p == nil {
		delete(m.pins, name)
		return
	}
	m.pins[name] = p
}

// Pin implements PinSource.
func (m *MapSource) Pin(name string) (gpio.PinIO, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	p, ok := m.pins[name]
	if !ok {
		return nil, fmt.Errorf("gpio pin %q not found", name)
	}
	return p, nil
}

// closePin releases a line when the driver supports it (gpioioctl lines do).
func closePin(p gpio.PinIO) {
	type closer interface{ Close() }
	type errCloser interface{ Close() error }
	switch c := p.(type) {
	case closer:
		c.Close()
	case errCloser:
		_ = c.Close()
	}
}

func parsePull(s string) gpio.Pull {
	switch s {
	case "up":
		return gpio.PullUp
	case "down":
		return gpio.PullDown
	}
	return gpio.Float
}

func parseLevel(s string) gpio.Level {
	return s == "high"
}
