package daemon

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/alerting/sinks/siren"
	gpiodrv "github.com/campusguard/campusguard/drivers/gpio"
	"github.com/campusguard/campusguard/event"
)

// counting publishes on the bus and counts events by kind and type.
type counting struct{ d *Daemon }

func (c counting) Publish(ctx context.Context, e event.Event) (event.Event, error) {
	e, err := c.d.bus.Publish(ctx, e)
	if err == nil {
		c.d.metrics.eventsIn.WithLabelValues(string(e.Kind), e.Type).Inc()
	}
	return e, err
}

// gpioOutput adapts a GPIO output (looked up at each call, so a reload that replaced
// it is followed) to the siren sink.
type gpioOutput struct {
	p  *pipeline
	id string
}

func (o gpioOutput) Sound(pt siren.Pattern, maxOn time.Duration) error {
	if o.p.gpio == nil {
		return fmt.Errorf("siren output %s: no GPIO driver", o.id)
	}
	gp := gpiodrv.Steady()
	if pt.Mode == siren.Pulse {
		gp = gpiodrv.Pulse(pt.On, pt.Off)
	}
	return o.p.gpio.Sound(o.id, gp, maxOn)
}

// Silence is a person's silence of the alarm that holds the output. The 30 s re-sound
// rule (GB 50394) is the alarm's: alerting and the siren sink keep a new trigger of
// the silenced alarm quiet for 30 s. The line itself keeps no guard, so a different,
// new alarm on the same siren sounds at once.
func (o gpioOutput) Silence() error {
	if o.p.gpio == nil {
		return nil
	}
	return o.p.gpio.Off(o.id)
}

// Off turns the output off without a person (the alarm cleared, max-on): the next
// trigger sounds at once.
func (o gpioOutput) Off() error {
	if o.p.gpio == nil {
		return nil
	}
	return o.p.gpio.Off(o.id)
}

// late is a value built after the components that use it: its one owner (a row of
// the component table) sets it once during start; a use before that finds nothing.
type late[T any] struct{ v atomic.Pointer[T] }

func (l *late[T]) set(v T) { l.v.Store(&v) }

func (l *late[T]) get() (T, bool) {
	if p := l.v.Load(); p != nil {
		return *p, true
	}
	var zero T
	return zero, false
}

// managerAcker hands the MQTT sink's staff acks to the alerting manager, which is
// built after the sinks it delivers through.
type managerAcker struct{ m *late[*alerting.Manager] }

func (a managerAcker) Ack(ctx context.Context, id, by, note string) error {
	m, ok := a.m.get()
	if !ok {
		return errors.New("alerting not started")
	}
	return m.Ack(ctx, id, by, note)
}
