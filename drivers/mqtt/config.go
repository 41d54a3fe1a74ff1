package mqtt

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/campusguard/campusguard/cfgerr"
	"github.com/campusguard/campusguard/drivers/mqtt/payload"
	"github.com/campusguard/campusguard/event"
	"github.com/campusguard/campusguard/secret"
	"github.com/campusguard/campusguard/site"
)

// Defaults applied by SetDefaults.
const (
	DefaultKeepAlive            = 30 * time.Second
	DefaultConnectTimeout       = 10 * time.Second
	DefaultMaxReconnectInterval = time.Minute
	DefaultQoS                  = 1
	DefaultMaxPayload           = 64 << 10 // bytes
	DefaultRate                 = 20       // events per second per device
	DefaultBurst                = 40
)

// Time formats of TimeConfig.Format.
const (
	TimeRFC3339 = payload.TimeRFC3339
	TimeUnix    = payload.TimeUnix
	TimeUnixMS  = payload.TimeUnixMS
	TimeNone    = payload.TimeNone
)

// Field types of FieldMap.Type ("" keeps the JSON type: string, float or bool).
const (
	FieldString = payload.FieldString
	FieldFloat  = payload.FieldFloat
	FieldInt    = payload.FieldInt
	FieldBool   = payload.FieldBool
)

// Config is the "mqtt" section: the brokers and the topic mappings.
type Config struct {
	Brokers  []BrokerConfig  `mapstructure:"brokers"`
	Mappings []MappingConfig `mapstructure:"mappings"`
}

// BrokerConfig is one broker connection.
type BrokerConfig struct {
	// Name identifies the broker in mappings, metrics and health.
	Name string `mapstructure:"name"`
	// URL is tcp://host:1883, ssl://host:8883 (also tls://, mqtts://), ws:// or wss://.
	URL string `mapstructure:"url"`
	// ClientID must be stable for the persistent session; default campusguard-<site>-<name>.
	ClientID string `mapstructure:"client_id"`
	Username string `mapstructure:"username"`
	// Password in clear; prefer PasswordFile or the variable EnvPasswordVar(Name)
	// (CAMPUSGUARD_MQTT_<NAME>_PASSWORD), which wins over both. Resolve reads them.
	Password secret.Value `mapstructure:"password"`
	// PasswordFile holds the password (trailing newline removed).
	PasswordFile string `mapstructure:"password_file"`
	// TLS is ca_file (default: the system's roots), cert_file and key_file (the client
	// certificate, both or neither) and insecure_skip_verify, beside url.
	TLS            secret.TLSClient `mapstructure:",squash"`
	KeepAlive      time.Duration    `mapstructure:"keep_alive"`
	ConnectTimeout time.Duration    `mapstructure:"connect_timeout"`
	// MaxReconnectInterval caps the reconnect back-off.
	MaxReconnectInterval time.Duration `mapstructure:"max_reconnect_interval"`
	// StoreDir holds paho's file store (messages in flight); default
	// <state>/mqtt/mqtt/<name>.
	StoreDir string `mapstructure:"store_dir"`
	// QoS of the subscriptions (0 or 1; default 1). A mapping may set its own.
	QoS *int `mapstructure:"qos"`
}

// MappingConfig maps the messages of one topic filter to events of one device kind.
type MappingConfig struct {
	// Name identifies the mapping in logs (and the rate-limit buckets).
	Name string `mapstructure:"name"`
	// Broker is the name of the broker to subscribe on.
	Broker string `mapstructure:"broker"`
	// Topic is a filter with + and # wildcards: school/+/kitchen/+/ai.
	Topic string `mapstructure:"topic"`
	// Kind is the device kind; every device this mapping resolves must have it.
	Kind event.Kind `mapstructure:"kind"`
	// QoS of this subscription (default: the broker's).
	QoS *int `mapstructure:"qos"`
	// DeviceID says where the device id is: a topic level or a payload field.
	DeviceID DeviceIDConfig `mapstructure:"device_id"`
	// Type says what the event type is.
	Type TypeConfig `mapstructure:"type"`
	// Time says where the device's timestamp is.
	Time TimeConfig `mapstructure:"time"`
	// Fields are copied from the payload into the event.
	Fields []FieldMap `mapstructure:"fields"`
	// Const are fields added to every event of this mapping.
	Const map[string]any `mapstructure:"const"`
	// Status makes this an online/offline (last will) topic: its events are "online"
	// or "offline" and Type, Time and Fields are not used.
	Status *StatusConfig `mapstructure:"status"`
	// MaxPayload is the largest payload accepted, in bytes (default 64 KiB).
	MaxPayload int `mapstructure:"max_payload"`
	// RateLimit is the per-device token bucket.
	RateLimit RateLimitConfig `mapstructure:"rate_limit"`
}

// The decoding parts of a mapping are the payload decoder's own types, keys and all.
type (
	// DeviceIDConfig locates the device id: exactly one of topic_level and field.
	DeviceIDConfig = payload.DeviceID
	// TypeConfig says what the event type is: const, or the value of field looked up
	// in map.
	TypeConfig = payload.Type
	// TimeConfig locates the device timestamp.
	TimeConfig = payload.Time
	// FieldMap copies one payload value into an event field.
	FieldMap = payload.Field
	// StatusConfig decodes an online/offline topic (often a device's last will).
	StatusConfig = payload.Status
)

// RateLimitConfig is a token bucket per device.
type RateLimitConfig struct {
	// Rate is the sustained events per second (default 20; negative: no limit).
	Rate float64 `mapstructure:"rate"`
	// Burst is the bucket size (default 2×Rate, at least 1).
	Burst int `mapstructure:"burst"`
}

// SetDefaults fills unset values. The site id and the state directory derive the
// client id (campusguard-<site>-<name>) and the store dir (<state>/mqtt/mqtt/<name>:
// where the stores of gateways in service already are).
func (c *Config) SetDefaults(env cfgerr.Env) {
	for i := range c.Brokers {
		b := &c.Brokers[i]
		if b.ClientID == "" {
			b.ClientID = "campusguard-" + env.SiteID + "-" + b.Name
		}
		if b.StoreDir == "" && env.StateDir != "" {
			b.StoreDir = filepath.Join(env.StateDir, "mqtt", "mqtt", b.Name)
		}
		if b.KeepAlive == 0 {
			b.KeepAlive = DefaultKeepAlive
		}
		if b.ConnectTimeout == 0 {
			b.ConnectTimeout = DefaultConnectTimeout
		}
		if b.MaxReconnectInterval == 0 {
			b.MaxReconnectInterval = DefaultMaxReconnectInterval
		}
		if b.QoS == nil {
			q := DefaultQoS
			b.QoS = &q
		}
	}
	for i := range c.Mappings {
		c.Mappings[i].SetDefaults()
	}
}

// SetDefaults fills the mapping's unset values.
func (m *MappingConfig) SetDefaults() {
	if m.MaxPayload == 0 {
		m.MaxPayload = DefaultMaxPayload
	}
	if m.Time.Format == "" {
		if m.Time.Field == "" {
			m.Time.Format = TimeNone
		} else {
			m.Time.Format = TimeRFC3339
		}
	}
	if m.RateLimit.Rate == 0 {
		m.RateLimit.Rate = DefaultRate
	}
	if m.RateLimit.Burst == 0 {
		m.RateLimit.Burst = max(1, int(2*m.RateLimit.Rate))
	}
	for i := range m.Fields {
		if m.Fields[i].Path == "" {
			m.Fields[i].Path = m.Fields[i].Name
		}
	}
	if m.Status != nil {
		if len(m.Status.Online) == 0 {
			m.Status.Online = []string{"online", "1", "true"}
		}
		if len(m.Status.Offline) == 0 {
			m.Status.Offline = []string{"offline", "0", "false"}
		}
	}
}

// EnvPasswordVar is the environment variable that overrides broker name's password:
// CAMPUSGUARD_MQTT_<NAME>_PASSWORD, the name upper-cased with every other character
// than letters and digits turned into '_'.
func EnvPasswordVar(name string) string {
	b := []byte(strings.ToUpper(name))
	for i, c := range b {
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			b[i] = '_'
		}
	}
	return "CAMPUSGUARD_MQTT_" + string(b) + "_PASSWORD"
}

// passwordSources says where broker b's password may come from besides password:.
func (b *BrokerConfig) passwordSources(key string) secret.Sources {
	return secret.Sources{Key: key + ".password", File: b.PasswordFile, Override: []string{EnvPasswordVar(b.Name)}}
}

// Resolve reads each broker's password (EnvPasswordVar(name) when set, else
// password_file, else password) and checks its TLS files, after Validate. Keys are
// relative to the mqtt section.
func (c *Config) Resolve(errs *cfgerr.List, l secret.Lookup) {
	for i := range c.Brokers {
		b := &c.Brokers[i]
		key := cfgerr.Index("brokers", i)
		b.Password.Resolve(errs, b.passwordSources(key), l)
		if !b.Password.IsZero() && b.Username == "" {
			errs.Add(key+".username", "is required with a password")
		}
		t := &cfgerr.List{}
		b.TLS.Resolve(t, l)
		errs.Merge(key, t)
	}
}

// Validate records every problem; keys are relative to the mqtt section.
func (c *Config) Validate(errs *cfgerr.List) {
	names := map[string]bool{}
	ids := map[string]string{}
	for i := range c.Brokers {
		key := cfgerr.Index("brokers", i)
		b := &c.Brokers[i]
		b.Validate(key, errs)
		if names[b.Name] {
			errs.Add(key+".name", "broker %q is defined twice", b.Name)
		}
		names[b.Name] = true
		if b.ClientID != "" {
			if other, dup := ids[b.ClientID]; dup {
				errs.Add(key+".client_id", "client id %q is also used by broker %q", b.ClientID, other)
			}
			ids[b.ClientID] = b.Name
		}
	}
	mnames := map[string]bool{}
	for i := range c.Mappings {
		key := cfgerr.Index("mappings", i)
		m := &c.Mappings[i]
		m.Validate(key, errs)
		if m.Name != "" && mnames[m.Name] {
			errs.Add(key+".name", "mapping %q is defined twice", m.Name)
		}
		mnames[m.Name] = true
		if m.Broker == "" {
			errs.Add(key+".broker", "is required")
		} else if !names[m.Broker] {
			errs.Add(key+".broker", "unknown broker %q", m.Broker)
		}
	}
}

// ValidateDevices checks the site's devices against the mappings: every device with
// driver "mqtt" must have a kind some mapping produces. Keys are "devices[i]...".
func (c *Config) ValidateDevices(devs []site.Device, errs *cfgerr.List) {
	kinds := map[event.Kind]bool{}
	for _, m := range c.Mappings {
		kinds[m.Kind] = true
	}
	for i, d := range devs {
		if d.Driver == "mqtt" && !kinds[d.Kind] {
			errs.Add(cfgerr.Index("devices", i)+".kind", "device %q has driver mqtt but no mqtt mapping produces kind %q", d.ID, d.Kind)
		}
	}
}

// Validate records the broker's problems under key. It reads no file: Config.Resolve
// does, after it.
func (b *BrokerConfig) Validate(key string, errs *cfgerr.List) {
	if b.Name == "" {
		errs.Add(key+".name", "is required")
	} else if !site.ValidID(b.Name) {
		errs.Add(key+".name", "%q is not a valid name (letters, digits, _ . - only)", b.Name)
	}
	if b.URL == "" {
		errs.Add(key+".url", "is required (tcp://host:1883, ssl://host:8883, ws://host/mqtt)")
	} else if u, err := url.Parse(b.URL); err != nil {
		errs.Add(key+".url", "not a URL: %v", err)
	} else {
		switch u.Scheme {
		case "tcp", "mqtt", "ssl", "tls", "mqtts", "ws", "wss":
		default:
			errs.Add(key+".url", "scheme %q is not one of tcp, ssl, tls, mqtts, ws, wss", u.Scheme)
		}
		if u.Host == "" {
			errs.Add(key+".url", "has no host")
		}
	}
	if b.ClientID == "" {
		errs.Add(key+".client_id", "is required (a stable id keeps the persistent session)")
	} else if len(b.ClientID) > 65535 {
		errs.Add(key+".client_id", "is too long")
	}
	t := &cfgerr.List{}
	b.TLS.Validate(t)
	errs.Merge(key, t)
	b.Password.Validate(errs, b.passwordSources(key))
	if b.KeepAlive < 0 {
		errs.Add(key+".keep_alive", "must not be negative")
	}
	if b.ConnectTimeout < 0 {
		errs.Add(key+".connect_timeout", "must not be negative")
	}
	if b.MaxReconnectInterval < 0 {
		errs.Add(key+".max_reconnect_interval", "must not be negative")
	}
	if b.StoreDir == "" {
		errs.Add(key+".store_dir", "is required (a file store keeps QoS 1 messages in flight across restarts)")
	}
	if b.QoS != nil && (*b.QoS < 0 || *b.QoS > 1) {
		errs.Add(key+".qos", "must be 0 or 1, not %d", *b.QoS)
	}
}

// Validate records the mapping's problems under key (the broker reference is checked
// by Config.Validate).
func (m *MappingConfig) Validate(key string, errs *cfgerr.List) {
	if m.Name == "" {
		errs.Add(key+".name", "is required")
	}
	if err := validFilter(m.Topic); err != nil {
		errs.Add(key+".topic", "%v", err)
	}
	if !m.Kind.Valid() {
		errs.Add(key+".kind", "unknown device kind %q (want one of %v)", m.Kind, event.Kinds)
	}
	if m.QoS != nil && (*m.QoS < 0 || *m.QoS > 1) {
		errs.Add(key+".qos", "must be 0 or 1, not %d", *m.QoS)
	}
	m.validateDeviceID(key, errs)
	if m.Status != nil {
		m.validateStatus(key, errs)
	} else {
		m.validateType(key, errs)
	}
	m.validateTime(key, errs)
	names := m.validateFields(key, errs)
	for k, v := range m.Const {
		if _, err := event.Normalize(v); err != nil {
			errs.Add(key+".const."+k, "%v (want a string, number or bool)", err)
		}
		if names[k] {
			errs.Add(key+".const."+k, "is also a mapped field")
		}
	}
	if m.MaxPayload < 0 {
		errs.Add(key+".max_payload", "must not be negative")
	}
	if m.RateLimit.Rate > 0 && m.RateLimit.Burst < 1 {
		errs.Add(key+".rate_limit.burst", "must be at least 1")
	}
}

// validateDeviceID checks that the device id comes from exactly one of a topic
// level (one the topic filter fixes) or a payload field.
func (m *MappingConfig) validateDeviceID(key string, errs *cfgerr.List) {
	d := m.DeviceID
	switch {
	case d.TopicLevel == nil && d.Field == "":
		errs.Add(key+".device_id", "needs topic_level or field")
	case d.TopicLevel != nil && d.Field != "":
		errs.Add(key+".device_id", "topic_level and field exclude each other")
	case d.TopicLevel != nil && m.Topic != "":
		n := len(strings.Split(m.Topic, "/"))
		l := *d.TopicLevel
		if strings.HasSuffix(m.Topic, "#") {
			if l >= n-1 || l < 0 {
				errs.Add(key+".device_id.topic_level", "level %d is not a fixed level of %q", l, m.Topic)
			}
		} else if l >= n || l < -n {
			errs.Add(key+".device_id.topic_level", "level %d is outside the %d levels of %q", l, n, m.Topic)
		}
	case d.Field != "":
		validPath(key+".device_id.field", d.Field, errs)
	}
}

// validateStatus checks a status mapping: its field's path, and that no value
// is listed twice among the online and offline values (case and spaces aside).
func (m *MappingConfig) validateStatus(key string, errs *cfgerr.List) {
	if m.Status.Field != "" {
		validPath(key+".status.field", m.Status.Field, errs)
	}
	seen := map[string]bool{}
	for _, v := range append(append([]string(nil), m.Status.Online...), m.Status.Offline...) {
		l := strings.ToLower(strings.TrimSpace(v))
		if seen[l] {
			errs.Add(key+".status", "value %q is listed twice", v)
		}
		seen[l] = true
	}
}

// validateType checks that an event mapping takes its type from exactly one of
// a field or a constant.
func (m *MappingConfig) validateType(key string, errs *cfgerr.List) {
	t := m.Type
	switch {
	case t.Field == "" && t.Const == "":
		errs.Add(key+".type", "needs field or const")
	case t.Field != "" && t.Const != "":
		errs.Add(key+".type", "field and const exclude each other")
	case t.Field != "":
		validPath(key+".type.field", t.Field, errs)
	}
}

// validateTime checks the time format, and that a field is named exactly when
// the format reads one.
func (m *MappingConfig) validateTime(key string, errs *cfgerr.List) {
	switch m.Time.Format {
	case TimeRFC3339, TimeUnix, TimeUnixMS:
		if m.Time.Field == "" {
			errs.Add(key+".time.field", "is required with format %q", m.Time.Format)
		} else {
			validPath(key+".time.field", m.Time.Field, errs)
		}
	case TimeNone:
		if m.Time.Field != "" {
			errs.Add(key+".time.format", "is none but a field is named")
		}
	default:
		errs.Add(key+".time.format", "unknown format %q (want rfc3339, unix, unix_ms or none)", m.Time.Format)
	}
}

// validateFields checks the mapped fields and returns their names, which the
// constants may not repeat.
func (m *MappingConfig) validateFields(key string, errs *cfgerr.List) map[string]bool {
	names := map[string]bool{}
	for i, f := range m.Fields {
		fk := cfgerr.Index(key+".fields", i)
		if f.Name == "" {
			errs.Add(fk+".name", "is required")
		} else if names[f.Name] {
			errs.Add(fk+".name", "field %q is mapped twice", f.Name)
		}
		names[f.Name] = true
		if f.Path != "" {
			validPath(fk+".path", f.Path, errs)
		}
		switch f.Type {
		case "", FieldString, FieldFloat, FieldInt, FieldBool:
		default:
			errs.Add(fk+".type", "unknown type %q (want string, float, int or bool)", f.Type)
		}
		if len(f.Map) > 0 && f.Type != "" && f.Type != FieldString {
			errs.Add(fk+".map", "maps only string fields")
		}
	}
	return names
}

func validPath(key, p string, errs *cfgerr.List) {
	for _, part := range strings.Split(p, ".") {
		if part == "" {
			errs.Add(key, "path %q has an empty element", p)
			return
		}
	}
}

// String names the broker for logs and errors.
func (b *BrokerConfig) String() string { return fmt.Sprintf("%s (%s)", b.Name, b.URL) }
