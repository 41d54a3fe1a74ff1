package mqttsink

import (
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/campusguard/campusguard/cfgerr"
	"github.com/campusguard/campusguard/site"
)

// Defaults applied by SetDefaults.
const (
	DefaultName           = "mqtt"
	DefaultClientID       = "campusguard-alerts"
	DefaultKeepAlive      = 30 * time.Second
	DefaultConnectTimeout = 10 * time.Second
	DefaultReplayWindow   = 5 * time.Minute
	DefaultAckQueue       = 64
	// MaxReplayWindow bounds replay_window: a long window makes a stolen message useful.
	MaxReplayWindow = time.Hour
)

// Ack authentication modes.
const (
	AuthHMAC = "hmac" // ack messages carry an HMAC-SHA256 signature with a shared secret
	AuthACL  = "acl"  // the broker's topic ACL authenticates: <prefix>/ack/<user>, by = <user>
)

// TLSConfig is the client's TLS (used with an mqtts:// or ssl:// URL).
type TLSConfig struct {
	CAFile             string `mapstructure:"ca_file"`
	CertFile           string `mapstructure:"cert_file"` // client certificate (with key_file)
	KeyFile            string `mapstructure:"key_file"`
	InsecureSkipVerify bool   `mapstructure:"insecure_skip_verify"` // tests only
}

// ClientConfig is the sink's own MQTT connection (the small paho client in this
// package); the daemon may give the sink a shared client instead.
type ClientConfig struct {
	URL            string        `mapstructure:"url"` // tcp://host:1883, mqtts://host:8883, ws://...
	ClientID       string        `mapstructure:"client_id"`
	Username       string        `mapstructure:"username"`
	Password       string        `mapstructure:"password"`
	PasswordFile   string        `mapstructure:"password_file"`
	KeepAlive      time.Duration `mapstructure:"keepalive"`
	ConnectTimeout time.Duration `mapstructure:"connect_timeout"`
	TLS            TLSConfig     `mapstructure:"tls"`
}

// AckConfig is the acknowledge command topic.
type AckConfig struct {
	Enabled bool   `mapstructure:"enabled"`
	Auth    string `mapstructure:"auth"` // hmac (default) or acl
	// The shared secret for hmac: at most one of secret, secret_file, secret_env.
	Secret     string `mapstructure:"secret"`
	SecretFile string `mapstructure:"secret_file"`
	SecretEnv  string `mapstructure:"secret_env"`
	// ReplayWindow: an ack whose ts is further than this from the gateway's clock is
	// rejected, and a message seen within it is not accepted twice (default 5m).
	ReplayWindow time.Duration `mapstructure:"replay_window"`
	Queue        int           `mapstructure:"queue"` // acks waiting for the acker (default 64)
}

// Config is the MQTT sink's section.
type Config struct {
	Name        string       `mapstructure:"name"`         // sink name; default "mqtt"
	TopicPrefix string       `mapstructure:"topic_prefix"` // e.g. campusguard/s01; required
	Client      ClientConfig `mapstructure:"client"`
	Ack         AckConfig    `mapstructure:"ack"`
}

// SetDefaults fills unset values.
func (c *Config) SetDefaults() {
	if c.Name == "" {
		c.Name = DefaultName
	}
	c.TopicPrefix = strings.TrimSuffix(c.TopicPrefix, "/")
	if c.Client.ClientID == "" {
		c.Client.ClientID = DefaultClientID
	}
	if c.Client.KeepAlive == 0 {
		c.Client.KeepAlive = DefaultKeepAlive
	}
	if c.Client.ConnectTimeout == 0 {
		c.Client.ConnectTimeout = DefaultConnectTimeout
	}
	if c.Ack.Auth == "" {
		c.Ack.Auth = AuthHMAC
	}
	if c.Ack.ReplayWindow == 0 {
		c.Ack.ReplayWindow = DefaultReplayWindow
	}
	if c.Ack.Queue == 0 {
		c.Ack.Queue = DefaultAckQueue
	}
}

// Validate records every problem; keys are relative to the MQTT sink's section. It
// reads the secret and password files it names. The client section is checked only
// when its url is set (the daemon may pass a shared client instead).
func (c *Config) Validate(errs *cfgerr.List) {
	if !site.ValidID(c.Name) {
		errs.Add("name", "%q is not a valid sink name (letters, digits, _ . - only)", c.Name)
	}
	switch {
	case c.TopicPrefix == "":
		errs.Add("topic_prefix", "is required (e.g. campusguard/s01)")
	case strings.ContainsAny(c.TopicPrefix, "+#\x00") || strings.HasPrefix(c.TopicPrefix, "/") || strings.Contains(c.TopicPrefix, "//"):
		errs.Add("topic_prefix", "%q is not a valid topic prefix (no wildcards, no empty levels)", c.TopicPrefix)
	}
	if c.Client.URL != "" {
		c.Client.validate(errs, "client")
	}
	if c.Ack.Enabled {
		a := &c.Ack
		switch a.Auth {
		case AuthHMAC:
			if s, err := a.LoadSecret(); err != nil {
				errs.Add(secretKey(a), "%v", err)
			} else if len(s) < 16 {
				errs.Add("ack.secret", "is required for hmac auth, at least 16 characters")
			}
		case AuthACL:
		default:
			errs.Add("ack.auth", "unknown auth %q (want hmac or acl)", a.Auth)
		}
		n := 0
		for _, s := range []string{a.Secret, a.SecretFile, a.SecretEnv} {
			if s != "" {
				n++
			}
		}
		if n > 1 {
			errs.Add("ack.secret", "give only one of secret, secret_file and secret_env")
		}
		if a.ReplayWindow <= 0 || a.ReplayWindow > MaxReplayWindow {
			errs.Add("ack.replay_window", "must be between 1s and %s", MaxReplayWindow)
		}
		if a.Queue < 1 {
			errs.Add("ack.queue", "must be at least 1")
		}
	}
}

func secretKey(a *AckConfig) string {
	switch {
	case a.SecretFile != "":
		return "ack.secret_file"
	case a.SecretEnv != "":
		return "ack.secret_env"
	}
	return "ack.secret"
}

func (c *ClientConfig) validate(errs *cfgerr.List, key string) {
	u, err := url.Parse(c.URL)
	if err != nil || u.Host == "" {
		errs.Add(key+".url", "%q is not a broker URL (tcp://host:1883)", c.URL)
	} else {
		switch u.Scheme {
		case "tcp", "mqtt", "ssl", "tls", "mqtts", "tcps", "ws", "wss":
		default:
			errs.Add(key+".url", "unknown scheme %q", u.Scheme)
		}
	}
	if c.Password != "" && c.PasswordFile != "" {
		errs.Add(key+".password", "give password or password_file, not both")
	}
	if c.PasswordFile != "" {
		if _, err := os.ReadFile(c.PasswordFile); err != nil {
			errs.Add(key+".password_file", "%v", err)
		}
	}
	if c.KeepAlive < 0 {
		errs.Add(key+".keepalive", "must not be negative")
	}
	if c.ConnectTimeout < 0 {
		errs.Add(key+".connect_timeout", "must not be negative")
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		errs.Add(key+".tls", "cert_file and key_file go together")
	}
	for _, kf := range [][2]string{{"ca_file", c.TLS.CAFile}, {"cert_file", c.TLS.CertFile}, {"key_file", c.TLS.KeyFile}} {
		if k, f := kf[0], kf[1]; f != "" {
			if _, err := os.Stat(f); err != nil {
				errs.Add(key+".tls."+k, "%v", err)
			}
		}
	}
}

// LoadSecret returns the ack secret from secret, secret_file or secret_env.
func (a *AckConfig) LoadSecret() (string, error) {
	switch {
	case a.SecretFile != "":
		b, err := os.ReadFile(a.SecretFile)
		if err != nil {
			return "", err
		}
		return strings.TrimSpace(string(b)), nil
	case a.SecretEnv != "":
		s := strings.TrimSpace(os.Getenv(a.SecretEnv))
		if s == "" {
			return "", fmt.Errorf("environment variable %s is not set", a.SecretEnv)
		}
		return s, nil
	}
	return a.Secret, nil
}
