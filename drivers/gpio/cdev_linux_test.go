package gpio

import (
	"testing"
	"unsafe"

	"periph.io/x/conn/v3/gpio"
)

// TestCdevABI: the request structs and ioctl numbers match linux/gpio.h (v2 ABI,
// the same on 32- and 64-bit).
func TestCdevABI(t *testing.T) {
	tests := []struct {
		name      string
		got, want uintptr
	}{
		{"sizeof gpio_v2_line_attribute", unsafe.Sizeof(cdevLineAttribute{}), 16},
		{"sizeof gpio_v2_line_config_attribute", unsafe.Sizeof(cdevLineConfigAttribute{}), 24},
		{"sizeof gpio_v2_line_config", unsafe.Sizeof(cdevLineConfig{}), 272},
		{"sizeof gpio_v2_line_request", unsafe.Sizeof(cdevLineRequest{}), 592},
		{"offsetof gpio_v2_line_request.config", unsafe.Offsetof(cdevLineRequest{}.config), 288},
		{"offsetof gpio_v2_line_request.fd", unsafe.Offsetof(cdevLineRequest{}.fd), 588},
		{"sizeof gpio_v2_line_values", unsafe.Sizeof(cdevLineValues{}), 16},
		{"GPIO_V2_GET_LINE_IOCTL", cdevGetLine, 0xC250B407},
		{"GPIO_V2_LINE_GET_VALUES_IOCTL", cdevGetValues, 0xC010B40E},
		{"GPIO_V2_LINE_SET_VALUES_IOCTL", cdevSetValues, 0xC010B40F},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s = %#x, want %#x", tc.name, tc.got, tc.want)
		}
	}
}

// TestCdevOutputRequest: the line is requested as an output with its initial value
// in the same request.
func TestCdevOutputRequest(t *testing.T) {
	for _, initial := range []gpio.Level{gpio.Low, gpio.High} {
		r := cdevOutputRequest(17, initial)
		want := uint64(0)
		if initial {
			want = 1
		}
		a := r.config.attrs[0]
		if r.numLines != 1 || r.offsets[0] != 17 || r.config.flags != cdevFlagOutput || r.config.numAttrs != 1 ||
			a.attr.id != cdevAttrOutVals || a.mask != 1 || a.attr.value != want || string(r.consumer[:len(cdevConsumer)]) != cdevConsumer {
			t.Errorf("initial %v: request %+v", initial, r)
		}
	}
}
