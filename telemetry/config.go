package telemetry

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/campusguard/campusguard/cfgerr"
)

// EnvToken names the environment variable that overrides the configured token.
const EnvToken = "CAMPUSGUARD_INFLUX_TOKEN"

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
	// Prefer TokenFile or $CAMPUSGUARD_INFLUX_TOKEN.
	Token string `mapstructure:"token"`
	// TokenFile holds the token (surrounding white space ignored).
	TokenFile string `mapstructure:"token_file"`
	// CAFile is a PEM bundle of CAs to trust for an https URL (default: the system's).
	CAFile string `mapstructure:"ca_file"`
	// InsecureSkipVerify turns off certificate checks (test installations only).
	InsecureSkipVerify bool `mapstructure:"insecure_skip_verify"`
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

// SetDefaults fills unset values; stateDir is the daemon's state directory (the spool
// goes under it).
func (c *Config) SetDefaults(stateDir string) {
	if c.BatchSize == 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.FlushInterval == 0 {
		c.FlushInterval = DefaultFlushInterval
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.SpoolDir == "" && stateDir != "" {
		c.SpoolDir = filepath.Join(stateDir, "spool")
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
// disabled section is not checked beyond its shape.
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
	} else if u.Scheme == "http" && (c.CAFile != "" || c.InsecureSkipVerify) {
		errs.Add("ca_file", "TLS settings given for a plain http URL")
	}
	if c.Bucket == "" {
		errs.Add("bucket", "is required (InfluxDB 2.x bucket, or db/retention for 1.8)")
	}
	if c.Token != "" && c.TokenFile != "" {
		errs.Add("token_file", "give token or token_file, not both")
	}
	if c.SpoolDir == "" {
		errs.Add("spool_dir", "is required (default <state dir>/spool)")
	}
	if c.CAFile != "" {
		if _, err := os.Stat(c.CAFile); err != nil {
			errs.Add("ca_file", "%v", err)
		}
	}
}

// ResolveSecrets sets Token: $CAMPUSGUARD_INFLUX_TOKEN when set, else the content of
// TokenFile, else the configured Token.
func (c *Config) ResolveSecrets(getenv func(string) string) error {
	if getenv != nil {
		if t := getenv(EnvToken); t != "" {
			c.Token = t
			return nil
		}
	}
	if c.TokenFile != "" {
		b, err := os.ReadFile(c.TokenFile)
		if err != nil {
			return fmt.Errorf("telemetry token_file: %w", err)
		}
		c.Token = strings.TrimSpace(string(b))
		if c.Token == "" {
			return fmt.Errorf("telemetry token_file %s: empty", c.TokenFile)
		}
	}
	return nil
}
