package gpio

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
	"unsafe"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/physic"
)

// The GPIO character device's v2 line request (linux/gpio.h). periph's gpioioctl
// makes a line an output with a line-config ioctl that carries no output value, so
// the kernel drives the line low (inactive) before periph writes the level: an
// active-low relay clicks on at every start. cdevLine requests the line as an output
// with its initial value in the one GPIO_V2_GET_LINE_IOCTL, as the kernel allows.

const (
	cdevLinesMax    = 64
	cdevNameSize    = 32
	cdevAttrsMax    = 10
	cdevFlagOutput  = uint64(1) << 3 // GPIO_V2_LINE_FLAG_OUTPUT
	cdevAttrOutVals = 2              // GPIO_V2_LINE_ATTR_ID_OUTPUT_VALUES
	cdevConsumer    = "campusguard"
)

type cdevLineAttribute struct {
	id      uint32
	padding uint32
	value   uint64 // flags, output values or debounce period, by id
}

type cdevLineConfigAttribute struct {
	attr cdevLineAttribute
	mask uint64
}

type cdevLineConfig struct {
	flags    uint64
	numAttrs uint32
	padding  [5]uint32
	attrs    [cdevAttrsMax]cdevLineConfigAttribute
}

type cdevLineRequest struct {
	offsets         [cdevLinesMax]uint32
	consumer        [cdevNameSize]byte
	config          cdevLineConfig
	numLines        uint32
	eventBufferSize uint32
	padding         [5]uint32
	fd              int32
}

type cdevLineValues struct {
	bits uint64
	mask uint64
}

// ioctl request numbers: _IOWR(0xB4, nr, size).
func cdevIOWR(nr, size uintptr) uintptr { return 3<<30 | size<<16 | 0xB4<<8 | nr }

var (
	cdevGetLine   = cdevIOWR(0x07, unsafe.Sizeof(cdevLineRequest{})) // GPIO_V2_GET_LINE_IOCTL
	cdevGetValues = cdevIOWR(0x0E, unsafe.Sizeof(cdevLineValues{}))  // GPIO_V2_LINE_GET_VALUES_IOCTL
	cdevSetValues = cdevIOWR(0x0F, unsafe.Sizeof(cdevLineValues{}))  // GPIO_V2_LINE_SET_VALUES_IOCTL
)

// cdevOutputRequest is the request for one output line at offset, driven to initial
// from the moment it is an output.
func cdevOutputRequest(offset int, initial gpio.Level) *cdevLineRequest {
	r := &cdevLineRequest{numLines: 1}
	r.offsets[0] = uint32(offset)
	copy(r.consumer[:], cdevConsumer)
	r.config.flags = cdevFlagOutput
	var bits uint64
	if initial {
		bits = 1
	}
	r.config.attrs[0] = cdevLineConfigAttribute{attr: cdevLineAttribute{id: cdevAttrOutVals, value: bits}, mask: 1}
	r.config.numAttrs = 1
	return r
}

func cdevIoctl(fd uintptr, req uintptr, arg unsafe.Pointer) error {
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, fd, req, uintptr(arg)); errno != 0 {
		return errno
	}
	return nil
}

// requestOutputLine requests line offset of the chip at chipPath as an output already
// at initial.
func requestOutputLine(chipPath string, offset int, name string, initial gpio.Level) (gpio.PinIO, error) {
	chip, err := os.OpenFile(chipPath, os.O_RDWR|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("gpio %s: %w", name, err)
	}
	defer chip.Close()
	req := cdevOutputRequest(offset, initial)
	if err := cdevIoctl(chip.Fd(), cdevGetLine, unsafe.Pointer(req)); err != nil {
		return nil, fmt.Errorf("gpio %s: request line %d of %s as an output: %w", name, offset, chipPath, err)
	}
	return &cdevLine{name: name, offset: offset, f: os.NewFile(uintptr(req.fd), name)}, nil
}

// cdevLine is one output line held through the GPIO character device. It only
// drives the line: In and WaitForEdge fail.
type cdevLine struct {
	name   string
	offset int
	f      *os.File
}

var _ gpio.PinIO = (*cdevLine)(nil)

func (l *cdevLine) String() string   { return l.name }
func (l *cdevLine) Name() string     { return l.name }
func (l *cdevLine) Number() int      { return l.offset }
func (l *cdevLine) Function() string { return "Out" }
func (l *cdevLine) Halt() error      { return nil }

// Close releases the line.
func (l *cdevLine) Close() error { return l.f.Close() }

// Out sets the line's level.
func (l *cdevLine) Out(v gpio.Level) error {
	vals := cdevLineValues{mask: 1}
	if v {
		vals.bits = 1
	}
	if err := cdevIoctl(l.f.Fd(), cdevSetValues, unsafe.Pointer(&vals)); err != nil {
		return fmt.Errorf("gpio %s: set value: %w", l.name, err)
	}
	return nil
}

// Read returns the level the line is driven to (Low when it cannot be read).
func (l *cdevLine) Read() gpio.Level {
	vals := cdevLineValues{mask: 1}
	if err := cdevIoctl(l.f.Fd(), cdevGetValues, unsafe.Pointer(&vals)); err != nil {
		return gpio.Low
	}
	return vals.bits&1 == 1
}

var errOutputOnly = errors.New("line is held as an output")

func (l *cdevLine) In(gpio.Pull, gpio.Edge) error {
	return fmt.Errorf("gpio %s: %w", l.name, errOutputOnly)
}
func (l *cdevLine) WaitForEdge(time.Duration) bool { return false }
func (l *cdevLine) Pull() gpio.Pull                { return gpio.PullNoChange }
func (l *cdevLine) DefaultPull() gpio.Pull         { return gpio.PullNoChange }
func (l *cdevLine) PWM(gpio.Duty, physic.Frequency) error {
	return fmt.Errorf("gpio %s: PWM not supported", l.name)
}
