package gpio

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/campusguard/campusguard/cfgerr"
	"github.com/campusguard/campusguard/event"
	"github.com/campusguard/campusguard/health"
	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"
)

// DefaultEdgeTimeout bounds each WaitForEdge, so stop and reload never hang on a
// quiet pin whose driver cannot be interrupted by Halt.
const DefaultEdgeTimeout = 250 * time.Millisecond

// Options are the driver's collaborators.
type Options struct {
	Site       string                // site id put in every event
	Source     PinSource             // nil: &HostSource{} (host.Init, gpioreg)
	Publisher  event.Publisher       // required
	Clock      clockwork.Clock       // nil: the real clock
	Logger     *slog.Logger          // nil: slog.Default()
	Registerer prometheus.Registerer // nil: metrics not registered
	// EdgeTimeout bounds each edge wait (0 = DefaultEdgeTimeout).
	EdgeTimeout time.Duration
}

// Driver runs the configured inputs and outputs.
type Driver struct {
	site        string
	src         PinSource
	pub         event.Publisher
	clock       clockwork.Clock
	log         *slog.Logger
	metrics     *metrics
	edgeTimeout time.Duration
	stepHook    func(device string) // tests: called after each step of an input's loop

	mu      sync.Mutex
	inputs  map[string]*input
	outputs map[string]*Output
	pending Config          // the config Apply was given
	runCtx  context.Context // set while Run runs
	ran     bool
}

// New returns a driver with no inputs or outputs; give it a Config with Apply.
func New(opts Options) (*Driver, error) {
	if opts.Publisher == nil {
		return nil, errors.New("gpio: a Publisher is required")
	}
	d := &Driver{
		site:        opts.Site,
		src:         opts.Source,
		pub:         opts.Publisher,
		clock:       opts.Clock,
		log:         opts.Logger,
		edgeTimeout: opts.EdgeTimeout,
		inputs:      map[string]*input{},
		outputs:     map[string]*Output{},
	}
	if d.src == nil {
		d.src = &HostSource{}
	}
	if d.clock == nil {
		d.clock = clockwork.NewRealClock()
	}
	if d.log == nil {
		d.log = slog.Default()
	}
	if d.edgeTimeout <= 0 {
		d.edgeTimeout = DefaultEdgeTimeout
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	d.metrics = m
	return d, nil
}

// Apply installs cfg (defaults are applied to a copy; an invalid config is refused
// whole). Outputs are opened (and driven off) at once. Inputs start now if Run is
// running, else when it starts. Inputs and outputs whose config is unchanged keep
// their line and goroutine; changed ones are restarted, removed ones stopped (outputs
// off and released). A change of heartbeat or retry restarts every input.
func (d *Driver) Apply(cfg Config) error {
	cfg = cloneConfig(cfg)
	cfg.SetDefaults(cfgerr.Env{})
	var errs cfgerr.List
	cfg.Validate(&errs)
	if err := errs.Err(); err != nil {
		return fmt.Errorf("gpio config: %w", err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ran && d.runCtx == nil {
		return errors.New("gpio: driver stopped")
	}
	d.pending = cfg

	// Outputs.
	want := map[string]OutputConfig{}
	for _, oc := range cfg.Outputs {
		want[oc.ID] = oc
	}
	for id, o := range d.outputs {
		if oc, ok := want[id]; !ok || !reflect.DeepEqual(oc, o.cfg) {
			o.close()
			delete(d.outputs, id)
		}
	}
	for _, oc := range cfg.Outputs {
		if _, ok := d.outputs[oc.ID]; !ok {
			d.outputs[oc.ID] = newOutput(oc, d.clock, d.src, d.log, d.metrics)
		}
	}

	// Inputs: stop the removed and changed ones first, so their lines are free.
	wantIn := map[string]InputConfig{}
	for _, ic := range cfg.Inputs {
		wantIn[ic.Device] = ic
	}
	for id, in := range d.inputs {
		ic, ok := wantIn[id]
		if ok && reflect.DeepEqual(ic, in.cfg) && in.heartbeat == cfg.Heartbeat && in.retry == cfg.Retry {
			continue
		}
		in.stop()
		d.metrics.forget(id)
		delete(d.inputs, id)
	}
	for _, ic := range cfg.Inputs {
		if _, ok := d.inputs[ic.Device]; ok {
			continue
		}
		in := newInput(d, ic, cfg.Heartbeat, cfg.Retry)
		d.inputs[ic.Device] = in
		if d.runCtx != nil {
			in.start(d.runCtx)
		}
	}
	return nil
}

// Run starts the inputs and runs until ctx ends; then it stops every input and turns
// every output off. It returns nil after a clean stop. Run may be called once.
func (d *Driver) Run(ctx context.Context) error {
	d.mu.Lock()
	if d.ran {
		d.mu.Unlock()
		return errors.New("gpio: Run called twice")
	}
	d.ran = true
	d.runCtx = ctx
	for _, in := range d.inputs {
		in.start(ctx)
	}
	d.mu.Unlock()

	<-ctx.Done()

	d.mu.Lock()
	defer d.mu.Unlock()
	d.runCtx = nil
	for _, in := range d.inputs {
		in.stop()
	}
	for _, o := range d.outputs {
		o.close()
	}
	return nil
}

// Output returns the output with id, or nil. After a reload that changed or removed
// it, an old *Output is closed (Sound returns ErrClosed): look it up per use, or use
// Driver.Sound, Driver.Silence and Driver.Off.
func (d *Driver) Output(id string) *Output {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.outputs[id]
}

// Outputs returns the current outputs by id.
func (d *Driver) Outputs() map[string]*Output {
	d.mu.Lock()
	defer d.mu.Unlock()
	m := make(map[string]*Output, len(d.outputs))
	for k, v := range d.outputs {
		m[k] = v
	}
	return m
}

// Sound sounds output id (see Output.Sound).
func (d *Driver) Sound(id string, p Pattern, dur time.Duration) error {
	o := d.Output(id)
	if o == nil {
		return fmt.Errorf("gpio sound %s: %w", id, ErrUnknownOutput)
	}
	return o.Sound(p, dur)
}

// Silence silences output id (see Output.Silence).
func (d *Driver) Silence(id string) error {
	o := d.Output(id)
	if o == nil {
		return fmt.Errorf("gpio silence %s: %w", id, ErrUnknownOutput)
	}
	o.Silence()
	return nil
}

// Off turns output id off without a person (see Output.Off).
func (d *Driver) Off(id string) error {
	o := d.Output(id)
	if o == nil {
		return fmt.Errorf("gpio off %s: %w", id, ErrUnknownOutput)
	}
	o.Off()
	return nil
}

// Inputs returns the state of every input, by device id.
func (d *Driver) Inputs() []InputStatus {
	d.mu.Lock()
	ins := make([]*input, 0, len(d.inputs))
	for _, in := range d.inputs {
		ins = append(ins, in)
	}
	d.mu.Unlock()
	out := make([]InputStatus, len(ins))
	for i, in := range ins {
		out[i] = in.getStatus()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Device < out[j].Device })
	return out
}

// Health implements health.Reporter: degraded while an input or output is in fault.
func (d *Driver) Health() health.Status {
	ins := d.Inputs()
	outs := d.Outputs()
	var bad []string
	detail := map[string]any{}
	for _, s := range ins {
		if s.Fault != "" {
			bad = append(bad, fmt.Sprintf("input %s: %s", s.Device, s.Fault))
		}
	}
	ids := make([]string, 0, len(outs))
	for id := range outs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	states := make([]OutputState, 0, len(ids))
	for _, id := range ids {
		st := outs[id].State()
		states = append(states, st)
		if st.Fault != "" {
			bad = append(bad, fmt.Sprintf("output %s: %s", id, st.Fault))
		}
	}
	detail["inputs"] = ins
	detail["outputs"] = states
	if len(bad) > 0 {
		return health.Status{State: health.Degraded, Reason: strings.Join(bad, "; "), Detail: detail}
	}
	return health.Status{State: health.Up, Detail: detail}
}

func cloneConfig(c Config) Config {
	c.Inputs = append([]InputConfig(nil), c.Inputs...)
	for i := range c.Inputs {
		if s := c.Inputs[i].Supervision; s != nil {
			cp := *s
			c.Inputs[i].Supervision = &cp
		}
	}
	c.Outputs = append([]OutputConfig(nil), c.Outputs...)
	return c
}
