// Package sim is the demo's device simulator. It produces every device kind through
// the same paths real devices use: vendor JSON published to the MQTT broker (decoded
// by drivers/mqtt through the site's mappings) and edges on GPIO lines (periph's
// gpiotest pins, read by drivers/gpio exactly as it reads /dev/gpiochip lines).
//
// The MQTT topics and payloads follow the demo's mappings (configs/demo/conf.d/io.yaml,
// whose decoders are the examples in configs/examples/decoders): a device's topic is
// school/<site>/<kind>/<device>/<suffix>.
package sim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"

	gpiodrv "github.com/campusguard/campusguard/drivers/gpio"
	"github.com/campusguard/campusguard/event"
	"github.com/campusguard/campusguard/site"
)

// MQTT publishes a device message to a broker and waits for the broker's PUBACK
// (drivers/mqtt's Driver.Publish).
type MQTT interface {
	Publish(ctx context.Context, broker, topic string, qos byte, retained bool, payload []byte) error
}

// Options configures a simulator.
type Options struct {
	Site     *site.Site
	Devices  []site.Device
	GPIO     gpiodrv.Config // the inputs' pins and contact types
	MQTT     MQTT
	Broker   string        // broker name for MQTT devices
	Interval time.Duration // background heartbeats
	Clock    clockwork.Clock
	Logger   *slog.Logger
	// Patrol is the demo patrol: the reader, the card and the route's checkpoints, and
	// the plan's period; empty Checkpoints: no patrols.
	Patrol PatrolPlan
}

// PatrolPlan is what the simulated guard walks.
type PatrolPlan struct {
	Reader      string
	Card        string
	Checkpoints []string
	Every       time.Duration // slots start at multiples of this in the site's zone
	Leg         time.Duration
}

// Sim is a running simulator.
type Sim struct {
	o     Options
	clock clockwork.Clock
	log   *slog.Logger
	pins  map[string]*pin // by pin name
	src   *gpiodrv.MapSource

	mu      sync.Mutex
	muted   map[string]time.Time // device → heartbeats suppressed until
	slot    int
	running map[string]bool // scenarios in progress
}

// pin is one simulated GPIO line with the levels that mean idle and triggered.
type pin struct {
	p       *gpiotest.Pin
	idle    gpio.Level
	trigger gpio.Level
}

// wiredPin is a gpiotest pin with the wiring of an idle device behind it: gpiotest
// sets the level from the pull resistor when the line is opened (a floating line), but
// a wired contact or supervision loop holds it at its idle level.
type wiredPin struct {
	*gpiotest.Pin
	idle gpio.Level
}

// In opens the line as gpiotest does, then applies the idle wiring.
func (w *wiredPin) In(pull gpio.Pull, edge gpio.Edge) error {
	err := w.Pin.In(pull, edge)
	w.Pin.Lock()
	w.Pin.L = w.idle
	w.Pin.Unlock()
	return err
}

// WindowHold is how long the window scenario holds the window open past its limit:
// longer than the contact's hold (2 s) plus the demo rule's 10 s.
const WindowHold = 15 * time.Second

// Scenarios lists the scenarios RunScenario knows, with what each shows.
var Scenarios = map[string]string{
	"panic":          "the gate panic button (GPIO) is pressed for 1 s, and the dorm's MQTT panic module",
	"antifall":       "someone stands in the 3rd-floor balcony radar zone for 6 s",
	"window":         "the 3rd-floor corridor window is opened past its limit for 15 s (GPIO contact; the rule wants 10 s)",
	"kitchen":        "a burst of 20 no-chef-hat detections from kitchen camera 1 in 5 s (the burst rule fires at any hour; the hygiene rule only in kitchen hours)",
	"perimeter":      "someone crosses the east perimeter beam for 2 s (an alarm at night, journaled only in school hours: the zone's arming schedule)",
	"camera-offline": "kitchen camera 2 goes offline (last will) and stays silent for 5 minutes",
	"tamper":         "the gate panic button's cable is cut for 3 s (GPIO line supervision)",
	"patrol":         "a guard walks the demo route at the next 10-minute slot and skips the last checkpoint",
}

// ScenarioNames returns the scenario names, sorted.
func ScenarioNames() []string {
	out := make([]string, 0, len(Scenarios))
	for n := range Scenarios {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// New prepares the simulated pins; call PinSource before the GPIO driver starts.
func New(o Options) (*Sim, error) {
	if o.Clock == nil {
		o.Clock = clockwork.NewRealClock()
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Interval <= 0 {
		o.Interval = 20 * time.Second
	}
	s := &Sim{o: o, clock: o.Clock, log: o.Logger, pins: map[string]*pin{},
		src: gpiodrv.NewMapSource(nil), muted: map[string]time.Time{}, running: map[string]bool{}}
	for _, in := range o.GPIO.Inputs {
		active := levelOf(in.ActiveLevel, gpio.Low)
		idle, trig := !active, active // normally open: closed (active level) when triggered
		if strings.EqualFold(in.Contact, "nc") {
			idle, trig = active, !active
		}
		s.addPin(in.Pin, idle, trig)
		if in.Supervision != nil && in.Supervision.Pin != "" {
			trouble := levelOf(in.Supervision.TroubleLevel, gpio.High)
			s.addPin(in.Supervision.Pin, !trouble, trouble)
		}
	}
	for _, out := range o.GPIO.Outputs {
		s.addPin(out.Pin, gpio.Low, gpio.High)
	}
	return s, nil
}

func levelOf(s string, def gpio.Level) gpio.Level {
	switch strings.ToLower(s) {
	case "high":
		return gpio.High
	case "low":
		return gpio.Low
	}
	return def
}

func (s *Sim) addPin(name string, idle, trigger gpio.Level) {
	if name == "" {
		return
	}
	if _, ok := s.pins[name]; ok {
		return
	}
	p := &gpiotest.Pin{N: name, L: idle, EdgesChan: make(chan gpio.Level, 16)}
	s.pins[name] = &pin{p: p, idle: idle, trigger: trigger}
	s.src.Set(name, &wiredPin{Pin: p, idle: idle})
}

// PinSource is the GPIO driver's pin source in simulation.
func (s *Sim) PinSource() gpiodrv.PinSource { return s.src }

// Pin returns a simulated pin by name (tests and benchmarks press it directly).
func (s *Sim) Pin(name string) *gpiotest.Pin {
	if p := s.pins[name]; p != nil {
		return p.p
	}
	return nil
}

// Run sends background traffic (heartbeats, an occasional detection, patrols) until ctx
// ends, after running the start-up scenarios in order, spaced apart.
func (s *Sim) Run(ctx context.Context, startup []string) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	if len(s.o.Patrol.Checkpoints) > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.patrolLoop(ctx)
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i, name := range startup {
			wait := 20 * time.Second // time to look at one before the next
			if i == 0 {
				wait = 5 * time.Second
			}
			if !s.sleep(ctx, wait) {
				return
			}
			if err := s.RunScenario(ctx, name); err != nil && ctx.Err() == nil {
				s.log.Warn("scenario failed", "scenario", name, "err", err)
			}
		}
	}()
	s.heartbeats(ctx)
	t := s.clock.NewTicker(s.o.Interval)
	defer t.Stop()
	for n := 1; ; n++ {
		select {
		case <-ctx.Done():
			return nil
		case <-t.Chan():
		}
		s.heartbeats(ctx)
		if n%3 == 0 {
			s.randomDetection(ctx)
		}
	}
}

func (s *Sim) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	select {
	case <-ctx.Done():
		return false
	case <-s.clock.After(d):
		return true
	}
}

// RunScenario plays one scenario and returns when it is over.
func (s *Sim) RunScenario(ctx context.Context, name string) error {
	if _, ok := Scenarios[name]; !ok {
		return fmt.Errorf("unknown scenario %q (known: %s)", name, strings.Join(ScenarioNames(), ", "))
	}
	s.mu.Lock()
	if s.running[name] {
		s.mu.Unlock()
		return fmt.Errorf("scenario %q is already running", name)
	}
	s.running[name] = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.running, name)
		s.mu.Unlock()
	}()
	s.log.Info("simulating", "scenario", name, "what", Scenarios[name])
	switch name {
	case "panic":
		return s.panicScenario(ctx)
	case "antifall":
		return s.antifallScenario(ctx)
	case "window":
		d := s.device(event.KindAntiFall, "gpio")
		if d == nil {
			return errors.New("no GPIO anti-fall contact in the site")
		}
		// The window rule fires after 10 s open past the limit (and the contact's own
		// 2 s hold): 15 s shows it.
		return s.hold(ctx, d.ID, false, WindowHold)
	case "tamper":
		d := s.device(event.KindPanic, "gpio")
		if d == nil {
			return errors.New("no GPIO panic button in the site")
		}
		return s.hold(ctx, d.ID, true, 3*time.Second)
	case "kitchen":
		return s.kitchenScenario(ctx)
	case "perimeter":
		return s.perimeterScenario(ctx)
	case "camera-offline":
		return s.cameraOfflineScenario(ctx)
	case "patrol":
		return s.patrolRun(ctx, s.nextSlot(), true)
	}
	return nil
}

// pulse publishes payload(true), waits d, then publishes payload(false).
func (s *Sim) pulse(ctx context.Context, dev *site.Device, suffix string, payload func(on bool) map[string]any, d time.Duration) error {
	if err := s.publish(ctx, dev, suffix, payload(true)); err != nil {
		return err
	}
	if !s.sleep(ctx, d) {
		return ctx.Err()
	}
	return s.publish(ctx, dev, suffix, payload(false))
}

// panicScenario presses the GPIO panic button for 1 s, then the MQTT panic module for 2 s.
func (s *Sim) panicScenario(ctx context.Context) error {
	if d := s.device(event.KindPanic, "gpio"); d != nil {
		if err := s.hold(ctx, d.ID, false, time.Second); err != nil {
			return err
		}
	}
	d := s.device(event.KindPanic, "mqtt")
	if d == nil {
		return nil
	}
	status := func(pressed bool) map[string]any {
		return map[string]any{"pressed": pressed, "tamper": false, "supply_v": 12.1}
	}
	return s.pulse(ctx, d, "status", status, 2*time.Second)
}

// antifallScenario has someone stand in the radar's zone for four readings 2 s apart.
func (s *Sim) antifallScenario(ctx context.Context) error {
	d := s.device(event.KindAntiFall, "mqtt")
	if d == nil {
		return errors.New("no MQTT anti-fall radar in the site")
	}
	for i := 0; i < 4; i++ {
		if err := s.publish(ctx, d, "state", map[string]any{"occupied": true, "distance_m": 0.8 - 0.1*float64(i), "zone": d.Zone, "ts": s.clock.Now().UnixMilli()}); err != nil {
			return err
		}
		if !s.sleep(ctx, 2*time.Second) {
			return ctx.Err()
		}
	}
	return s.publish(ctx, d, "state", map[string]any{"occupied": false, "zone": d.Zone, "ts": s.clock.Now().UnixMilli()})
}

// kitchenScenario sends a burst of 20 no-chef-hat detections, 250 ms apart.
func (s *Sim) kitchenScenario(ctx context.Context) error {
	d := s.device(event.KindKitchenCamera, "mqtt")
	if d == nil {
		return errors.New("no kitchen camera in the site")
	}
	s.log.Info("kitchen scenario: the hygiene rules count no-chef-hat detections only in kitchen hours; the demo's burst rule (kitchen-detection-burst) fires at any hour",
		"camera", d.ID)
	for i := 0; i < 20; i++ {
		if err := s.publish(ctx, d, "ai", s.detection("no_hat", 0.85+0.005*float64(i%10))); err != nil {
			return err
		}
		if !s.sleep(ctx, 250*time.Millisecond) {
			return ctx.Err()
		}
	}
	return nil
}

// perimeterScenario has someone cross the last perimeter detector for 2 s.
func (s *Sim) perimeterScenario(ctx context.Context) error {
	var d *site.Device
	for _, x := range s.devices(event.KindAntiFall, "mqtt") {
		if x.Zone == "perimeter" {
			d = x
		}
	}
	if d == nil {
		return errors.New("no MQTT detector in the perimeter zone")
	}
	state := func(occupied bool) map[string]any {
		return map[string]any{"occupied": occupied, "zone": d.Zone, "ts": s.clock.Now().UnixMilli()}
	}
	return s.pulse(ctx, d, "state", state, 2*time.Second)
}

// cameraOfflineScenario drops the last kitchen camera: its last will, then 5 minutes of silence.
func (s *Sim) cameraOfflineScenario(ctx context.Context) error {
	cams := s.devices(event.KindKitchenCamera, "mqtt")
	if len(cams) == 0 {
		return errors.New("no kitchen camera in the site")
	}
	d := cams[len(cams)-1]
	s.mu.Lock()
	s.muted[d.ID] = s.clock.Now().Add(5 * time.Minute)
	s.mu.Unlock()
	// What the broker publishes for a camera whose connection dropped: its last will.
	return s.publishRaw(ctx, d, "status", []byte("offline"), true)
}

// hold drives a GPIO input (or its supervision line) to its trigger level for d.
func (s *Sim) hold(ctx context.Context, device string, supervision bool, d time.Duration) error {
	var name string
	for _, in := range s.o.GPIO.Inputs {
		if in.Device == device {
			name = in.Pin
			if supervision {
				if in.Supervision == nil {
					return fmt.Errorf("input %s has no supervision line", device)
				}
				name = in.Supervision.Pin
			}
		}
	}
	p := s.pins[name]
	if p == nil {
		return fmt.Errorf("device %s has no simulated pin", device)
	}
	if err := s.edge(ctx, p, p.trigger); err != nil {
		return err
	}
	if !s.sleep(ctx, d) {
		return ctx.Err()
	}
	return s.edge(ctx, p, p.idle)
}

func (s *Sim) edge(ctx context.Context, p *pin, l gpio.Level) error {
	select {
	case p.p.EdgesChan <- l:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Sim) device(k event.Kind, driver string) *site.Device {
	if ds := s.devices(k, driver); len(ds) > 0 {
		return ds[0]
	}
	return nil
}

func (s *Sim) devices(k event.Kind, driver string) []*site.Device {
	var out []*site.Device
	for i := range s.o.Devices {
		d := &s.o.Devices[i]
		if d.Kind == k && d.Driver == driver {
			out = append(out, d)
		}
	}
	return out
}

// topic follows the demo mappings: school/<site>/<kind>/<device>/<suffix>.
func (s *Sim) topic(d *site.Device, suffix string) string {
	kind := string(d.Kind)
	if d.Kind == event.KindKitchenCamera {
		kind = "kitchen"
	}
	return fmt.Sprintf("school/%s/%s/%s/%s", s.o.Site.ID, kind, d.ID, suffix)
}

func (s *Sim) publish(ctx context.Context, d *site.Device, suffix string, payload map[string]any) error {
	b, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	return s.publishRaw(ctx, d, suffix, b, false)
}

func (s *Sim) publishRaw(ctx context.Context, d *site.Device, suffix string, b []byte, retained bool) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s.o.MQTT.Publish(ctx, s.o.Broker, s.topic(d, suffix), 1, retained, b); err != nil {
		return fmt.Errorf("simulated %s: %w", d.ID, err)
	}
	return nil
}

func (s *Sim) detection(vendorName string, conf float64) map[string]any {
	n := s.clock.Now()
	return map[string]any{"event": vendorName, "confidence": conf, "channel": 1, "time": n.Unix(),
		"snapshot": fmt.Sprintf("http://127.0.0.1/snap/%d.jpg", n.UnixMilli()), "region": "灶台区"}
}

func (s *Sim) isMuted(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	until, ok := s.muted[id]
	if ok && s.clock.Now().After(until) {
		delete(s.muted, id)
		return false
	}
	return ok
}

// heartbeats: every MQTT device reports that it is alive, in its vendor's way.
func (s *Sim) heartbeats(ctx context.Context) {
	for i := range s.o.Devices {
		d := &s.o.Devices[i]
		if d.Driver != "mqtt" || s.isMuted(d.ID) {
			continue
		}
		var err error
		switch d.Kind {
		case event.KindPanic:
			err = s.publish(ctx, d, "status", map[string]any{"pressed": false, "tamper": false, "supply_v": 12.0 + rand.Float64()*0.3})
		case event.KindAntiFall:
			err = s.publish(ctx, d, "state", map[string]any{"occupied": false, "zone": d.Zone, "ts": s.clock.Now().UnixMilli()})
		case event.KindKitchenCamera:
			err = s.publishRaw(ctx, d, "status", []byte("online"), true)
		}
		if err != nil && ctx.Err() == nil {
			s.log.Debug("heartbeat not sent", "device", d.ID, "err", err)
		}
	}
}

func (s *Sim) randomDetection(ctx context.Context) {
	cams := s.devices(event.KindKitchenCamera, "mqtt")
	if len(cams) == 0 {
		return
	}
	d := cams[rand.IntN(len(cams))]
	if s.isMuted(d.ID) {
		return
	}
	names := []string{"no_mask", "no_gloves", "trash_bin_open", "playing_phone"}
	_ = s.publish(ctx, d, "ai", s.detection(names[rand.IntN(len(names))], 0.6+rand.Float64()*0.35))
}

// nextSlot is the next start of a patrol slot (multiples of Every in the site's zone).
func (s *Sim) nextSlot() time.Time {
	now := s.clock.Now().In(s.o.Site.Location())
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, now.Location())
	every := s.o.Patrol.Every
	if every <= 0 {
		every = 10 * time.Minute
	}
	n := now.Sub(day)/every + 1
	return day.Add(n * every)
}

// patrolLoop walks the route at every slot; every other run skips the last checkpoint,
// so the missed-checkpoint alarm shows in the demo.
func (s *Sim) patrolLoop(ctx context.Context) {
	for i := 0; ctx.Err() == nil; i++ {
		if err := s.patrolRun(ctx, s.nextSlot(), i%2 == 0); err != nil && ctx.Err() == nil {
			s.log.Warn("simulated patrol", "err", err)
		}
	}
}

func (s *Sim) patrolRun(ctx context.Context, at time.Time, skipLast bool) error {
	p := s.o.Patrol
	var reader *site.Device
	for i := range s.o.Devices {
		if s.o.Devices[i].ID == p.Reader {
			reader = &s.o.Devices[i]
		}
	}
	if reader == nil || len(p.Checkpoints) == 0 {
		return errors.New("no patrol reader or route configured for the simulator")
	}
	if !s.sleep(ctx, s.clock.Until(at)) {
		return ctx.Err()
	}
	cps := p.Checkpoints
	if skipLast {
		cps = cps[:len(cps)-1]
	}
	s.log.Info("simulated guard starts a patrol", "checkpoints", len(cps), "skips_last", skipLast)
	for i, cp := range cps {
		if i > 0 && !s.sleep(ctx, p.Leg) {
			return ctx.Err()
		}
		err := s.publish(ctx, reader, "scan", map[string]any{"card": p.Card, "checkpoint": cp,
			"ts": s.clock.Now().In(s.o.Site.Location()).Format(time.RFC3339), "battery": 87})
		if err != nil {
			return err
		}
	}
	return nil
}
