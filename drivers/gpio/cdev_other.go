//go:build !linux

package gpio

import (
	"errors"

	"periph.io/x/conn/v3/gpio"
)

// requestOutputLine is only available on Linux; elsewhere the pin's own Out is used.
func requestOutputLine(string, int, string, gpio.Level) (gpio.PinIO, error) {
	return nil, errors.ErrUnsupported
}
