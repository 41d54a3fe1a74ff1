// Package config loads campusguard's configuration: one main YAML file, the files in
// conf.d beside it, and environment overrides for secrets. Load reads everything into
// new structs and validates all of it; the daemon swaps a loaded config in one step,
// so an invalid file never changes the running gateway.
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

// SecretKeys are the keys whose CAMPUSGUARD_ environment variable overrides the file
// even when the file does not set them (CAMPUSGUARD_TELEMETRY_TOKEN, CAMPUSGUARD_POLICELINK_KEY).
var SecretKeys = []string{"telemetry.token", "policelink.key"}

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

// Validate fills defaults and checks every section and the references between them.
// getenv supplies secret overrides.
func (c *Config) Validate(errs *cfgerr.List, getenv func(string) string) {
	c.Site.Validate(errs)
	site.ValidateDevices(&c.Site, c.Devices, errs)
	dir := c.Directory()

	sl := &cfgerr.List{}
	c.Schedules.Validate(sl)
	errs.Merge("schedules", sl)

	g := &cfgerr.List{}
	c.GPIO.Bind(dir, g)
	c.GPIO.SetDefaults()
	c.GPIO.Validate(g)
	errs.Merge("gpio", g)

	m := &cfgerr.List{}
	c.MQTT.SetDefaults(c.Site.ID, filepath.Join(c.StateDir, "mqtt"))
	if err := c.MQTT.ResolveSecrets(getenv); err != nil {
		m.Add("", "%v", err)
	}
	c.MQTT.Validate(m)
	errs.Merge("mqtt", m)
	c.MQTT.ValidateDevices(c.Devices, errs)
	for i, d := range c.Devices {
		if d.Driver == "gpio" && !c.hasGPIOInput(d.ID) {
			errs.Add(cfgerr.Index("devices", i)+".driver", "device %q uses the gpio driver but gpio.inputs has no entry for it", d.ID)
		}
	}

	t := &cfgerr.List{}
	c.Telemetry.SetDefaults(c.StateDir)
	if err := c.Telemetry.ResolveSecrets(getenv); err != nil {
		t.Add("", "%v", err)
	}
	if c.Telemetry.Enabled {
		c.Telemetry.Validate(t)
	}
	errs.Merge("telemetry", t)

	sinks := c.validateSinks(errs)
	if c.PoliceLink.Enabled {
		l := &cfgerr.List{}
		c.PoliceLink.SetDefaults()
		if err := c.PoliceLink.ResolveSecrets(getenv); err != nil {
			l.Add("key", "%v", err)
		}
		c.PoliceLink.Validate(l)
		errs.Merge("policelink", l)
		n := &cfgerr.List{}
		c.PoliceLink.Notes(n)
		c.Notes.Merge("policelink", n)
		sinks = append(sinks, c.PoliceLink.Name)
	}
	a := &cfgerr.List{}
	c.Alerting.SetDefaults()
	c.Alerting.Validate(a)
	c.Alerting.ValidateSinks(sinks, a)
	errs.Merge("alerting", a)

	cl := &cfgerr.List{}
	c.Console.SetDefaults()
	c.Console.Validate(cl)
	errs.Merge("console", cl)

	p := &cfgerr.List{}
	c.Patrol.SetDefaults()
	c.Patrol.Validate(p, dir)
	errs.Merge("patrol", p)

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

// validateSinks checks each configured sink and returns the names alerting may route to.
func (c *Config) validateSinks(errs *cfgerr.List) []string {
	var names []string
	if c.Sinks.Siren != nil {
		l := &cfgerr.List{}
		c.Sinks.Siren.SetDefaults()
		c.Sinks.Siren.Validate(l)
		c.Sinks.Siren.CheckSite(&c.Site, l)
		for i, o := range c.Sinks.Siren.Outputs {
			if !c.hasGPIOOutput(o.ID) {
				l.Add(cfgerr.Index("outputs", i)+".id", "no gpio.outputs entry with id %q", o.ID)
			}
		}
		errs.Merge("sinks.siren", l)
		names = append(names, "siren")
		sn := &cfgerr.List{}
		c.Sinks.Siren.Notes(sn)
		c.Notes.Merge("sinks.siren", sn)
	}
	if c.Sinks.MQTT != nil {
		l := &cfgerr.List{}
		c.Sinks.MQTT.SetDefaults()
		c.Sinks.MQTT.Validate(l)
		errs.Merge("sinks.mqtt", l)
		names = append(names, c.Sinks.MQTT.Name)
	}
	for i := range c.Sinks.Webhooks {
		w := &c.Sinks.Webhooks[i]
		l := &cfgerr.List{}
		w.SetDefaults()
		w.Validate(l)
		errs.Merge(cfgerr.Index("sinks.webhooks", i), l)
		names = append(names, w.Name)
	}
	if c.Telemetry.Enabled {
		names = append(names, "influx")
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
