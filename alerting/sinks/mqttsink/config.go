package mqttsink

import (
	"net/url"
	"strings"
	"time"

	"github.com/campusguard/campusguard/cfgerr"
	"github.com/campusguard/campusguard/secret"
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

// Variables that, when set, win over the secrets the config gives (secret.Sources.Override).
const (
	EnvPassword  = "CAMPUSGUARD_SINKS_MQTT_CLIENT_PASSWORD"
	EnvAckSecret = "CAMPUSGUARD_SINKS_MQTT_ACK_SECRET"
)

// ClientConfig is the sink's own MQTT connection (the small paho client in this
// package); the daemon may give the sink a shared client instead.
type ClientConfig struct {
	URL      string `mapstructure:"url"` // tcp://host:1883, mqtts://host:8883, ws://...
	ClientID string `mapstructure:"client_id"`
	Username string `mapstructure:"username"`
	// Password, or PasswordFile; $CAMPUSGUARD_SINKS_MQTT_CLIENT_PASSWORD wins over both.
	Password       secret.Value  `mapstructure:"password"`
	PasswordFile   string        `mapstructure:"password_file"`
	KeepAlive      time.Duration `mapstructure:"keepalive"`
	ConnectTimeout time.Duration `mapstructure:"connect_timeout"`
	// TLS is used with an mqtts:// or ssl:// URL (insecure_skip_verify: tests only).
	TLS secret.TLSClient `mapstructure:"tls"`
}

func (c *ClientConfig) passwordSources() secret.Sources {
	return secret.Sources{Key: "client.password", File: c.PasswordFile, Override: []string{EnvPassword}}
}

// AckConfig is the acknowledge command topic.
type AckConfig struct {
	Enabled bool   `mapstructure:"enabled"`
	Auth    string `mapstructure:"auth"` // hmac (default) or acl
	// The shared secret for hmac: at most one of secret, secret_file, secret_env;
	// $CAMPUSGUARD_SINKS_MQTT_ACK_SECRET wins over them.
	Secret     secret.Value `mapstructure:"secret"`
	SecretFile string       `mapstructure:"secret_file"`
	SecretEnv  string       `mapstructure:"secret_env"`
	// ReplayWindow: an ack whose ts is further than this from the gateway's clock is
	// rejected, and a message seen within it is not accepted twice (default 5m).
	ReplayWindow time.Duration `mapstructure:"replay_window"`
	Queue        int           `mapstructure:"queue"` // acks waiting for the acker (default 64)
}

// MinSecret is the shortest hmac secret accepted.
const MinSecret = 16

func (a *AckConfig) secretSources() secret.Sources {
	return secret.Sources{Key: "ack.secret", File: a.SecretFile, Env: a.SecretEnv, Override: []string{EnvAckSecret}}
}

// Config is the MQTT sink's section.
type Config struct {
	Name        string       `mapstructure:"name"`         // sink name; default "mqtt"
	TopicPrefix string       `mapstructure:"topic_prefix"` // e.g. campusguard/s01; required
	Client      ClientConfig `mapstructure:"client"`
	Ack         AckConfig    `mapstructure:"ack"`
}

// SetDefaults fills unset values; it needs nothing from env.
func (c *Config) SetDefaults(cfgerr.Env) {
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
// reads no file and no variable (Resolve does, after it). The client section is checked
// only when its url is set (the daemon may pass a shared client instead).
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
			src := a.secretSources()
			if !a.Secret.Given(src) || !a.Secret.IsZero() && len(a.Secret.Reveal()) < MinSecret {
				errs.Add("ack.secret", "is required for hmac auth, at least %d characters", MinSecret)
			}
			a.Secret.Validate(errs, src)
		case AuthACL:
		default:
			errs.Add("ack.auth", "unknown auth %q (want hmac or acl)", a.Auth)
		}
		if a.ReplayWindow <= 0 || a.ReplayWindow > MaxReplayWindow {
			errs.Add("ack.replay_window", "must be between 1s and %s", MaxReplayWindow)
		}
		if a.Queue < 1 {
			errs.Add("ack.queue", "must be at least 1")
		}
	}
}

// Resolve reads the client's password and the ack secret (each from its variable when
// set, else its file, its secret_env variable or the config) and checks the TLS files,
// after Validate. Keys are relative to the section.
func (c *Config) Resolve(errs *cfgerr.List, l secret.Lookup) {
	if c.Client.URL != "" {
		c.Client.Password.Resolve(errs, c.Client.passwordSources(), l)
		t := &cfgerr.List{}
		c.Client.TLS.Resolve(t, l)
		errs.Merge("client.tls", t)
	}
	if a := &c.Ack; a.Enabled && a.Auth == AuthHMAC {
		given := a.Secret
		a.Secret.Resolve(errs, a.secretSources(), l)
		if a.Secret != given && len(a.Secret.Reveal()) < MinSecret {
			errs.Add("ack.secret", "is required for hmac auth, at least %d characters", MinSecret)
		}
	}
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
	c.Password.Validate(errs, c.passwordSources())
	if c.KeepAlive < 0 {
		errs.Add(key+".keepalive", "must not be negative")
	}
	if c.ConnectTimeout < 0 {
		errs.Add(key+".connect_timeout", "must not be negative")
	}
	t := &cfgerr.List{}
	c.TLS.Validate(t)
	errs.Merge(key+".tls", t)
}
