package policelink

import (
	"fmt"
	"slices"
	"strings"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/alerting/policelink/dc09"
	"github.com/campusguard/campusguard/cfgerr"
)

// Notes records what `campusguard check` should tell the installer without failing
// the config: an account typed in lower case (normalised to upper case, as receivers
// match it), and a key that another kind of receiver reads as a different key (see
// docs/policelink.md, "Connecting to a receiving centre"). Keys are relative to this
// section, like Validate's. Call it after SetDefaults (and Resolve). A
// disabled link has no notes.
func (c *Config) Notes(notes *cfgerr.List) {
	if !c.Enabled {
		return
	}
	if c.accountAsTyped != "" && c.accountAsTyped != c.Account && strings.EqualFold(c.accountAsTyped, c.Account) {
		notes.Add("account", "%q is sent as %q: receivers match accounts in upper case", c.accountAsTyped, c.Account)
	}
	if c.Key.IsZero() {
		return
	}
	enc, err := dc09.ParseKeyEncoding(c.KeyEncoding)
	if err != nil {
		return
	}
	secret := c.Key.Reveal()
	if _, err := dc09.ParseKey(secret, enc); err != nil {
		return // Validate reports it, with keyFix
	}
	key := "key_encoding"
	switch {
	case enc == dc09.KeyHex && len(secret) == 32:
		notes.Add(key, "hex: the 32 hex digits are an AES-128 key, as receivers that follow DC-09 read it; "+
			"Home Assistant's SIA integration (and receivers built on its library) reads the same 32 characters as their "+
			"ASCII bytes, an AES-256 key: for such a receiver set key_encoding: ascii")
	case enc == dc09.KeyASCII && looksHex(secret):
		notes.Add(key, "ascii: the %d characters are an AES-%d key as Home Assistant's SIA integration reads it; "+
			"receivers that follow DC-09 read %d hex digits as an AES-%d key: for such a receiver set key_encoding: hex",
			len(secret), len(secret)*8, len(secret), len(secret)*4)
	}
}

// keyFix suggests the other key encoding for a key that does not parse with the
// configured one ("" when it would not parse either). It never shows the key.
func keyFix(key, encoding string) string {
	enc, err := dc09.ParseKeyEncoding(encoding)
	if err != nil {
		return ""
	}
	other := dc09.KeyASCII
	if enc == dc09.KeyASCII {
		other = dc09.KeyHex
	}
	k, err := dc09.ParseKey(key, other)
	if err != nil {
		return ""
	}
	if other == dc09.KeyASCII {
		return fmt.Sprintf("; its %d characters make an %s as their ASCII bytes, the form Home Assistant's SIA integration uses: set key_encoding: ascii", len(key), k)
	}
	return fmt.Sprintf("; its %d hex digits make an %s, the form receivers that follow DC-09 use: set key_encoding: hex", len(key), k)
}

func looksHex(s string) bool {
	switch len(s) {
	case 32, 48, 64:
		return isHex(s, len(s), len(s))
	}
	return false
}

// validateShadowed reports a mapping that an earlier one makes unreachable: every
// alarm it matches is matched first by the earlier mapping.
func (c *Config) validateShadowed(errs *cfgerr.List) {
	for j := range c.Mappings {
		for i := range j {
			if covers(&c.Mappings[i].Match, &c.Mappings[j].Match) {
				errs.Add(cfgerr.Index("mappings", j)+".match", "never used: %s (%s) matches every alarm it matches",
					cfgerr.Index("mappings", i), c.Mappings[i].Match.describe())
				break
			}
		}
	}
}

// covers reports whether every alarm b matches is matched by a: each field a sets,
// b sets to the same value.
func covers(a, b *Match) bool {
	same := func(x, y string) bool { return x == "" || x == y }
	if !same(string(a.Class), string(b.Class)) || !same(a.Rule, b.Rule) || !same(string(a.Kind), string(b.Kind)) ||
		!same(a.Device, b.Device) || !same(a.Zone, b.Zone) || !same(string(a.Severity), string(b.Severity)) {
		return false
	}
	for k, v := range a.Labels {
		if w, ok := b.Labels[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// describe renders m as in the config: "class: panic, kind: panic" ("empty match").
func (m *Match) describe() string {
	var parts []string
	add := func(k, v string) {
		if v != "" {
			parts = append(parts, k+": "+v)
		}
	}
	add("class", string(m.Class))
	add("rule", m.Rule)
	add("kind", string(m.Kind))
	add("device", m.Device)
	add("zone", m.Zone)
	add("severity", string(m.Severity))
	keys := make([]string, 0, len(m.Labels))
	for k := range m.Labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		add("labels."+k, m.Labels[k])
	}
	if len(parts) == 0 {
		return "empty match"
	}
	return strings.Join(parts, ", ")
}

func classList() string {
	var s []string
	for _, c := range alerting.Classes {
		s = append(s, string(c))
	}
	return strings.Join(s, ", ")
}
