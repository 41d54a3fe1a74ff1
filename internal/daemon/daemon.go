// Package daemon is campusguard's lifecycle: load and validate the config, start the
// components in order (provision → validate → start), run the main loop that feeds the
// rule engine and pings the systemd watchdog, reload on SIGHUP or file change as one
// transaction, and stop everything cleanly within a bound.
//
// The components are the rows of one table (component.go): each says whether the
// config enables it, how it starts from the shared wiring, whether it produces events
// (producers run once every component started), how it prepares a reload, whether it
// reads the live site directory, what it reports to /healthz, and what it releases at
// stop. Start, reload and stop walk the same rows.
//
// # Why one package
//
// Its single job is the daemon's lifecycle, about 2,100 lines, and it is the one place
// that imports every component. Most of its size is the component table (component.go,
// rows.go, rows_consumers.go): one row per component with its start, prepare, site
// readers and health, beside the main loop (loop.go), the reload transaction
// (reload.go), the HTTP endpoints (http.go, testmode.go) and the config watch
// (watch.go). The rows are the seam, but each fills the daemon's pipeline and wiring,
// so moving them into the components' packages would export those internals to every
// component; the package grows by one small row per component instead.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	sd "github.com/coreos/go-systemd/v22/daemon"
	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	gpiodrv "github.com/campusguard/campusguard/drivers/gpio"
	"github.com/campusguard/campusguard/event"
	"github.com/campusguard/campusguard/health"
	"github.com/campusguard/campusguard/internal/broker"
	"github.com/campusguard/campusguard/internal/config"
)

// Options configures a daemon run.
type Options struct {
	Source   config.Source
	Demo     bool   // the embedded demo campus (broker and simulator on)
	StateDir string // overrides the config's state_dir ("" = keep)
	HTTP     string // overrides http.listen ("" = keep)
	Logger   *slog.Logger
	Clock    clockwork.Clock
	// Notify sends a systemd notification; nil uses sd_notify (a no-op outside systemd).
	Notify func(state string)
	// WatchInterval is how often config files are polled for changes (0 = 2 s).
	WatchInterval time.Duration
	// Ready is called once the daemon serves (tests use it).
	Ready func(d *Daemon)
	// Env is the environment for config overrides (nil = the process's).
	Getenv func(string) string
	// Pins, when set, resolves GPIO pins instead of the host's chips or the
	// simulator's (tests hand in periph's gpiotest pins).
	Pins gpiodrv.PinSource
}

// Daemon is a running gateway.
type Daemon struct {
	opts    Options
	log     *slog.Logger
	clock   clockwork.Clock
	bus     *event.Bus
	metrics *metrics
	health  *health.Registry
	mux     *http.ServeMux
	httpLn  net.Listener
	broker  *broker.Broker
	p       *pipeline
	runCtx  context.Context // ends when the daemon stops

	cfg     *config.Config // owned by the main loop
	info    atomic.Pointer[configInfo]
	started time.Time

	reloadReq chan reloadRequest
	loadedFP  [32]byte // the config files' fingerprint when the first config was loaded
	wg        sync.WaitGroup

	// mark is the durability watermark of the bus: inputs acknowledge an event to its
	// source only once the main loop processed it and its journal writes are on disk.
	mark *event.Watermark
	// processed is how far the main loop has handled the bus (written or not): the
	// durability watermark follows it unless the journal cannot write.
	processed *event.Watermark
	resets    *resetQueue // a person's resets, for the main loop's rule engine
	pings     chan chan struct{}
	// testPrepare, when set by a test, is one more reload step that may refuse.
	testPrepare func(*config.Config) error
}

type configInfo struct {
	Site       string    `json:"site"`
	SiteName   string    `json:"site_name"`
	Devices    int       `json:"devices"`
	Files      []string  `json:"files"`
	RulesDir   string    `json:"rules_dir,omitempty"`
	LoadedAt   time.Time `json:"loaded_at"`
	Generation int       `json:"generation"`
	LastError  string    `json:"last_reload_error,omitempty"`
}

type reloadRequest struct {
	reason string
	result chan error // nil: nobody waits
}

// Run loads the config and runs the daemon until ctx ends or SIGTERM/SIGINT.
func Run(ctx context.Context, opts Options) error {
	d, err := New(opts)
	if err != nil {
		return err
	}
	return d.Run(ctx)
}

// New loads and validates the config; nothing is started yet.
func New(opts Options) (*Daemon, error) {
	if opts.Clock == nil {
		opts.Clock = clockwork.NewRealClock()
	}
	if opts.WatchInterval <= 0 {
		opts.WatchInterval = 2 * time.Second
	}
	if opts.Notify == nil {
		opts.Notify = func(state string) { _, _ = sd.SdNotify(false, state) }
	}
	// Fingerprint the files before reading them: an edit made while loading is then
	// seen as a change and loaded too.
	defaultRules := filepath.Join(opts.Source.Dir, config.Default().RulesDir)
	fp := (&watcher{paths: func() []string { return watchPaths(opts.Source, defaultRules) }}).fingerprint()
	cfg, err := loadConfig(opts)
	if err != nil {
		return nil, err
	}
	if rd := cfg.RulesDirPath(); rd != defaultRules {
		fp = (&watcher{paths: func() []string { return watchPaths(opts.Source, rd) }}).fingerprint()
	}
	log := opts.Logger
	if log == nil {
		log = NewLogger(cfg.Log, os.Stderr)
	}
	d := &Daemon{
		opts:      opts,
		log:       log,
		clock:     opts.Clock,
		cfg:       cfg,
		health:    health.NewRegistry(),
		mux:       http.NewServeMux(),
		reloadReq: make(chan reloadRequest, 1),
		loadedFP:  fp,
		mark:      event.NewWatermark(),
		processed: event.NewWatermark(),
		resets:    newResetQueue(),
		pings:     make(chan chan struct{}),
	}
	for _, n := range cfg.Notes.Errs {
		log.Warn("config note", "note", n.Error())
	}
	d.bus = event.NewBus(d.clock.Now)
	d.metrics = newMetrics(d.bus)
	d.setInfo(cfg, 1, "")
	return d, nil
}

func loadConfig(opts Options) (*config.Config, error) {
	// A daemon on the machine's own pins is a gateway: its config is checked against
	// this machine (GPIO chips present, rules directory there).
	cfg, err := config.Load(opts.Source, config.Options{Getenv: opts.Getenv, StateDir: opts.StateDir, Gateway: opts.Pins == nil})
	if err != nil {
		return nil, err
	}
	if opts.HTTP != "" {
		cfg.HTTP.Listen = opts.HTTP
	}
	if opts.Demo {
		cfg.Broker.Enabled = true
		cfg.Simulator.Enabled = true
	}
	return cfg, nil
}

// NewLogger builds the daemon's logger from the log section.
func NewLogger(c config.LogConfig, w *os.File) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(c.Level))
	o := &slog.HandlerOptions{Level: lvl}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, o))
	}
	return slog.New(slog.NewTextHandler(w, o))
}

// Bus is the event bus (tests and the simulator publish on it).
func (d *Daemon) Bus() *event.Bus { return d.bus }

// Ping returns once the main loop went round: the resets made before it are applied
// and the rule timers due by now have run.
func (d *Daemon) Ping(ctx context.Context) error {
	done := make(chan struct{})
	select {
	case d.pings <- done:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Watermark is the bus's durability watermark (see event.Watermark).
func (d *Daemon) Watermark() *event.Watermark { return d.mark }

// HTTPAddr is the address the health/metrics listener is bound to.
func (d *Daemon) HTTPAddr() string { return d.httpLn.Addr().String() }

// Reload asks the main loop to reload and waits for the outcome.
func (d *Daemon) Reload(ctx context.Context, reason string) error {
	r := reloadRequest{reason: reason, result: make(chan error, 1)}
	select {
	case d.reloadReq <- r:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-r.result:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Run starts every component, serves until ctx ends or a stop signal arrives, then
// stops everything within the configured shutdown timeout.
func (d *Daemon) Run(ctx context.Context) error {
	d.started = d.clock.Now()
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	d.runCtx = runCtx
	// /healthz says down until the inputs are subscribed (see awaitInputs).
	starting := &startupHealth{}
	d.health.Set("startup", starting)
	if err := d.start(runCtx); err != nil {
		cancel()
		d.wait()
		d.cleanup()
		return err
	}

	changed := make(chan struct{}, 1)
	w := &watcher{clock: d.clock, interval: d.opts.WatchInterval, paths: d.watchPaths}
	d.goRun("config-watch", func() { w.run(runCtx, d.loadedFP, changed) })

	// Everything started and the inputs subscribed: tell systemd, then run the loop.
	subscribed := d.awaitInputs(runCtx)
	starting.ready()
	d.opts.Notify("READY=1")
	d.notifyStatus()
	d.log.Info("campusguard ready", "site", d.cfg.Site.ID, "devices", len(d.cfg.Devices),
		"http", d.HTTPAddr(), "startup", d.clock.Since(d.started).Round(time.Millisecond))
	if subscribed {
		d.log.Info("inputs ready: mqtt subscribed before READY=1")
	}
	if d.opts.Ready != nil {
		d.opts.Ready(d)
	}

	err := d.loop(runCtx, hup, changed)

	d.opts.Notify("STOPPING=1")
	d.saveRuleState(true)
	d.log.Info("stopping", "timeout", d.cfg.Shutdown.Timeout)
	cancel()
	done := make(chan struct{})
	go func() { d.wait(); close(done) }()
	select {
	case <-done:
		d.cleanup()
		d.log.Info("stopped cleanly")
	case <-time.After(d.cfg.Shutdown.Timeout):
		d.log.Error("components did not stop within the shutdown timeout", "timeout", d.cfg.Shutdown.Timeout)
		return errors.New("shutdown timed out")
	}
	return err
}

// start brings components up in order: state dir, broker, HTTP, drivers, pipeline.
func (d *Daemon) start(ctx context.Context) error {
	cfg := d.cfg
	if err := os.MkdirAll(cfg.StateDir, 0o750); err != nil {
		return fmt.Errorf("state dir %s: %w", cfg.StateDir, err)
	}
	d.health.Set("config", health.Func(d.configHealth))
	d.health.Set("clock", health.Func(clockHealth))
	if cfg.Broker.Enabled {
		b, err := broker.Start(ctx, broker.Options{Listen: cfg.Broker.Listen, StateDir: filepath.Join(cfg.StateDir, "broker"),
			Logger: d.log.With("component", "broker")})
		if err != nil {
			return err
		}
		d.broker = b
		d.health.Set("broker", b)
		d.log.Info("embedded MQTT broker listening", "addr", b.Addr())
	}
	if err := d.startHTTP(ctx); err != nil {
		return err
	}
	return d.startPipeline(ctx)
}

func (d *Daemon) startHTTP(ctx context.Context) error {
	ln, err := net.Listen("tcp", d.cfg.HTTP.Listen)
	if err != nil {
		return fmt.Errorf("http listen %s: %w", d.cfg.HTTP.Listen, err)
	}
	d.httpLn = ln
	d.mux.HandleFunc("GET /healthz", d.serveHealth)
	d.mux.Handle("GET /metrics", d.guardRemote(promhttp.HandlerFor(d.metrics.reg, promhttp.HandlerOpts{})))
	d.mux.Handle("POST /-/reload", loopbackOnly(http.HandlerFunc(d.serveReload)))
	srv := &http.Server{Handler: d.mux, ReadHeaderTimeout: 10 * time.Second}
	d.goRun("http", func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.log.Error("http server", "err", err)
		}
	})
	d.goRun("http-stop", func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	})
	return nil
}

func (d *Daemon) setInfo(cfg *config.Config, gen int, lastErr string) {
	d.info.Store(&configInfo{
		Site: cfg.Site.ID, SiteName: cfg.Site.Name, Devices: len(cfg.Devices), Files: cfg.Files, RulesDir: cfg.RulesDirPath(),
		LoadedAt: d.clock.Now(), Generation: gen, LastError: lastErr,
	})
}

func (d *Daemon) configHealth() health.Status {
	i := d.info.Load()
	st := health.Status{State: health.Up, Detail: map[string]any{
		"site": i.Site, "site_name": i.SiteName, "devices": i.Devices, "generation": i.Generation,
		"loaded_at": i.LoadedAt, "files": i.Files,
	}}
	if i.LastError != "" {
		st.State = health.Degraded
		st.Reason = "last reload rejected: " + i.LastError
	}
	return st
}

func (d *Daemon) notifyStatus() {
	i := d.info.Load()
	rep := d.health.Check()
	d.opts.Notify(fmt.Sprintf("STATUS=%s: %d devices, config generation %d, %d events, health %s",
		i.Site, i.Devices, i.Generation, d.bus.Published(), rep.State))
}

// watchPaths are the running config's files: the main file, conf.d and rules_dir
// (as loaded; a reload that moves rules_dir is watched from then on).
func (d *Daemon) watchPaths() []string {
	return watchPaths(d.opts.Source, d.info.Load().RulesDir)
}

func watchPaths(src config.Source, rulesDir string) []string {
	if src.Dir == "" {
		return nil // embedded config never changes
	}
	return []string{filepath.Join(src.Dir, src.Main), filepath.Join(src.Dir, config.ConfDir), rulesDir}
}

// goRun starts a goroutine the daemon waits for at shutdown.
func (d *Daemon) goRun(name string, f func()) {
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		f()
	}()
}

func (d *Daemon) wait() { d.wg.Wait() }
