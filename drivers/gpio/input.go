package gpio

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

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

// run opens the input (retrying), starts its readers and runs its state machines
// until ctx ends.
func (in *input) run(ctx context.Context) {
	defer close(in.done)
	log := in.d.log.With("device", in.cfg.Device, "pin", in.cfg.PinRef.Name())
	main, sup, ok := in.openRetry(ctx, log)
	if !ok {
		return
	}
	l := &inputLoop{in: in, ctx: ctx, log: log, samples: make(chan sample), pinFault: map[bool]error{},
		m: &machine{debounce: in.cfg.Debounce, hold: in.cfg.Hold}}
	if s := in.cfg.Supervision; s != nil {
		l.sm = &machine{debounce: s.Debounce}
	}
	defer in.startReaders(ctx, main, sup, l.samples)()
	l.loop()
}

// openRetry opens the input's pins, retrying every in.retry while they cannot be
// opened: the first failure is a fault event, the open after it its restore. false
// when ctx ended first.
func (in *input) openRetry(ctx context.Context, log *slog.Logger) (main, sup gpio.PinIO, ok bool) {
	clk := in.d.clock
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
			return nil, nil, false
		case <-t.Chan():
		}
	}
	if faulted {
		log.Info("gpio input opened")
		in.setStatus(func(s *InputStatus) { s.Fault, s.Since = "", time.Time{} })
		in.publish(ctx, in.event(event.TypeFaultRestore, clk.Now(), event.Fields{"pin": in.cfg.PinRef.Name()}))
	}
	in.setStatus(func(s *InputStatus) { s.Open = true })
	return main, sup, true
}

// startReaders starts a reader goroutine per line (sup may be nil) sending to
// samples. The function it returns stops them, closes the pins and marks the input
// closed.
func (in *input) startReaders(ctx context.Context, main, sup gpio.PinIO, samples chan<- sample) (stop func()) {
	var wg sync.WaitGroup
	rctx, rcancel := context.WithCancel(ctx)
	mainAct := activeFunc(in.cfg.Contact, in.cfg.ActiveLevel)
	wg.Add(1)
	go func() {
		defer wg.Done()
		in.read(rctx, main, false, mainAct, samples)
	}()
	if s := in.cfg.Supervision; s != nil {
		trouble := parseLevel(s.TroubleLevel)
		wg.Add(1)
		go func() {
			defer wg.Done()
			in.read(rctx, sup, true, func(l gpio.Level) bool { return l == trouble }, samples)
		}()
	}
	return func() {
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
	}
}

// inputLoop is a running input's goroutine: the state machines of its lines, the
// timer of their next deadline and the health of each line.
type inputLoop struct {
	in       *input
	ctx      context.Context
	log      *slog.Logger
	samples  chan sample
	m, sm    *machine       // the main line; the supervision line (nil: none)
	pinFault map[bool]error // per line (false = main, true = supervision)
	timer    clockwork.Timer
	timerC   <-chan time.Time
}

// loop handles samples, machine deadlines and heartbeats until the context ends.
func (l *inputLoop) loop() {
	in, clk := l.in, l.in.d.clock
	var hb <-chan time.Time
	if in.heartbeat > 0 {
		tk := clk.NewTicker(in.heartbeat)
		defer tk.Stop()
		hb = tk.Chan()
	}
	defer func() {
		if l.timer != nil {
			l.timer.Stop()
		}
	}()
	for {
		select {
		case <-l.ctx.Done():
			return
		case s := <-l.samples:
			if s.health {
				l.lineHealth(s)
				break
			}
			if s.sup {
				l.apply(l.sm.sample(s.active, s.at), true)
			} else {
				in.d.metrics.edge(in.cfg.Device)
				l.apply(l.m.sample(s.active, s.at), false)
			}
			l.arm()
		case <-l.timerC:
			now := clk.Now()
			l.apply(l.m.tick(now), false)
			if l.sm != nil {
				l.apply(l.sm.tick(now), true)
			}
			l.arm()
		case <-hb:
			if len(l.pinFault) == 0 || (l.pinFault[false] == nil && l.pinFault[true] == nil) {
				in.publish(l.ctx, in.event(event.TypeHeartbeat, clk.Now(), nil))
			}
		}
		if h := in.d.stepHook; h != nil {
			h(in.cfg.Device)
		}
	}
}

// lineHealth reports a line whose edge wait started failing (a fault) or works again
// (its restore); a report that changes nothing is dropped.
func (l *inputLoop) lineHealth(s sample) {
	in := l.in
	if (s.fault != nil) == (l.pinFault[s.sup] != nil) {
		return
	}
	l.pinFault[s.sup] = s.fault
	pin := in.cfg.PinRef.Name()
	if s.sup {
		pin = in.cfg.Supervision.PinRef.Name()
	}
	if s.fault != nil {
		l.log.Error("gpio line fault", "line", pin, "err", s.fault)
		in.setStatus(func(st *InputStatus) { st.Fault, st.Since = s.fault.Error(), s.at })
		in.publish(l.ctx, in.event(event.TypeFault, s.at, event.Fields{"error": s.fault.Error(), "pin": pin}))
		return
	}
	l.log.Info("gpio line works again", "line", pin)
	in.setStatus(func(st *InputStatus) { st.Fault, st.Since = "", time.Time{} })
	in.publish(l.ctx, in.event(event.TypeFaultRestore, s.at, event.Fields{"pin": pin}))
}

// apply publishes the machines' changes (sup: of the supervision line) and records
// the input's state.
func (l *inputLoop) apply(ch []change, sup bool) {
	in := l.in
	for _, c := range ch {
		in.publish(l.ctx, in.changeEvent(c, sup))
	}
	active := l.m.state()
	tamper := false
	if l.sm != nil {
		tamper = l.sm.state()
	}
	in.setStatus(func(s *InputStatus) { s.Active, s.Tamper = active, tamper })
	in.d.metrics.state(in.cfg.Device, active)
}

// arm sets the timer to the machines' earliest deadline (none: no timer).
func (l *inputLoop) arm() {
	clk := l.in.d.clock
	now := clk.Now()
	dl, ok := l.m.deadline()
	if l.sm != nil {
		if sdl, sok := l.sm.deadline(); sok && (!ok || sdl.Before(dl)) {
			dl, ok = sdl, true
		}
	}
	if l.timer != nil {
		l.timer.Stop()
		select {
		case <-l.timer.Chan():
		default:
		}
	}
	if !ok {
		l.timerC = nil
		return
	}
	d := max(dl.Sub(now), time.Nanosecond)
	if l.timer == nil {
		l.timer = clk.NewTimer(d)
	} else {
		l.timer.Reset(d)
	}
	l.timerC = l.timer.Chan()
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
		edge := p.WaitForEdge(timeout)
		if !edge && ctx.Err() != nil {
			return
		}
		if edge || time.Since(start) >= timeout/10 {
			// An edge, or a wait that lasted: the line works.
			early = 0
			recovered := faultErr != nil
			if recovered {
				faultErr = nil
				if !send(sample{sup: sup, health: true, at: clk.Now()}) {
					return
				}
			}
			// The level after an edge, or after a fault: it may have changed while the
			// line was failing.
			if edge || recovered {
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
