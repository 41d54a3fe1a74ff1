// Package config loads campusguard's configuration: one main YAML file, the files in
// conf.d beside it, and environment overrides for secrets. Load reads everything into
// new structs and validates all of it; the daemon swaps a loaded config in one step,
// so an invalid file never changes the running gateway.
package config

import (
	"net"
	"path/filepath"
	"time"

	"github.com/campusguard/campusguard/internal/cfgerr"
	"github.com/campusguard/campusguard/internal/site"
)

// Config is the whole gateway configuration.
type Config struct {
	Site     site.Site      `mapstructure:"site"`
	Devices  []site.Device  `mapstructure:"devices"`
	StateDir string         `mapstructure:"state_dir"`
	Log      LogConfig      `mapstructure:"log"`
	HTTP     HTTPConfig     `mapstructure:"http"`
	Broker   BrokerConfig   `mapstructure:"broker"`
	Shutdown ShutdownConfig `mapstructure:"shutdown"`

	// Files are the files this config was read from, main first.
	Files  []string `mapstructure:"-"`
	source Source
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
// even when the file does not set them (CAMPUSGUARD_TELEMETRY_TOKEN...).
var SecretKeys = []string{}

// Default returns a config with every default filled in.
func Default() *Config {
	return &Config{
		Site:     site.Site{Timezone: site.DefaultTimezone},
		StateDir: "/var/lib/campusguard",
		Log:      LogConfig{Level: "info", Format: "text"},
		HTTP:     HTTPConfig{Listen: "127.0.0.1:9810"},
		Broker:   BrokerConfig{Listen: "127.0.0.1:1883"},
		Shutdown: ShutdownConfig{Timeout: 10 * time.Second},
	}
}

// Validate checks every section and the references between them.
func (c *Config) Validate(errs *cfgerr.List) {
	c.Site.Validate(errs)
	site.ValidateDevices(&c.Site, c.Devices, errs)
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
	if _, _, err := net.SplitHostPort(c.HTTP.Listen); err != nil {
		errs.Add("http.listen", "%q is not host:port", c.HTTP.Listen)
	}
	if c.Broker.Enabled {
		if _, _, err := net.SplitHostPort(c.Broker.Listen); err != nil {
			errs.Add("broker.listen", "%q is not host:port", c.Broker.Listen)
		}
	}
	if c.StateDir == "" {
		errs.Add("state_dir", "is required")
	}
	if c.Shutdown.Timeout <= 0 {
		errs.Add("shutdown.timeout", "must be positive")
	}
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
