// Package secret is how campusguard holds the secrets of its config (passwords, tokens,
// keys) and the TLS of the connections it makes.
//
// A secret (Value) is given in one of three ways, each under its own key beside the
// others: inline ("password: ..."), in a file (a "<key>_file" key; the file's trailing
// newline is trimmed) or in an environment variable named by a "<key>_env" key. A
// component may also name fixed variables that win over all three when set
// (Sources.Override, e.g. CAMPUSGUARD_POLICELINK_KEY). Validation checks only how a
// secret is given (Value.Validate, no I/O); Resolve reads it, once, after validation,
// and records a missing file, an empty file or an unset variable at the key that
// named it.
//
// A Value never prints: fmt (every verb), slog, encoding/json and encoding.TextMarshaler
// all show Redacted. Only Reveal gives the secret, to the code that uses it.
//
// TLSClient is the TLS of a connection the gateway dials (ca_file, cert_file, key_file,
// insecure_skip_verify): Validate checks it without I/O, Resolve checks its files,
// Config builds the *tls.Config.
//
// The package imports only the standard library and cfgerr, so every component's
// config can use it.
package secret

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"github.com/campusguard/campusguard/cfgerr"
)

// Redacted is what a set Value shows instead of the secret.
const Redacted = "[redacted]"

// Value is a secret. The config decodes its inline form into it (UnmarshalText);
// Resolve replaces that with the secret from a file or the environment. The zero Value
// is "not set". Values compare with ==.
type Value struct {
	s string
	// resolved marks a secret Resolve took from a file or a variable: Validate, run again
	// on a resolved config (a component's prepare), does not count it as given inline.
	resolved bool
}

// Inline returns a Value holding s, as if the config gave it inline.
func Inline(s string) Value { return Value{s: s} }

// Reveal returns the secret, for the code that hands it to a protocol.
func (v Value) Reveal() string { return v.s }

// IsZero reports whether no secret is set.
func (v Value) IsZero() bool { return v.s == "" }

// UnmarshalText implements encoding.TextUnmarshaler: the inline form in the config.
func (v *Value) UnmarshalText(b []byte) error {
	*v = Value{s: string(b)}
	return nil
}

// redacted is what v shows: "" when not set (so a missing secret is visible), else
// Redacted.
func (v Value) redacted() string {
	if v.s == "" {
		return ""
	}
	return Redacted
}

// String implements fmt.Stringer without the secret.
func (v Value) String() string { return v.redacted() }

// GoString implements fmt.GoStringer without the secret.
func (v Value) GoString() string { return "secret.Value(" + strconv.Quote(v.redacted()) + ")" }

// Format implements fmt.Formatter: every verb prints the redaction, %q quoted and
// %#v as GoString.
func (v Value) Format(f fmt.State, verb rune) {
	switch {
	case verb == 'v' && f.Flag('#'):
		fmt.Fprint(f, v.GoString())
	case verb == 'q':
		fmt.Fprint(f, strconv.Quote(v.redacted()))
	default:
		fmt.Fprint(f, v.redacted())
	}
}

// LogValue implements slog.LogValuer without the secret.
func (v Value) LogValue() slog.Value { return slog.StringValue(v.redacted()) }

// MarshalJSON implements json.Marshaler without the secret.
func (v Value) MarshalJSON() ([]byte, error) { return json.Marshal(v.redacted()) }

// MarshalText implements encoding.TextMarshaler (YAML, JSON map keys) without the
// secret.
func (v Value) MarshalText() ([]byte, error) { return []byte(v.redacted()), nil }

// Lookup is where secrets and files are read from: the process's environment and file
// system, unless a test gives its own.
type Lookup struct {
	Getenv   func(string) string          // nil: os.Getenv
	ReadFile func(string) ([]byte, error) // nil: os.ReadFile
}

// Read reads a file the config names (a certificate, a key) through l.
func (l Lookup) Read(path string) ([]byte, error) { return l.readFile(path) }

func (l Lookup) getenv(name string) string {
	if l.Getenv == nil {
		return os.Getenv(name)
	}
	return l.Getenv(name)
}

func (l Lookup) readFile(path string) ([]byte, error) {
	if l.ReadFile == nil {
		return os.ReadFile(path)
	}
	return l.ReadFile(path)
}

// Sources say where a secret may come from besides its inline value.
type Sources struct {
	// Key is the key of the inline value, relative to the section ("password",
	// "brokers[0].password"); the file is named by Key+"_file", the variable by
	// Key+"_env". Problems are recorded at these keys.
	Key string
	// File is the value of the _file key: a file holding the secret.
	File string
	// Env is the value of the _env key: a variable that must hold the secret.
	Env string
	// Override are variables that, when set, win over the inline value, the file and
	// Env (CAMPUSGUARD_POLICELINK_KEY); the first one set is taken.
	Override []string
}

// Validate records a secret given in more than one way at s.Key. It does no I/O.
func (v Value) Validate(errs *cfgerr.List, s Sources) {
	var given []string
	if v.s != "" && !v.resolved {
		given = append(given, s.Key)
	}
	if s.File != "" {
		given = append(given, s.Key+"_file")
	}
	if s.Env != "" {
		given = append(given, s.Key+"_env")
	}
	if len(given) > 1 {
		both := "all"
		if len(given) == 2 {
			both = "both"
		}
		errs.Add(s.Key, "%s are %s given; give one", joinAnd(keyNames(given)), both)
	}
}

// Given reports whether the secret is given in any way: inline, by file or by variable,
// or resolved (the Override variables are not known before Resolve).
func (v Value) Given(s Sources) bool { return v.s != "" || s.File != "" || s.Env != "" }

// Resolve sets v from its sources, in this order: the first Override variable that is
// set; the file; the Env variable; else v keeps its inline value. A file that cannot
// be read or is empty and an Env variable that is not set are recorded at the key that
// names them; v is then left as it was.
func (v *Value) Resolve(errs *cfgerr.List, s Sources, l Lookup) {
	for _, name := range s.Override {
		if x := l.getenv(name); x != "" {
			*v = Value{s: x, resolved: true}
			return
		}
	}
	switch {
	case s.File != "":
		b, err := l.readFile(s.File)
		if err != nil {
			errs.Add(s.Key+"_file", "%v", err) // os errors name the file
			return
		}
		x := strings.TrimRight(string(b), "\r\n")
		if x == "" {
			errs.Add(s.Key+"_file", "%s is empty", s.File)
			return
		}
		*v = Value{s: x, resolved: true}
	case s.Env != "":
		x := l.getenv(s.Env)
		if x == "" {
			errs.Add(s.Key+"_env", "environment variable %s is not set", s.Env)
			return
		}
		*v = Value{s: x, resolved: true}
	}
}

// keyNames drops the section prefix of each key: "brokers[0].password_file" reads as
// "password_file" in the message of brokers[0].password.
func keyNames(keys []string) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		if j := strings.LastIndex(k, "."); j >= 0 {
			k = k[j+1:]
		}
		out[i] = k
	}
	return out
}

func joinAnd(s []string) string {
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}
