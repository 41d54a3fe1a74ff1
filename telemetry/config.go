package telemetry

import (
	"net/url"
	"path/filepath"
	"time"

	"github.com/campusguard/campusguard/cfgerr"
	"github.com/campusguard/campusguard/secret"
)

// The environment variables that override the configured token, the first set winning:
// EnvToken, then EnvTokenKey (the variable of the key path telemetry.token).
const (
	EnvToken    = "CAMPUSGUARD_INFLUX_TOKEN"
	EnvTokenKey = "CAMPUSGUARD_TELEMETRY_TOKEN"
)

// Defaults.
const (
	DefaultBatchSize     = 5000
	DefaultFlushInterval = time.Second
	DefaultTimeout       = 10 * time.Second
	DefaultSpoolMaxBytes = 256 << 20
	DefaultDrainRate     = 20 // batches per second
	DefaultPrefix        = "cg_"
	// DefaultQueueBatches is how many full batches may wait for the writer before
	// further ones go straight to the spool.
	DefaultQueueBatches = 4
)

// Config is the "telemetry" section of the config.
type Config struct {
	// Enabled turns the forwarder on.
	Enabled bool `mapstructure:"enabled"`
	// URL of InfluxDB: http(s)://host:8086.
	URL string `mapstructure:"url"`
	// Org is the InfluxDB 2.x organisation (ignored by 1.8).
	Org string `mapstructure:"org"`
	// Bucket is the 2.x bucket, or "db/retention" (or "db") for 1.8.
	Bucket string `mapstructure:"bucket"`
	// Token is the API token; "user:password" for 1.8 (any string when auth is off).
	// Prefer TokenFile or $CAMPUSGUARD_INFLUX_TOKEN (which wins over both).
	Token secret.Value `mapstructure:"token"`
	// TokenFile holds the token (trailing newline removed).
	TokenFile string `mapstructure:"token_file"`
	// TLS is for an https URL: ca_file (default: the system's roots), cert_file and
	// key_file (a client certificate), insecure_skip_verify (test installations only).
	TLS secret.TLSClient `mapstructure:",squash"`
	// BatchSize is the number of points per write (default 5000).
	BatchSize int `mapstructure:"batch_size"`
	// FlushInterval is the longest a point waits for its batch to fill (default 1s).
	FlushInterval time.Duration `mapstructure:"flush_interval"`
	// Timeout bounds one write request (default 10s).
	Timeout time.Duration `mapstructure:"timeout"`
	// SpoolDir holds batches InfluxDB could not take (default <state dir>/spool).
	SpoolDir string `mapstructure:"spool_dir"`
	// SpoolMaxBytes bounds the spool on disk (default 256 MiB).
	SpoolMaxBytes int64 `mapstructure:"spool_max_bytes"`
	// DrainRate is how many spooled batches per second are sent after recovery
	// (default 20), beside the live data.
	DrainRate float64 `mapstructure:"drain_rate"`
	// MeasurementPrefix is put before every measurement name (default "cg_").
	MeasurementPrefix string `mapstructure:"measurement_prefix"`
	// GZip compresses write requests (worth it over slow links; costs CPU).
	GZip bool `mapstructure:"gzip"`
}

// SetDefaults fills unset values; the spool goes under env.StateDir.
func (c *Config) SetDefaults(env cfgerr.Env) {
	if c.BatchSize == 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.FlushInterval == 0 {
		c.FlushInterval = DefaultFlushInterval
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.SpoolDir == "" && env.StateDir != "" {
		c.SpoolDir = filepath.Join(env.StateDir, "spool")
	}
	if c.SpoolMaxBytes == 0 {
		c.SpoolMaxBytes = DefaultSpoolMaxBytes
	}
	if c.DrainRate == 0 {
		c.DrainRate = DefaultDrainRate
	}
	if c.MeasurementPrefix == "" {
		c.MeasurementPrefix = DefaultPrefix
	}
}

// Validate records every problem, with keys relative to the telemetry section. A
// disabled section is not checked beyond its shape. It reads no file and no variable:
// Resolve does, after it.
func (c *Config) Validate(errs *cfgerr.List) {
	if c.BatchSize < 0 || c.BatchSize > 100_000 {
		errs.Add("batch_size", "%d is outside 1..100000", c.BatchSize)
	}
	if c.FlushInterval < 0 {
		errs.Add("flush_interval", "must be positive")
	}
	if c.Timeout < 0 {
		errs.Add("timeout", "must be positive")
	}
	if c.DrainRate < 0 {
		errs.Add("drain_rate", "must be positive (batches per second)")
	}
	if c.SpoolMaxBytes < 0 || (c.SpoolMaxBytes > 0 && c.SpoolMaxBytes < 1<<20) {
		errs.Add("spool_max_bytes", "%d is below the minimum of 1 MiB (1048576)", c.SpoolMaxBytes)
	}
	for _, r := range c.MeasurementPrefix {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-') {
			errs.Add("measurement_prefix", "%q: use letters, digits, _ . - only", c.MeasurementPrefix)
			break
		}
	}
	if !c.Enabled {
		return
	}
	if c.URL == "" {
		errs.Add("url", "is required (http://host:8086)")
	} else if u, err := url.Parse(c.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs.Add("url", "%q is not an http:// or https:// URL", c.URL)
	} else if u.Scheme == "http" && c.TLS.Configured() {
		errs.Add("ca_file", "TLS settings given for a plain http URL")
	}
	if c.Bucket == "" {
		errs.Add("bucket", "is required (InfluxDB 2.x bucket, or db/retention for 1.8)")
	}
	c.Token.Validate(errs, c.tokenSources())
	if c.SpoolDir == "" {
		errs.Add("spool_dir", "is required (default <state dir>/spool)")
	}
	c.TLS.Validate(errs)
}

func (c *Config) tokenSources() secret.Sources {
	return secret.Sources{Key: "token", File: c.TokenFile, Override: []string{EnvToken, EnvTokenKey}}
}

// Resolve sets Token ($CAMPUSGUARD_INFLUX_TOKEN or $CAMPUSGUARD_TELEMETRY_TOKEN when
// set, else the content of token_file, else token) and checks the TLS files, after
// Validate. A disabled section reads nothing.
func (c *Config) Resolve(errs *cfgerr.List, l secret.Lookup) {
	if !c.Enabled {
		return
	}
	c.Token.Resolve(errs, c.tokenSources(), l)
	c.TLS.Resolve(errs, l)
}
