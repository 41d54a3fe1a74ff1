// Package config loads campusguard's configuration: one main YAML file, the files in
// conf.d beside it, and the secrets they name. Load reads everything into new structs
// and validates all of it; the daemon swaps a loaded config in one step, so an invalid
// file never changes the running gateway.
//
// # Sections
//
// Every section of the config (mqtt, telemetry, sinks.webhooks[i], policelink, ...) is
// a type in its component's package that keeps one contract (Section):
//
//   - SetDefaults(env cfgerr.Env) fills unset values. cfgerr.Env carries what defaults
//     derive from (the site id, the state directory), so a component never imports
//     this package.
//   - Validate(errs *cfgerr.List) records every problem with keys relative to the
//     section, and does no I/O: it reads no file and no environment variable. It may
//     run again on a config already resolved (a component's prepare) and find the same.
//   - A section with secrets or files (passwords, tokens, keys, CA bundles and client
//     certificates; secret.Value and secret.TLSClient) also has Resolve(errs, lookup)
//     (Resolver): after every section validated, Config.Resolve reads them, in this
//     one step, and records a missing or empty file and an unset variable at the key
//     that named it.
//
// Config.Validate walks the table of sections (Config.sections): SetDefaults, then
// Validate, each section's problems prefixed with its key; the loader then locates
// every problem by file and line. What needs more than one section (devices against
// the MQTT mappings and the GPIO inputs, routes against the sinks, the siren against
// the site) is checked after the walk. A section that needs the site's devices to
// validate says so with a second, explicit step: patrol's Validate takes the site
// directory, and GPIO inputs are bound to their devices (Bind) before their defaults,
// which depend on the device's kind.
//
// The environment is read for secrets only: each secret names the variables that may
// give it (secret.Sources.Override: CAMPUSGUARD_POLICELINK_KEY,
// CAMPUSGUARD_TELEMETRY_TOKEN and CAMPUSGUARD_INFLUX_TOKEN,
// CAMPUSGUARD_MQTT_<BROKER>_PASSWORD, ...), read in the resolve step through
// Options.Getenv. No other key can be set from the environment.
package config

import (
	"net"
	"path/filepath"
	"time"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/alerting/policelink"
	"github.com/campusguard/campusguard/alerting/sinks/mqttsink"
	"github.com/campusguard/campusguard/alerting/sinks/siren"
	"github.com/campusguard/campusguard/alerting/sinks/webhook"
	"github.com/campusguard/campusguard/cfgerr"
	"github.com/campusguard/campusguard/console"
	"github.com/campusguard/campusguard/drivers/gpio"
	mqttdrv "github.com/campusguard/campusguard/drivers/mqtt"
	"github.com/campusguard/campusguard/patrol"
	"github.com/campusguard/campusguard/rules"
	"github.com/campusguard/campusguard/rules/schedule"
	"github.com/campusguard/campusguard/secret"
	"github.com/campusguard/campusguard/site"
	"github.com/campusguard/campusguard/telemetry"
)

// Config is the whole gateway configuration.
type Config struct {
	// Notes are what check says without refusing the config (an account upper-cased,
	// a key another receiver would read differently, a class of alarm nothing signals
	// on site), located like errors.
	Notes cfgerr.List `mapstructure:"-"`

	Site     site.Site      `mapstructure:"site"`
	Devices  []site.Device  `mapstructure:"devices"`
	StateDir string         `mapstructure:"state_dir"`
	Log      LogConfig      `mapstructure:"log"`
	HTTP     HTTPConfig     `mapstructure:"http"`
	Broker   BrokerConfig   `mapstructure:"broker"`
	Shutdown ShutdownConfig `mapstructure:"shutdown"`

	// Schedules are named time windows (school hours, nights, holidays); rule files may
	// define more. Rules, routes, silences and patrol plans refer to them by name.
	Schedules schedule.Config `mapstructure:"schedules"`
	// RulesDir holds the alert rule files (every *.yaml directly in it), relative to
	// the main file.
	RulesDir  string           `mapstructure:"rules_dir"`
	GPIO      gpio.Config      `mapstructure:"gpio"`
	MQTT      mqttdrv.Config   `mapstructure:"mqtt"`
	Alerting  alerting.Config  `mapstructure:"alerting"`
	Sinks     SinksConfig      `mapstructure:"sinks"`
	Telemetry telemetry.Config `mapstructure:"telemetry"`
	Patrol    patrol.Config    `mapstructure:"patrol"`
	// Console is the duty room's web page and JSON API.
	Console console.Config `mapstructure:"console"`
	// PoliceLink reports alarms to the police alarm receiving centre (SIA DC-09).
	PoliceLink policelink.Config `mapstructure:"policelink"`
	Simulator  SimulatorConfig   `mapstructure:"simulator"`

	// Rules is the loaded rule set (from RulesDir), validated with the rest.
	Rules *rules.RuleSet `mapstructure:"-"`
	// ScheduleSet is every schedule (config and rule files) compiled in the site's zone.
	ScheduleSet *schedule.Set `mapstructure:"-"`
	// Files are the files this config was read from, main first.
	Files  []string `mapstructure:"-"`
	source Source
}

// SinksConfig holds the alert sinks; each is off unless configured.
type SinksConfig struct {
	Siren    *siren.Config    `mapstructure:"siren"`
	MQTT     *mqttsink.Config `mapstructure:"mqtt"`
	Webhooks []webhook.Config `mapstructure:"webhooks"`
}

// SimulatorConfig runs simulated devices (the demo) through the real drivers.
type SimulatorConfig struct {
	Enabled bool `mapstructure:"enabled"`
	// Broker is the MQTT broker (a name from mqtt.brokers) the simulated devices publish to.
	Broker string `mapstructure:"broker"`
	// Interval between background events (heartbeats, occasional detections).
	Interval time.Duration `mapstructure:"interval"`
	// Scenarios run once at start, in order (panic, antifall, patrol, kitchen, camera-offline).
	Scenarios []string `mapstructure:"scenarios"`
	// PoliceReceiver, when set, runs a stand-in alarm receiving centre (SIA DC-09, the
	// police link's key) on this loopback address, so the demo shows its reports.
	PoliceReceiver string `mapstructure:"police_receiver"`
}

// LogConfig sets the daemon's log output.
type LogConfig struct {
	Level  string `mapstructure:"level"`  // debug, info, warn, error
	Format string `mapstructure:"format"` // text or json
}

// HTTPConfig is the health/metrics (and later console) listener.
type HTTPConfig struct {
	Listen string `mapstructure:"listen"` // host:port; 127.0.0.1 unless the operator says otherwise
}

// BrokerConfig is the embedded MQTT broker, for the demo and for sites without one.
type BrokerConfig struct {
	Enabled bool   `mapstructure:"enabled"`
	Listen  string `mapstructure:"listen"`
}

// ShutdownConfig bounds a clean stop.
type ShutdownConfig struct {
	Timeout time.Duration `mapstructure:"timeout"`
}

// SecretEnv lists, for the documentation and the tests, the environment variables that
// give secrets of fixed keys; each component declares its own (secret.Sources.Override),
// and MQTT brokers add CAMPUSGUARD_MQTT_<BROKER>_PASSWORD each
// (mqtt.EnvPasswordVar). No other variable changes the config.
var SecretEnv = map[string][]string{
	"telemetry.token":            {telemetry.EnvToken, telemetry.EnvTokenKey},
	"policelink.key":             {policelink.KeyEnv},
	"sinks.mqtt.client.password": {mqttsink.EnvPassword},
	"sinks.mqtt.ack.secret":      {mqttsink.EnvAckSecret},
}

// Default returns a config with every default filled in.
func Default() *Config {
	return &Config{
		Site:      site.Site{Timezone: site.DefaultTimezone},
		StateDir:  "/var/lib/campusguard",
		Log:       LogConfig{Level: "info", Format: "text"},
		HTTP:      HTTPConfig{Listen: "127.0.0.1:9810"},
		Broker:    BrokerConfig{Listen: "127.0.0.1:1883"},
		Shutdown:  ShutdownConfig{Timeout: 10 * time.Second},
		RulesDir:  "rules",
		Simulator: SimulatorConfig{Interval: 20 * time.Second},
	}
}

// Section is the contract of every config section (see the package doc).
type Section interface {
	SetDefaults(env cfgerr.Env)
	Validate(errs *cfgerr.List)
}

// Resolver is a section with secrets or files, read once after validation.
type Resolver interface {
	Resolve(errs *cfgerr.List, l secret.Lookup)
}

// section is one entry of the table Validate and Resolve walk.
type section struct {
	key string // the section's key path; its problems' keys are relative to it
	s   Section
}

// sections is the table of the configured sections, in the order they are checked; an
// optional section that is absent or disabled is not in it.
func (c *Config) sections(dir *site.Directory) []section {
	t := []section{
		{"schedules", noDefaults{c.Schedules}},
		{"gpio", &gpioSection{c: &c.GPIO, dir: dir}},
		{"mqtt", &c.MQTT},
	}
	if c.Telemetry.Enabled {
		t = append(t, section{"telemetry", &c.Telemetry})
	}
	if c.Sinks.Siren != nil {
		t = append(t, section{"sinks.siren", c.Sinks.Siren})
	}
	if c.Sinks.MQTT != nil {
		t = append(t, section{"sinks.mqtt", c.Sinks.MQTT})
	}
	for i := range c.Sinks.Webhooks {
		t = append(t, section{cfgerr.Index("sinks.webhooks", i), &c.Sinks.Webhooks[i]})
	}
	if c.PoliceLink.Enabled {
		t = append(t, section{"policelink", &c.PoliceLink})
	}
	return append(t,
		section{"alerting", &c.Alerting},
		section{"console", &c.Console},
		section{"patrol", &patrolSection{c: &c.Patrol, dir: dir}},
	)
}

// noDefaults adapts a section that has no defaults.
type noDefaults struct {
	s interface{ Validate(errs *cfgerr.List) }
}

func (n noDefaults) SetDefaults(cfgerr.Env)     {}
func (n noDefaults) Validate(errs *cfgerr.List) { n.s.Validate(errs) }

// gpioSection binds the GPIO inputs to their devices before the defaults, which follow
// a device's kind; the binding's problems are reported with Validate's.
type gpioSection struct {
	c    *gpio.Config
	dir  *site.Directory
	bind cfgerr.List
}

func (g *gpioSection) SetDefaults(env cfgerr.Env) {
	g.c.Bind(g.dir, &g.bind)
	g.c.SetDefaults(env)
}

func (g *gpioSection) Validate(errs *cfgerr.List) {
	errs.Errs = append(errs.Errs, g.bind.Errs...)
	g.c.Validate(errs)
}

// patrolSection validates patrol plans against the site's directory (its second,
// explicit step).
type patrolSection struct {
	c   *patrol.Config
	dir *site.Directory
}

func (p *patrolSection) SetDefaults(env cfgerr.Env) { p.c.SetDefaults(env) }
func (p *patrolSection) Validate(errs *cfgerr.List) { p.c.Validate(errs, p.dir) }

// Validate fills defaults and checks every section and the references between them. It
// reads no file and no variable: Resolve does, after it.
func (c *Config) Validate(errs *cfgerr.List) {
	c.Site.Validate(errs)
	site.ValidateDevices(&c.Site, c.Devices, errs)
	env := cfgerr.Env{SiteID: c.Site.ID, StateDir: c.StateDir}
	for _, s := range c.sections(c.Directory()) {
		l := &cfgerr.List{}
		s.s.SetDefaults(env)
		s.s.Validate(l)
		errs.Merge(s.key, l)
	}

	c.MQTT.ValidateDevices(c.Devices, errs)
	for i, d := range c.Devices {
		if d.Driver == "gpio" && !c.hasGPIOInput(d.ID) {
			errs.Add(cfgerr.Index("devices", i)+".driver", "device %q uses the gpio driver but gpio.inputs has no entry for it", d.ID)
		}
	}
	if sr := c.Sinks.Siren; sr != nil {
		l := &cfgerr.List{}
		sr.CheckSite(&c.Site, l)
		for i, o := range sr.Outputs {
			if !c.hasGPIOOutput(o.ID) {
				l.Add(cfgerr.Index("outputs", i)+".id", "no gpio.outputs entry with id %q", o.ID)
			}
		}
		errs.Merge("sinks.siren", l)
		sn := &cfgerr.List{}
		sr.Notes(sn)
		c.Notes.Merge("sinks.siren", sn)
	}
	a := &cfgerr.List{}
	c.Alerting.ValidateSinks(c.sinkNames(), a)
	errs.Merge("alerting", a)

	if c.Simulator.Enabled {
		if c.Simulator.Interval <= 0 {
			errs.Add("simulator.interval", "must be positive")
		}
		if r := c.Simulator.PoliceReceiver; r != "" {
			if host, _, err := net.SplitHostPort(r); err != nil || (host != "127.0.0.1" && host != "localhost" && host != "::1") {
				errs.Add("simulator.police_receiver", "%q must be a loopback host:port, e.g. 127.0.0.1:17001", r)
			} else {
				checkHostPort(errs, "simulator.police_receiver", r, true)
			}
		}
		if c.Simulator.Broker != "" && !c.hasBroker(c.Simulator.Broker) {
			errs.Add("simulator.broker", "unknown broker %q (not in mqtt.brokers)", c.Simulator.Broker)
		}
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		errs.Add("log.level", "unknown level %q (debug, info, warn, error)", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		errs.Add("log.format", "unknown format %q (text, json)", c.Log.Format)
	}
	checkHostPort(errs, "http.listen", c.HTTP.Listen, true)
	if c.Broker.Enabled {
		checkHostPort(errs, "broker.listen", c.Broker.Listen, true)
	}
	if c.Console.Enabled && c.Console.Listen != "" {
		checkHostPort(errs, "console.listen", c.Console.Listen, true)
	}
	if c.PoliceLink.Enabled {
		// The police link's own validator checks the form; a port out of range would
		// only fail at the first report.
		for key, a := range map[string]string{"policelink.main.primary": c.PoliceLink.Main.Primary, "policelink.main.secondary": c.PoliceLink.Main.Secondary} {
			if _, p, err := net.SplitHostPort(a); err == nil && p != "" {
				checkPortRange(errs, key, a, p)
			}
		}
	}
	if c.StateDir == "" {
		errs.Add("state_dir", "is required")
	}
	if c.Shutdown.Timeout <= 0 {
		errs.Add("shutdown.timeout", "must be positive")
	}
}

// Resolve reads the secrets and files of every section that has them (Resolver), in one
// step after Validate, through l. Problems are keyed like Validate's.
func (c *Config) Resolve(errs *cfgerr.List, l secret.Lookup) {
	for _, s := range c.sections(c.Directory()) {
		if r, ok := s.s.(Resolver); ok {
			rl := &cfgerr.List{}
			r.Resolve(rl, l)
			errs.Merge(s.key, rl)
		}
	}
	// The police link's notes read its key.
	n := &cfgerr.List{}
	c.PoliceLink.Notes(n)
	c.Notes.Merge("policelink", n)
}

// sinkNames are the names alerting may route to: the configured sinks'.
func (c *Config) sinkNames() []string {
	var names []string
	if c.Sinks.Siren != nil {
		names = append(names, "siren")
	}
	if c.Sinks.MQTT != nil {
		names = append(names, c.Sinks.MQTT.Name)
	}
	for _, w := range c.Sinks.Webhooks {
		names = append(names, w.Name)
	}
	if c.Telemetry.Enabled {
		names = append(names, "influx")
	}
	if c.PoliceLink.Enabled {
		names = append(names, c.PoliceLink.Name)
	}
	return names
}

func (c *Config) hasGPIOInput(device string) bool {
	for _, in := range c.GPIO.Inputs {
		if in.Device == device {
			return true
		}
	}
	return false
}

func (c *Config) hasGPIOOutput(id string) bool {
	for _, o := range c.GPIO.Outputs {
		if o.ID == id {
			return true
		}
	}
	return false
}

func (c *Config) hasBroker(name string) bool {
	for _, b := range c.MQTT.Brokers {
		if b.Name == name {
			return true
		}
	}
	return false
}

// Path resolves a path from the config relative to the main file's directory.
func (c *Config) Path(p string) string {
	if p == "" || filepath.IsAbs(p) || c.source.Dir == "" {
		return p
	}
	return filepath.Join(c.source.Dir, p)
}

// Source is where this config was loaded from.
func (c *Config) Source() Source { return c.source }

// Directory indexes the site's devices.
func (c *Config) Directory() *site.Directory { return site.NewDirectory(&c.Site, c.Devices) }
