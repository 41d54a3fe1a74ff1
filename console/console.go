// Package console is campusguard's duty console: the web page of the security room and
// the JSON API behind it, served by the daemon with every asset embedded (no CDN, works
// offline). Chinese by default, English on request.
//
// Pages: active alarms (live over Server-Sent Events, with a Web Audio alert for
// unacknowledged critical alarms), alarm detail with its audit trail and acknowledge /
// reset with a note, alarm and operator history with filters, devices, today's patrols,
// silences and zone arming. The JSON API (docs/api.md) offers the same operations to
// other systems.
//
// Security: accounts from config with bcrypt hashes and three roles (viewer, guard,
// operator); server-side sessions in HttpOnly, SameSite=Strict cookies (Secure under
// TLS); a per-session CSRF token required in X-CSRF-Token on every state change; login
// rate limiting; optional TLS on the console's own listener. Acknowledgements, resets,
// silences and arming go through alerting, which journals who did them; logins, failed
// logins and logouts are journaled too when Deps.Audit is set.
//
// # Why one package
//
// Its single job is the duty room's web surface, about 2,900 lines: the pages and the
// JSON API over the same operations (api.go, pages.go, sse.go, and a file per feature:
// arming, the police link, site plans, kiosks, export, the translation of notes),
// behind one login and one set of sessions (login.go, throttle.go, persist.go). A page
// and its API share the request helpers (http.go), the role checks and the CSRF guard,
// and change together. Accounts, sessions
// and rate limiting, the part with a seam of its own, already are package console/auth;
// a split between pages and API would duplicate the request plumbing both use.
package console

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/cfgerr"
	"github.com/campusguard/campusguard/console/auth"
	"github.com/campusguard/campusguard/devhealth"
	"github.com/campusguard/campusguard/health"
	"github.com/campusguard/campusguard/patrol"
	"github.com/campusguard/campusguard/site"
)

// Alarms is the alarm state and its operations (implemented by *alerting.Manager).
type Alarms interface {
	Active() []alerting.Alarm
	Alarm(id string) (alerting.Alarm, bool)
	Ack(ctx context.Context, alarmID, by, note string) error
	Resolve(ctx context.Context, alarmID, by, note string) error
	Silence(ctx context.Context, s alerting.Silence) (string, error)
	Unsilence(ctx context.Context, id, by string) error
	Silences() []alerting.Silence
	Arm(ctx context.Context, zone, by string) error
	Disarm(ctx context.Context, zone, by string) error
	Arming() []alerting.ZoneArming
	SetArming(ctx context.Context, r alerting.ArmRequest) error
	ZoneStatuses() []alerting.ZoneStatus
	Subscribe(size int) *alerting.Subscription
}

// History is the alarm journal's read side (implemented by *journal.Journal).
type History interface {
	Alarm(id string) (alerting.AlarmDetail, error)
	Alarms(q alerting.AlarmQuery) (alerting.AlarmPage, error)
	Records(q alerting.RecordQuery) (alerting.RecordPage, error)
}

// Devices is the device supervision state (implemented by *devhealth.Tracker).
type Devices interface {
	Snapshot() []devhealth.DeviceState
}

// Audit appends operator records to the journal (implemented by *journal.Journal): the
// console writes login, login_failed and logout records through it.
type Audit interface {
	Commit(c alerting.Commit) error
}

// Deps are the parts of the daemon the console reads and drives. Alarms is required;
// the others may be nil (their pages then say the data is unavailable).
type Deps struct {
	Alarms  Alarms
	History History
	Devices Devices
	// Patrol serves GET /api/patrol/report (a *report.Handler, with its Live set).
	Patrol http.Handler
	// Live returns the patrol runs in progress (patrol.Runner.Active).
	Live func() []patrol.RunResult
	// Site gives places and people: zone names and contacts, buildings, floors, plans,
	// device positions (SetSite replaces it after a reload).
	Site  *site.Site
	Audit Audit
	// Directory gives the devices' names, zones and plan positions for the floor plan
	// when the Site has none of its own (site.ValidateDevices gives the config's site
	// its devices).
	Directory *site.Directory
	// State keeps the sessions across a restart (nil: Audit when it is a StateStore,
	// as the journal is; else sessions end with the daemon).
	State StateStore
}

// Options are the console's runtime settings.
type Options struct {
	Clock      clockwork.Clock       // nil: the real clock
	Registerer prometheus.Registerer // nil: metrics not registered
	Logger     *slog.Logger          // nil: slog.Default()
	// Location is the site's time zone for the pages and date filters (nil: UTC).
	Location *time.Location
	// Heartbeat is the interval of SSE keep-alive comments (default 15s).
	Heartbeat time.Duration
	// SiteName is shown in the page header.
	SiteName string
	// PoliceSink is the name of the police-link sink, whose deliveries the cards show as
	// the police report's status ("" = "police", the police link's default).
	PoliceSink string
	// ConfigFS is the config directory: plan images are read from it (nil: the floor
	// plan view draws schematics).
	ConfigFS fs.FS
}

// Console serves the duty console. Safe for concurrent use.
type Console struct {
	deps    Deps
	clock   clockwork.Clock
	log     *slog.Logger
	loc     *time.Location
	beat    time.Duration
	site    string
	handler http.Handler
	cfgFS   atomic.Value // configFSBox: the config directory, for plan images
	siteP   atomic.Pointer[site.Site]
	// policeSink names the police link's deliveries.
	policeSink string

	mu    sync.Mutex
	cfg   Config
	state health.State
	why   string
	addr  string

	users    atomic.Pointer[auth.Users]
	sessions *auth.Sessions
	limiter  *auth.Limiter
	hashes   *hashGate
	// knownHashes is the password gate of browsers with a known-device cookie.
	knownHashes *hashGate
	floodLog    sampler
	// deviceKey signs known-device cookies (see throttle.go); kept with the sessions.
	deviceKey []byte
	lang      atomic.Value // string

	stop     chan struct{}
	stopOnce sync.Once
	streams  sync.WaitGroup
	clients  atomic.Int64

	met metrics
}

// New builds the console. cfg gets SetDefaults and must be valid.
func New(cfg Config, deps Deps, opts Options) (*Console, error) {
	if deps.Alarms == nil {
		return nil, errors.New("console: Deps.Alarms is required")
	}
	cfg.SetDefaults(cfgerr.Env{})
	var errs cfgerr.List
	v := cfg
	v.Enabled = true
	v.Validate(&errs)
	if err := errs.Err(); err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	if opts.Clock == nil {
		opts.Clock = clockwork.NewRealClock()
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Location == nil {
		opts.Location = time.UTC
	}
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = 15 * time.Second
	}
	c := &Console{deps: deps, clock: opts.Clock, log: opts.Logger, loc: opts.Location, beat: opts.Heartbeat,
		site: opts.SiteName, cfg: cfg, state: health.Up, stop: make(chan struct{}),
		sessions: auth.NewSessions(opts.Clock, cfg.SessionTTL, 0),
		limiter:  auth.NewLimiter(opts.Clock, cfg.LoginRateLimit.Attempts, cfg.LoginRateLimit.Window),
		hashes:   newHashGate(), knownHashes: newHashGate(), deviceKey: []byte(auth.Token())}
	users, err := auth.NewUsers(cfg.accounts())
	if err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	c.users.Store(users)
	c.lang.Store(cfg.Language)
	c.met, err = newMetrics(opts.Registerer, c)
	if err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	if opts.ConfigFS != nil {
		c.SetConfigFS(opts.ConfigFS)
	}
	c.siteP.Store(deps.Site)
	c.policeSink = opts.PoliceSink
	if c.policeSink == "" {
		c.policeSink = "police"
	}
	if deps.State == nil {
		if st, ok := deps.Audit.(StateStore); ok {
			c.deps.State = st
		}
	}
	if err := c.restoreSessions(c.deps.State); err != nil {
		c.log.Warn("console: sessions not restored", "err", err)
	}
	c.handler = c.routes()
	return c, nil
}

// Handler is the console's HTTP handler: pages at /, the JSON API under /api/, the SSE
// stream at /api/events, /login, /logout and the embedded assets under /static/. Mount
// it at / of the daemon's mux (or let Run serve it on console.listen).
func (c *Console) Handler() http.Handler { return c.handler }

// Apply takes a reloaded config: users, roles, language, session lifetime and rate limit
// change at once (sessions of removed users, or users whose role changed, end); listen
// and tls changes need a restart. cfg must be valid.
func (c *Console) Apply(cfg Config) error {
	cfg.SetDefaults(cfgerr.Env{})
	users, err := auth.NewUsers(cfg.accounts())
	if err != nil {
		return fmt.Errorf("console: %w", err)
	}
	c.mu.Lock()
	old := c.cfg
	c.cfg = cfg
	c.mu.Unlock()
	c.users.Store(users)
	c.lang.Store(cfg.Language)
	c.sessions.SetTTL(cfg.SessionTTL)
	c.limiter.Set(cfg.LoginRateLimit.Attempts, cfg.LoginRateLimit.Window)
	n := c.sessions.Keep(c.keepSession(cfg))
	if n > 0 {
		c.log.Info("console: sessions ended by reload", "sessions", n)
	}
	if old.ListenAddr() != cfg.ListenAddr() || old.TLS != cfg.TLS {
		c.log.Warn("console: listen and tls changes take effect at the next restart")
	}
	return nil
}

// Run serves the console on its own listener when console.listen is set (with TLS when
// configured) until ctx ends; with a shared listener it only waits for ctx. Either way,
// when ctx ends the live streams (SSE) end too, and Run returns once they have.
func (c *Console) Run(ctx context.Context) error {
	c.mu.Lock()
	addr := c.cfg.ListenAddr()
	c.mu.Unlock()
	if addr == "" {
		<-ctx.Done()
		c.shutdown()
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		c.setHealth(health.Down, err.Error())
		return fmt.Errorf("console listen %s: %w", addr, err)
	}
	return c.Serve(ctx, ln)
}

// Serve serves the console on ln (closed on return) until ctx ends.
func (c *Console) Serve(ctx context.Context, ln net.Listener) error {
	c.mu.Lock()
	tlsCfg := c.cfg.TLS
	c.addr = ln.Addr().String()
	c.mu.Unlock()
	srv := &http.Server{Handler: c.handler, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute,
		IdleTimeout: 2 * time.Minute, ErrorLog: slog.NewLogLogger(c.log.Handler(), slog.LevelWarn)}
	errc := make(chan error, 1)
	go func() {
		var err error
		if tlsCfg.Enabled() {
			srv.TLSConfig = nil // defaults: TLS 1.2+
			err = srv.ServeTLS(ln, tlsCfg.CertFile, tlsCfg.KeyFile)
		} else {
			err = srv.Serve(ln)
		}
		errc <- err
	}()
	c.log.Info("console: listening", "addr", ln.Addr().String(), "tls", tlsCfg.Enabled())
	select {
	case <-ctx.Done():
	case err := <-errc:
		c.setHealth(health.Down, err.Error())
		c.shutdown()
		return fmt.Errorf("console serve %s: %w", ln.Addr(), err)
	}
	c.shutdown() // ends the SSE streams so Shutdown does not wait for them
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(sctx)
	<-errc
	if err != nil {
		return fmt.Errorf("console shutdown: %w", err)
	}
	return nil
}

// Addr is the address of the console's own listener once Serve runs ("" when shared).
func (c *Console) Addr() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.addr
}

// shutdown ends every live stream and waits for their handlers to return.
func (c *Console) shutdown() {
	c.stopOnce.Do(func() { close(c.stop) })
	c.streams.Wait()
}

func (c *Console) setHealth(s health.State, why string) {
	c.mu.Lock()
	c.state, c.why = s, why
	c.mu.Unlock()
}

// Health reports the console: down when its own listener failed; the number of
// sessions and live streams.
func (c *Console) Health() health.Status {
	c.mu.Lock()
	st := health.Status{State: c.state, Reason: c.why}
	addr := c.addr
	c.mu.Unlock()
	st.Detail = map[string]any{"sessions": c.sessions.Len(), "streams": c.clients.Load()}
	if addr != "" {
		st.Detail["listen"] = addr
	}
	return st
}

func (c *Console) config() Config {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cfg
}

type metrics struct {
	logins  *prometheus.CounterVec
	actions *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, c *Console) (metrics, error) {
	m := metrics{
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "campusguard_console_logins_total",
			Help: "Console login attempts by result (ok, failed, rate_limited)."}, []string{"result"}),
		actions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "campusguard_console_actions_total",
			Help: "State changes made through the console by action and result."}, []string{"action", "result"}),
	}
	streams := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "campusguard_console_streams",
		Help: "Live (SSE) console streams open."}, func() float64 { return float64(c.clients.Load()) })
	sessions := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "campusguard_console_sessions",
		Help: "Console sessions logged in."}, func() float64 { return float64(c.sessions.Len()) })
	if reg != nil {
		for _, col := range []prometheus.Collector{m.logins, m.actions, streams, sessions} {
			if err := reg.Register(col); err != nil {
				return m, fmt.Errorf("metrics: %w", err)
			}
		}
	}
	return m, nil
}

// assetVersion is a short hash of the embedded assets, appended to their URLs so a new
// binary's assets are never served from a stale browser cache.
var assetVersion = func() string {
	h := sha256.New()
	for _, f := range mustGlob() {
		b, _ := webFS.ReadFile(f)
		h.Write([]byte(f))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:10]
}()
