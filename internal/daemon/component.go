package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/alerting/journal"
	"github.com/campusguard/campusguard/alerting/policelink"
	"github.com/campusguard/campusguard/alerting/sinks/siren"
	"github.com/campusguard/campusguard/console"
	"github.com/campusguard/campusguard/devhealth"
	gpiodrv "github.com/campusguard/campusguard/drivers/gpio"
	mqttdrv "github.com/campusguard/campusguard/drivers/mqtt"
	"github.com/campusguard/campusguard/drivers/sim"
	"github.com/campusguard/campusguard/event"
	"github.com/campusguard/campusguard/health"
	"github.com/campusguard/campusguard/internal/config"
	"github.com/campusguard/campusguard/patrol"
	"github.com/campusguard/campusguard/patrol/report"
	"github.com/campusguard/campusguard/rules"
	"github.com/campusguard/campusguard/site"
	"github.com/campusguard/campusguard/telemetry"
)

// pipeline holds the running components. The main loop owns engine; everything else
// is safe for concurrent use or owned by its own goroutine.
type pipeline struct {
	journal   *journal.Journal
	gpio      *gpiodrv.Driver
	mqtt      *mqttdrv.Driver
	health    *devhealth.Tracker
	patrol    *patrol.Runner
	alerts    *alerting.Manager
	siren     *siren.Sink
	police    *policelink.Sink
	tele      *telemetry.Forwarder
	sim       *sim.Sim
	console   *console.Console
	engine    *rules.Engine
	ruleSave  time.Time  // when the rule state was last offered to the saver
	ruleSaver *ruleSaver // writes the rule state to the journal off the main loop
	ruleSub   *event.Subscription
	// running are the components the config enabled at start, in start order: a reload
	// prepares them and hands them the new site.
	running []*component
}

// component is one row of the component table: what the config must say for it to
// run, how it is built and started, how it takes a reload, and what it reports.
type component struct {
	name string
	// enabled reports whether the config runs the component; nil: always.
	enabled func(cfg *config.Config) bool
	// start builds the component from the config and the shared wiring and starts what
	// it runs on its own (consumers, sinks). It publishes nothing on the bus yet.
	start func(w *wiring, log *slog.Logger) error
	// produce runs a producer of events; every component started (and every bus queue
	// exists) before the first one runs. nil: not a producer.
	produce func(ctx context.Context, w *wiring)
	// prepare readies a reload without changing what runs and returns the commit that
	// swaps it in (nil: nothing to commit). nil: the component takes no reload.
	prepare func(p *pipeline, old, cfg *config.Config, dir *site.Directory) (commit func() error, err error)
	// setSite hands a reader of the live site directory the reloaded one; it runs for
	// every reader in the same step, after every commit.
	setSite func(p *pipeline, cfg *config.Config, dir *site.Directory, now time.Time)
	// health is what the component reports (nil: nothing) under healthName (default
	// its name).
	health     func(p *pipeline, cfg *config.Config) health.Reporter
	healthName string
	// cleanup releases what start holds once every goroutine ended (at stop, or after
	// a failed start). nil: nothing to release.
	cleanup func(p *pipeline) error
}

// components is the component table in start order: the journal, the bus queues
// before any producer, the drivers built (not yet reading), the sinks, alerting, the
// rule engine restored, the consumers, the console and the HTTP tools; the producers
// run last. A new driver or sink is one row.
var components = []*component{
	journalComponent,
	queuesComponent,
	mqttComponent,
	simComponent,
	gpioComponent,
	sirenComponent,
	mqttSinkComponent,
	webhooksComponent,
	telemetryComponent,
	policeReceiverComponent,
	policeLinkComponent,
	alertingComponent,
	rulesComponent,
	devhealthComponent,
	patrolComponent,
	consoleComponent,
	toolsComponent,
}

// wiring is what the components are built from: the config and what the daemon
// shares with all of them, and what earlier rows hand to later ones.
type wiring struct {
	ctx   context.Context
	d     *Daemon
	p     *pipeline
	cfg   *config.Config
	dir   *site.Directory // the live site directory at start
	now   time.Time
	clock clockwork.Clock
	reg   prometheus.Registerer
	mux   *http.ServeMux // the HTTP listener's: the gateway's tools and the console
	bus   *event.Bus     // for the consumers' queues
	pub   counting       // publishes on the bus, counted

	// hsub and psub are the device-health and patrol queues (the queues row).
	hsub, psub *event.Subscription
	// sinks and local are what the sink rows built, for alerting.
	sinks []alerting.Sink
	local alerting.LocalOutput
	// alerts is the alerting manager for the sinks built before it (staff acks over
	// MQTT); the alerting row sets it.
	alerts late[*alerting.Manager]
	// patrolReport serves the patrol report (the patrol row) to the console and the
	// tools.
	patrolReport *report.Handler
}

// run starts a goroutine the daemon waits for at shutdown.
func (w *wiring) run(name string, f func()) { w.d.goRun(name, f) }

// sinkLog is the logger of the alert sink named name.
func (w *wiring) sinkLog(name string) *slog.Logger { return w.d.log.With("component", "sink/"+name) }

// startPipeline brings the components up in the table's order, then runs the
// producers.
func (d *Daemon) startPipeline(ctx context.Context) error {
	p := &pipeline{}
	d.p = p
	w := &wiring{ctx: ctx, d: d, p: p, cfg: d.cfg, dir: d.cfg.Directory(), now: d.clock.Now(), clock: d.clock,
		reg: d.metrics.reg, mux: d.mux, bus: d.bus, pub: counting{d}}
	for _, c := range components {
		if c.enabled != nil && !c.enabled(w.cfg) {
			continue
		}
		if err := c.start(w, d.log.With("component", c.name)); err != nil {
			return err
		}
		p.running = append(p.running, c)
		if c.health == nil {
			continue
		}
		if rep := c.health(p, w.cfg); rep != nil {
			name := c.healthName
			if name == "" {
				name = c.name
			}
			d.health.Set(name, rep)
		}
	}
	// Producers last: every consumer is subscribed before the first event (a button
	// held at start is read and published when its input starts).
	for _, c := range p.running {
		if c.produce != nil {
			c := c
			d.goRun(c.name, func() { c.produce(ctx, w) })
		}
	}
	return nil
}

// cleanup releases what the started components hold, in reverse start order; the
// daemon's goroutines have ended.
func (d *Daemon) cleanup() {
	if d.p == nil {
		return
	}
	for i := len(d.p.running) - 1; i >= 0; i-- {
		c := d.p.running[i]
		if c.cleanup == nil {
			continue
		}
		if err := c.cleanup(d.p); err != nil {
			d.log.Error("cleanup", "component", c.name, "err", err)
		}
	}
}

// contextOnce prefixes err with what failed, unless the error already names it (a
// package prefixes its own errors with its name; also is another name it goes by).
func contextOnce(what string, err error, also ...string) error {
	msg := err.Error()
	for _, n := range append([]string{what}, also...) {
		if strings.HasPrefix(msg, n+":") || strings.HasPrefix(msg, n+" ") {
			return err
		}
	}
	return fmt.Errorf("%s: %w", what, err)
}
