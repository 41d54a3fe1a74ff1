package policelink

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/alerting/policelink/dc09"
	"github.com/campusguard/campusguard/cfgerr"
	"github.com/campusguard/campusguard/event"
	"github.com/campusguard/campusguard/secret"
	"github.com/campusguard/campusguard/site"
)

// Protocols: the DC-09 payload format.
const (
	ProtocolCID = "ADM-CID" // Contact ID
	ProtocolSIA = "SIA-DCS" // SIA DC-03
)

// KeyEnv is the environment variable that overrides the configured key (see
// Config.Resolve).
const KeyEnv = "CAMPUSGUARD_POLICELINK_KEY"

// Defaults applied by SetDefaults.
const (
	DefaultName              = "police"
	DefaultReceiver          = "0"
	DefaultLine              = "0"
	DefaultTimeout           = 5 * time.Second
	DefaultNAKRetries        = 3
	DefaultSupervisionMain   = 90 * time.Second
	DefaultSupervisionBackup = 10 * time.Minute
	DefaultProbeMain         = 15 * time.Second
	DefaultRetry             = 30 * time.Second
	DefaultTestInterval      = 24 * time.Hour
	DefaultTestCode          = 601 // manual trigger test
	DefaultTestSIA           = "RX"
	DefaultPeriodicCode      = 602 // periodic test
	DefaultPeriodicSIA       = "RP"
	DefaultPathFailCode      = 350 // communication trouble
)

// Supervision limits: panels allow 10 s..1 h for the link test; EN 50136's lowest
// single-path category notices a failed path within 25 h.
const (
	MinSupervision = 10 * time.Second
	MaxSupervision = 25 * time.Hour
)

// Config is the police link sink (section `policelink`).
type Config struct {
	Enabled bool   `mapstructure:"enabled"`
	Name    string `mapstructure:"name"` // sink name for routes, metrics and health (default "police")
	// Account is the school's account at the receiving centre: 3..16 hex digits,
	// upper case (SetDefaults normalises it: receivers match accounts in upper case).
	Account  string `mapstructure:"account"`
	Protocol string `mapstructure:"protocol"` // ADM-CID (default) or SIA-DCS
	Receiver string `mapstructure:"receiver"` // R: receiver number, 1..6 hex (default "0")
	Line     string `mapstructure:"line"`     // L: line prefix, 1..6 hex (default "0")
	// Key encrypts the link (AES-128/192/256). Give at most one of key and key_file;
	// env CAMPUSGUARD_POLICELINK_KEY overrides both. No key: clear text.
	Key         secret.Value `mapstructure:"key"`
	KeyFile     string       `mapstructure:"key_file"`
	KeyEncoding string       `mapstructure:"key_encoding"` // hex (default) or ascii
	Transport   string       `mapstructure:"transport"`    // tcp (default) or udp
	// Timeout bounds one attempt on one receiver: connect, send, answer (default 5s).
	Timeout time.Duration `mapstructure:"timeout"`
	// NAKRetries caps the resends after a NAK (clock correction) on one receiver (default 3).
	NAKRetries int `mapstructure:"nak_retries"`
	// OmitTimeBlock leaves out the [H..] time-of-occurrence block, for receivers that
	// refuse extended blocks with ADM-CID.
	OmitTimeBlock bool `mapstructure:"omit_time_block"`

	Main        Path        `mapstructure:"main"`
	Backup      *Path       `mapstructure:"backup"`
	Supervision Supervision `mapstructure:"supervision"`
	// PeriodicTest sends the periodic test report (CID 602, SIA RP).
	PeriodicTest PeriodicTest `mapstructure:"periodic_test"`
	// Test is the report for alarms raised in test mode (CID 601, SIA RX by default).
	Test Code `mapstructure:"test"`
	// PathFail is the report of a failed or restored path (CID 350, SIA YC/YK by default).
	PathFail Code `mapstructure:"path_fail"`
	// Mappings choose which alarms are reported and how; the first match wins. An alarm
	// routed to this sink that no mapping matches is rejected (and shown to staff).
	Mappings []Mapping `mapstructure:"mappings"`

	// accountAsTyped is Account before SetDefaults upper-cased it (for Notes).
	accountAsTyped string
}

// Path is one transmission path: a primary and an optional secondary receiver.
type Path struct {
	Primary   string `mapstructure:"primary"`   // host:port
	Secondary string `mapstructure:"secondary"` // host:port, optional
}

// Supervision sets the link-test (NULL message) intervals. Any other message on a
// path restarts its timer.
type Supervision struct {
	Main   time.Duration `mapstructure:"main"`   // default 90s
	Backup time.Duration `mapstructure:"backup"` // default 10m; the main interval while main is down
	// ProbeMain is how often the main path is probed while it is down (default 15s),
	// so that reports go back to it soon after it returns.
	ProbeMain time.Duration `mapstructure:"probe_main"`
	// Retry is the delay before a link report (path failure, periodic test) that found
	// no path is tried again (default 30s).
	Retry time.Duration `mapstructure:"retry"`
}

// PeriodicTest schedules the periodic test report.
type PeriodicTest struct {
	Disabled bool          `mapstructure:"disabled"`
	Interval time.Duration `mapstructure:"interval"` // default 24h
	At       string        `mapstructure:"at"`       // "HH:MM" site time of the first report; "" = Interval after start
	Code     int           `mapstructure:"code"`     // default 602
	SIA      string        `mapstructure:"sia"`      // default "RP"
}

// Code is a Contact ID event code with its SIA DC-03 equivalents.
type Code struct {
	Code       int    `mapstructure:"code"`
	SIA        string `mapstructure:"sia"`         // SIA code of the event (qualifier 1)
	SIARestore string `mapstructure:"sia_restore"` // SIA code of its restore (qualifier 3)
}

// Mapping says how alarms matching Match are reported.
type Mapping struct {
	Match Match `mapstructure:"match"`
	// Code is the Contact ID event code (e.g. 120 panic); SIA / SIARestore the SIA
	// DC-03 codes (derived from Code when empty, e.g. PA / PH).
	Code       int    `mapstructure:"code"`
	SIA        string `mapstructure:"sia"`
	SIARestore string `mapstructure:"sia_restore"`
	// Area (partition, 0..99) and Zone (zone or user number, 1..999); 0 takes the
	// number from the device or zone config (site.Site.PoliceZone).
	Area int `mapstructure:"area"`
	Zone int `mapstructure:"zone"`
	// Restore sends qualifier 3 when the alarm resolves.
	Restore bool `mapstructure:"restore"`
}

// Match selects alarms; every field that is set must match, an empty Match matches
// every alarm. Class (what happened: panic, tamper, fault...) is the field to map
// by: a panic button's cut cable is a tamper of a panic device, not a panic.
type Match struct {
	Class    alerting.Class    `mapstructure:"class"` // alarm class (alerting.Class)
	Rule     string            `mapstructure:"rule"`
	Kind     event.Kind        `mapstructure:"kind"` // device kind (kept for older configs; prefer class)
	Device   string            `mapstructure:"device"`
	Zone     string            `mapstructure:"zone"`
	Severity alerting.Severity `mapstructure:"severity"`
	Labels   map[string]string `mapstructure:"labels"`
}

// Matches reports whether a is selected.
func (m *Match) Matches(a *alerting.Alarm) bool {
	switch {
	case m.Class != "" && m.Class != a.Class,
		m.Rule != "" && m.Rule != a.Rule,
		m.Kind != "" && m.Kind != a.DeviceKind,
		m.Device != "" && m.Device != a.DeviceID,
		m.Zone != "" && m.Zone != a.Zone,
		m.Severity != "" && m.Severity != a.Severity:
		return false
	}
	for k, v := range m.Labels {
		if a.Labels[k] != v {
			return false
		}
	}
	return true
}

// SetDefaults fills unset values; it needs nothing from env.
func (c *Config) SetDefaults(cfgerr.Env) {
	if c.Name == "" {
		c.Name = DefaultName
	}
	if c.accountAsTyped == "" {
		c.accountAsTyped = c.Account
	}
	c.Account = strings.ToUpper(c.Account)
	if c.Protocol == "" {
		c.Protocol = ProtocolCID
	}
	if c.Receiver == "" {
		c.Receiver = DefaultReceiver
	}
	if c.Line == "" {
		c.Line = DefaultLine
	}
	if c.KeyEncoding == "" {
		c.KeyEncoding = "hex"
	}
	if c.Transport == "" {
		c.Transport = "tcp"
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.NAKRetries == 0 {
		c.NAKRetries = DefaultNAKRetries
	}
	if c.Supervision.Main == 0 {
		c.Supervision.Main = DefaultSupervisionMain
	}
	if c.Supervision.Backup == 0 {
		c.Supervision.Backup = DefaultSupervisionBackup
	}
	if c.Supervision.ProbeMain == 0 {
		c.Supervision.ProbeMain = min(DefaultProbeMain, c.Supervision.Main)
	}
	if c.Supervision.Retry == 0 {
		c.Supervision.Retry = DefaultRetry
	}
	if c.PeriodicTest.Interval == 0 {
		c.PeriodicTest.Interval = DefaultTestInterval
	}
	if c.PeriodicTest.Code == 0 {
		c.PeriodicTest.Code = DefaultPeriodicCode
	}
	if c.PeriodicTest.SIA == "" {
		c.PeriodicTest.SIA = DefaultPeriodicSIA
	}
	if c.Test.Code == 0 {
		c.Test.Code = DefaultTestCode
	}
	if c.Test.SIA == "" {
		c.Test.SIA = DefaultTestSIA
	}
	if c.PathFail.Code == 0 {
		c.PathFail.Code = DefaultPathFailCode
	}
	fillSIA(&c.PathFail.SIA, &c.PathFail.SIARestore, c.PathFail.Code)
	for i := range c.Mappings {
		m := &c.Mappings[i]
		fillSIA(&m.SIA, &m.SIARestore, m.Code)
	}
}

// fillSIA derives empty SIA codes from the Contact ID table.
func fillSIA(sia, restore *string, code int) {
	if *sia == "" {
		*sia, _ = dc09.SIACode(dc09.CID{Qualifier: dc09.QualifierNew, Code: code})
	}
	if *restore == "" {
		*restore, _ = dc09.SIACode(dc09.CID{Qualifier: dc09.QualifierRestore, Code: code})
	}
}

func (c *Config) keySources() secret.Sources {
	return secret.Sources{Key: "key", File: c.KeyFile, Override: []string{KeyEnv}}
}

// Resolve reads the key (KeyEnv when set, else key_file, else key) and checks a key
// read from a file or the environment as Validate checks a key given inline. Keys are
// relative to this section. A disabled link reads nothing.
func (c *Config) Resolve(errs *cfgerr.List, l secret.Lookup) {
	if !c.Enabled {
		return
	}
	given := c.Key
	c.Key.Resolve(errs, c.keySources(), l)
	if c.Key == given || c.Key.IsZero() {
		return
	}
	key := "key"
	if c.KeyFile != "" {
		key = "key_file"
	}
	if _, err := dc09.ParseKeyEncoding(c.KeyEncoding); err != nil {
		return // Validate reported it
	}
	if _, err := c.ParseKey(); err != nil {
		errs.Add(key, "%v%s", err, keyFix(c.Key.Reveal(), c.KeyEncoding)) // dc09 errors never quote the key
	}
}

// Encrypted reports whether the link is encrypted (a key or key file is set).
func (c *Config) Encrypted() bool { return !c.Key.IsZero() || c.KeyFile != "" }

// errKeyNotRead is ParseKey's error for a key_file Resolve has not read.
var errKeyNotRead = errors.New("key_file is not read yet (Config.Resolve reads it)")

// ParseKey returns the AES key (nil for a clear link). A key_file must have been read
// by Resolve. Its errors never contain the key.
func (c *Config) ParseKey() (*dc09.Key, error) {
	if !c.Encrypted() {
		return nil, nil
	}
	if c.Key.IsZero() {
		return nil, errKeyNotRead
	}
	enc, err := dc09.ParseKeyEncoding(c.KeyEncoding)
	if err != nil {
		return nil, err
	}
	return dc09.ParseKey(c.Key.Reveal(), enc)
}

// Validate records every problem; keys are relative to this section. A disabled
// link is not checked. It reads no file and no variable: Resolve does, after it.
func (c *Config) Validate(errs *cfgerr.List) {
	if !c.Enabled {
		return
	}
	if !site.ValidID(c.Name) {
		errs.Add("name", "%q is not a valid sink name (letters, digits, _ . - only)", c.Name)
	}
	if !isHex(c.Account, 3, dc09.MaxAccount) {
		errs.Add("account", "%q must be 3..16 hex digits", c.Account)
	}
	if c.Protocol != ProtocolCID && c.Protocol != ProtocolSIA {
		errs.Add("protocol", "%q is not %s or %s", c.Protocol, ProtocolCID, ProtocolSIA)
	}
	if !isHex(c.Receiver, 1, dc09.MaxPrefix) {
		errs.Add("receiver", "%q must be 1..6 hex digits", c.Receiver)
	}
	if !isHex(c.Line, 1, dc09.MaxPrefix) {
		errs.Add("line", "%q must be 1..6 hex digits", c.Line)
	}
	c.Key.Validate(errs, c.keySources())
	if _, err := dc09.ParseKeyEncoding(c.KeyEncoding); err != nil {
		errs.Add("key_encoding", "%q is not hex or ascii", c.KeyEncoding)
	} else if !c.Key.IsZero() {
		// A key from key_file or the environment is checked by Resolve, once read.
		if _, err := c.ParseKey(); err != nil {
			errs.Add("key", "%v%s", err, keyFix(c.Key.Reveal(), c.KeyEncoding)) // dc09 errors never quote the key
		}
	}
	if c.Transport != "tcp" && c.Transport != "udp" {
		errs.Add("transport", "%q is not tcp or udp", c.Transport)
	}
	if c.Timeout <= 0 {
		errs.Add("timeout", "must be positive")
	}
	if c.NAKRetries < 0 || c.NAKRetries > 10 {
		errs.Add("nak_retries", "%d outside 0..10", c.NAKRetries)
	}
	c.Main.validate("main", true, errs)
	if c.Backup != nil {
		c.Backup.validate("backup", true, errs)
	}
	for _, s := range []struct {
		key string
		d   time.Duration
	}{{"supervision.main", c.Supervision.Main}, {"supervision.backup", c.Supervision.Backup}} {
		if s.d < MinSupervision || s.d > MaxSupervision {
			errs.Add(s.key, "%s outside %s..%s", s.d, MinSupervision, MaxSupervision)
		}
	}
	if c.Supervision.ProbeMain < time.Second || c.Supervision.ProbeMain > c.Supervision.Main {
		errs.Add("supervision.probe_main", "%s outside 1s..supervision.main (%s)", c.Supervision.ProbeMain, c.Supervision.Main)
	}
	if c.Supervision.Retry <= 0 {
		errs.Add("supervision.retry", "must be positive")
	}
	if !c.PeriodicTest.Disabled {
		if c.PeriodicTest.Interval < time.Minute {
			errs.Add("periodic_test.interval", "%s is shorter than 1m", c.PeriodicTest.Interval)
		}
		if c.PeriodicTest.At != "" {
			if _, err := time.Parse("15:04", c.PeriodicTest.At); err != nil {
				errs.Add("periodic_test.at", "%q is not HH:MM", c.PeriodicTest.At)
			}
		}
		c.validateCode("periodic_test", c.PeriodicTest.Code, c.PeriodicTest.SIA, "", false, errs)
	}
	c.validateCode("test", c.Test.Code, c.Test.SIA, "", false, errs)
	c.validateCode("path_fail", c.PathFail.Code, c.PathFail.SIA, c.PathFail.SIARestore, true, errs)
	for i := range c.Mappings {
		m := &c.Mappings[i]
		key := cfgerr.Index("mappings", i)
		c.validateCode(key, m.Code, m.SIA, m.SIARestore, m.Restore, errs)
		if m.Area < 0 || m.Area > 99 {
			errs.Add(key+".area", "%d outside 0..99", m.Area)
		}
		if m.Zone < 0 || m.Zone > 999 {
			errs.Add(key+".zone", "%d outside 0..999", m.Zone)
		}
		if m.Match.Class != "" && !m.Match.Class.Valid() {
			errs.Add(key+".match.class", "unknown alarm class %q (%s)", m.Match.Class, classList())
		}
		if m.Match.Kind != "" && !m.Match.Kind.Valid() {
			errs.Add(key+".match.kind", "unknown device kind %q", m.Match.Kind)
		}
		if m.Match.Severity != "" && !m.Match.Severity.Valid() {
			errs.Add(key+".match.severity", "unknown severity %q", m.Match.Severity)
		}
	}
	c.validateShadowed(errs)
}

// validateCode checks the code of one report for the configured protocol.
func (c *Config) validateCode(key string, code int, sia, siaRestore string, restore bool, errs *cfgerr.List) {
	if c.Protocol == ProtocolSIA {
		if !siaCodeOK(sia) {
			errs.Add(cfgerr.Join(key, "sia"), "%q is not a two-letter SIA code (set sia, or a code whose SIA equivalent is known)", sia)
		}
		if restore && !siaCodeOK(siaRestore) {
			errs.Add(cfgerr.Join(key, "sia_restore"), "%q is not a two-letter SIA code (set sia_restore, or restore: false)", siaRestore)
		}
		if code < 0 || code > 999 {
			errs.Add(cfgerr.Join(key, "code"), "%d outside 0..999", code)
		}
		return
	}
	if code < 1 || code > 999 {
		errs.Add(cfgerr.Join(key, "code"), "Contact ID event code %d outside 1..999", code)
	}
	if sia != "" && !siaCodeOK(sia) {
		errs.Add(cfgerr.Join(key, "sia"), "%q is not a two-letter SIA code", sia)
	}
}

func (p *Path) validate(key string, required bool, errs *cfgerr.List) {
	if p.Primary == "" && required {
		errs.Add(key+".primary", "is required (host:port)")
	} else if p.Primary != "" && !hostPortOK(p.Primary) {
		errs.Add(key+".primary", "%q is not host:port", p.Primary)
	}
	if p.Secondary != "" && !hostPortOK(p.Secondary) {
		errs.Add(key+".secondary", "%q is not host:port", p.Secondary)
	}
}

func hostPortOK(s string) bool {
	h, p, err := net.SplitHostPort(s)
	if err != nil || h == "" {
		return false
	}
	n, err := strconv.Atoi(p)
	return err == nil && n > 0 && n < 65536
}

func siaCodeOK(s string) bool {
	return len(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z'
}

func isHex(s string, minLen, maxLen int) bool {
	if len(s) < minLen || len(s) > maxLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'A' <= c && c <= 'F' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// String describes the config without the key.
func (c Config) String() string {
	backup := "none"
	if c.Backup != nil {
		backup = c.Backup.Primary + "," + c.Backup.Secondary
	}
	return fmt.Sprintf("policelink %s account=%s %s/%s main=%s,%s backup=%s encrypted=%v",
		c.Name, c.Account, c.Protocol, c.Transport, c.Main.Primary, c.Main.Secondary, backup, c.Encrypted())
}

// LogValue implements slog.LogValuer: the config without the key.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }
