package gpio

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/campusguard/campusguard/event"
	"periph.io/x/conn/v3/gpio"
)

// Source is the event Source of everything this driver publishes.
const Source = "gpio"

// FieldInitial is the event field (true) on the active event (ActiveType, or
// "tamper" for a supervision line) sent because the input was already active when it
// started (daemon start, or a reload that added or changed it), not because of an
// edge since. A normal level at start sends nothing.
const FieldInitial = "initial"

// failedWaits is how many edge waits in a row that return at once (far before their
// timeout, without an edge) make the line a fault.
const failedWaits = 5

// InputStatus is an input's state for health and the console.
type InputStatus struct {
	Device string    `json:"device"`
	Pin    string    `json:"pin"`
	Open   bool      `json:"open"`
	Active bool      `json:"active"`
	Tamper bool      `json:"tamper"`
	Fault  string    `json:"fault,omitempty"`
	Since  time.Time `json:"since,omitzero"` // when the fault began
}

// sample is one level read by a reader goroutine.
type sample struct {
	sup    bool // from the supervision line
	active bool // logical level: active / in trouble
	at     time.Time
	health bool  // this is a line-health report, not a level:
	fault  error // with health: non-nil = the line's edge wait fails, nil = it works again
}

// input runs one InputConfig: it opens its pins, starts a reader per pin and owns the
// state machines in one goroutine.
type input struct {
	d         *Driver
	cfg       InputConfig
	heartbeat time.Duration // heartbeat event interval (<= 0: none)
	retry     time.Duration // reopen interval
	cancel    context.CancelFunc
	done      chan struct{}

	mu     sync.Mutex
	status InputStatus
}

func newInput(d *Driver, cfg InputConfig, heartbeat, retry time.Duration) *input {
	return &input{
		d:         d,
		cfg:       cfg,
		heartbeat: heartbeat,
		retry:     retry,
		done:      make(chan struct{}),
		status:    InputStatus{Device: cfg.Device, Pin: cfg.PinRef.Name()},
	}
}

// start runs the input until stop.
func (in *input) start(parent context.Context) {
	ctx, cancel := context.WithCancel(parent)
	in.cancel = cancel
	go in.run(ctx)
}

// stop ends the input and waits for its goroutines.
func (in *input) stop() {
	if in.cancel != nil {
		in.cancel()
		<-in.done
	}
}

func (in *input) getStatus() InputStatus {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.status
}

func (in *input) setStatus(f func(s *InputStatus)) {
	in.mu.Lock()
	f(&in.status)
	in.mu.Unlock()
}

// open resolves and configures the input's pins.
func (in *input) open() (main, sup gpio.PinIO, err error) {
	c := in.cfg
	main, err = in.d.src.Pin(c.PinRef.Name())
	if err == nil {
		err = main.In(parsePull(c.Pull), gpio.BothEdges)
		if err != nil {
			err = fmt.Errorf("gpio %s: in: %w", c.PinRef.Name(), err)
		}
	}
	if err != nil {
		return nil, nil, err
	}
	if s := c.Supervision; s != nil {
		sup, err = in.d.src.Pin(s.PinRef.Name())
		if err == nil {
			err = sup.In(parsePull(s.Pull), gpio.BothEdges)
			if err != nil {
				err = fmt.Errorf("gpio %s: in: %w", s.PinRef.Name(), err)
			}
		}
		if err != nil {
			_ = main.Halt()
			closePin(main)
			return nil, nil, err
		}
	}
	return main, sup, nil
}

func (in *input) event(typ string, at time.Time, fields event.Fields) event.Event {
	return event.Event{
		Site:       in.d.site,
		DeviceID:   in.cfg.Device,
		Kind:       in.cfg.Kind,
		Type:       typ,
		Fields:     fields,
		DeviceTime: at,
		ReceivedAt: in.d.clock.Now(),
		Source:     Source,
	}
}

func (in *input) publish(ctx context.Context, e event.Event) {
	in.d.metrics.event(e.DeviceID, e.Type)
	if _, err := in.d.pub.Publish(ctx, e); err != nil {
		if ctx.Err() == nil {
			in.d.log.Error("gpio publish", "device", e.DeviceID, "type", e.Type, "err", err)
		}
		return
	}
	in.d.log.Debug("gpio event", "event", e.String())
}

func (in *input) run(ctx context.Context) {
	defer close(in.done)
	clk := in.d.clock
	log := in.d.log.With("device", in.cfg.Device, "pin", in.cfg.PinRef.Name())

	// Open, retrying while the pins cannot be opened.
	var main, sup gpio.PinIO
	faulted := false
	for {
		var err error
		main, sup, err = in.open()
		if err == nil {
			break
		}
		if !faulted {
			faulted = true
			log.Error("gpio input cannot be opened", "err", err)
			now := clk.Now()
			in.setStatus(func(s *InputStatus) { s.Fault, s.Since = err.Error(), now })
			in.publish(ctx, in.event(event.TypeFault, now, event.Fields{"error": err.Error(), "pin": in.cfg.PinRef.Name()}))
		}
		t := clk.NewTimer(in.retry)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.Chan():
		}
	}
	pinFault := map[bool]error{} // per line (false = main, true = supervision)
	if faulted {
		log.Info("gpio input opened")
		in.setStatus(func(s *InputStatus) { s.Fault, s.Since = "", time.Time{} })
		in.publish(ctx, in.event(event.TypeFaultRestore, clk.Now(), event.Fields{"pin": in.cfg.PinRef.Name()}))
	}
	in.setStatus(func(s *InputStatus) { s.Open = true })

	samples := make(chan sample)
	var wg sync.WaitGroup
	rctx, rcancel := context.WithCancel(ctx)
	mainAct := activeFunc(in.cfg.Contact, in.cfg.ActiveLevel)
	wg.Add(1)
	go func() {
		defer wg.Done()
		in.read(rctx, main, false, mainAct, samples)
	}()
	m := &machine{debounce: in.cfg.Debounce, hold: in.cfg.Hold}
	var sm *machine
	if s := in.cfg.Supervision; s != nil {
		trouble := parseLevel(s.TroubleLevel)
		wg.Add(1)
		go func() {
			defer wg.Done()
			in.read(rctx, sup, true, func(l gpio.Level) bool { return l == trouble }, samples)
		}()
		sm = &machine{debounce: s.Debounce}
	}
	defer func() {
		rcancel()
		_ = main.Halt()
		if sup != nil {
			_ = sup.Halt()
		}
		wg.Wait()
		closePin(main)
		if sup != nil {
			closePin(sup)
		}
		in.setStatus(func(s *InputStatus) { s.Open = false })
	}()

	var hb <-chan time.Time
	if in.heartbeat > 0 {
		tk := clk.NewTicker(in.heartbeat)
		defer tk.Stop()
		hb = tk.Chan()
	}
	var timer interface {
		Chan() <-chan time.Time
		Stop() bool
		Reset(time.Duration) bool
	}
	var timerC <-chan time.Time
	arm := func() {
		now := clk.Now()
		dl, ok := m.deadline()
		if sm != nil {
			if sdl, sok := sm.deadline(); sok && (!ok || sdl.Before(dl)) {
				dl, ok = sdl, true
			}
		}
		if timer != nil {
			timer.Stop()
			select {
			case <-timer.Chan():
			default:
			}
		}
		if !ok {
			timerC = nil
			return
		}
		d := max(dl.Sub(now), time.Nanosecond)
		if timer == nil {
			t := clk.NewTimer(d)
			timer = t
		} else {
			timer.Reset(d)
		}
		timerC = timer.Chan()
	}
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()

	apply := func(ch []change, sup bool) {
		for _, c := range ch {
			in.publish(ctx, in.changeEvent(c, sup))
		}
		active := m.state()
		tamper := false
		if sm != nil {
			tamper = sm.state()
		}
		in.setStatus(func(s *InputStatus) { s.Active, s.Tamper = active, tamper })
		in.d.metrics.state(in.cfg.Device, active)
	}

	for {
		select {
		case <-ctx.Done():
			return
		case s := <-samples:
			if s.health {
				if (s.fault != nil) == (pinFault[s.sup] != nil) {
					break
				}
				pinFault[s.sup] = s.fault
				pin := in.cfg.PinRef.Name()
				if s.sup {
					pin = in.cfg.Supervision.PinRef.Name()
				}
				if s.fault != nil {
					log.Error("gpio line fault", "line", pin, "err", s.fault)
					in.setStatus(func(st *InputStatus) { st.Fault, st.Since = s.fault.Error(), s.at })
					in.publish(ctx, in.event(event.TypeFault, s.at, event.Fields{"error": s.fault.Error(), "pin": pin}))
				} else {
					log.Info("gpio line works again", "line", pin)
					in.setStatus(func(st *InputStatus) { st.Fault, st.Since = "", time.Time{} })
					in.publish(ctx, in.event(event.TypeFaultRestore, s.at, event.Fields{"pin": pin}))
				}
				break
			}
			if s.sup {
				apply(sm.sample(s.active, s.at), true)
			} else {
				in.d.metrics.edge(in.cfg.Device)
				apply(m.sample(s.active, s.at), false)
			}
			arm()
		case <-timerC:
			now := clk.Now()
			apply(m.tick(now), false)
			if sm != nil {
				apply(sm.tick(now), true)
			}
			arm()
		case <-hb:
			if len(pinFault) == 0 || (pinFault[false] == nil && pinFault[true] == nil) {
				in.publish(ctx, in.event(event.TypeHeartbeat, clk.Now(), nil))
			}
		}
		if h := in.d.stepHook; h != nil {
			h(in.cfg.Device)
		}
	}
}

// changeEvent maps a machine change to its event. An active change from the level
// read at start carries the field initial=true (the device was already active when
// the input started: a button held, a contact open, a cut line).
func (in *input) changeEvent(c change, sup bool) event.Event {
	var f event.Fields
	if sup {
		s := in.cfg.Supervision
		f = event.Fields{"pin": s.PinRef.Name(), "cause": s.Cause}
	} else {
		f = event.Fields{"pin": in.cfg.PinRef.Name()}
	}
	if c.t == toActive && c.initial {
		f[FieldInitial] = true
	}
	switch {
	case sup && c.t == toActive:
		return in.event(event.TypeTamper, c.edgeAt, f)
	case sup:
		return in.event(event.TypeTamperRestore, c.edgeAt, f)
	case c.t == toActive:
		return in.event(in.cfg.ActiveType, c.edgeAt, f)
	}
	return in.event(in.cfg.InactiveType, c.edgeAt, f)
}

// activeFunc maps a pin level to the input's logical state.
func activeFunc(contact, activeLevel string) func(gpio.Level) bool {
	closedLevel := parseLevel(activeLevel)
	nc := contact == "nc"
	return func(l gpio.Level) bool {
		closed := l == closedLevel
		return closed != nc
	}
}

// read waits for edges on p and sends the logical level after each, starting with the
// level at open. It stops when ctx ends (the caller also Halts p to cut a wait short).
func (in *input) read(ctx context.Context, p gpio.PinIO, sup bool, active func(gpio.Level) bool, out chan<- sample) {
	send := func(s sample) bool {
		select {
		case out <- s:
			return true
		case <-ctx.Done():
			return false
		}
	}
	clk := in.d.clock
	if !send(sample{sup: sup, active: active(p.Read()), at: clk.Now()}) {
		return
	}
	timeout := in.d.edgeTimeout
	early := 0
	var faultErr error
	for ctx.Err() == nil {
		start := time.Now() // the wait's own time, not the (possibly fake) event clock
		if p.WaitForEdge(timeout) {
			early = 0
			if faultErr != nil {
				faultErr = nil
				if !send(sample{sup: sup, health: true, at: clk.Now()}) {
					return
				}
			}
			if !send(sample{sup: sup, active: active(p.Read()), at: clk.Now()}) {
				return
			}
			continue
		}
		if ctx.Err() != nil {
			return
		}
		if time.Since(start) >= timeout/10 {
			early = 0
			if faultErr != nil {
				faultErr = nil
				if !send(sample{sup: sup, health: true, at: clk.Now()}) {
					return
				}
				// The level may have changed while the line was failing.
				if !send(sample{sup: sup, active: active(p.Read()), at: clk.Now()}) {
					return
				}
			}
			continue
		}
		early++
		if early < failedWaits {
			continue
		}
		if faultErr == nil {
			faultErr = errors.New("edge wait fails at once")
			if !send(sample{sup: sup, health: true, fault: faultErr, at: clk.Now()}) {
				return
			}
		}
		// Back off before trying again, so a broken line does not spin.
		t := clk.NewTimer(in.retry)
		select {
		case <-t.Chan():
		case <-ctx.Done():
			t.Stop()
			return
		}
	}
}
