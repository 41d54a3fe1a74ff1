package config

import (
	"net"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/campusguard/campusguard/cfgerr"
)

// The demo's published secrets. The demo config and the README print them, so a gateway
// that still uses one can be logged into by anyone who read the README, or have its
// panic siren silenced by a forged, correctly signed MQTT acknowledgement. They are
// kept here even if the demo changes them: once published, a value stays unsafe.
var (
	demoPoliceKeys = []string{"000102030405060708090A0B0C0D0E0F"}
	demoAckSecrets = []string{"demo-ack-secret-0123456789"}
	// bcrypt hashes of the demo console passwords (guard-demo, operator-demo, viewer-demo).
	demoPasswordHashes = []string{
		"$2a$12$kLemwhnpeJ2bz.TXahCsGuWyYDO1l81OQFaXT6.XGi6aXw0k.S1fq",
		"$2a$12$eTj/dZWepwXS2yMePS7iUeBMLHRUE5HNkbd0xSyM35ly56fujSX/C",
		"$2a$12$RCAx4HMWiSAP540Qouz0FOndbCoeVtHmHlE38aFwCrCTCPORZs4HC",
	}
)

// Placeholder starts every value in the production skeleton (campusguard config init)
// that the installer must replace; Load refuses a config that still holds one.
const Placeholder = "CHANGE-ME"

const placeholderMsg = "not filled in yet"

// validateSafety refuses what would make a real gateway unsafe: the simulator feeding
// a real police receiver, and (outside the demo) the demo's published secrets.
func (c *Config) validateSafety(errs *cfgerr.List, demo bool) {
	if c.Simulator.Enabled && c.PoliceLink.Enabled {
		own := c.Simulator.PoliceReceiver
		check := func(key, addr string) {
			if addr != "" && !sameAddr(addr, own) {
				errs.Add(key, "%q is a real police receiver while the simulator is enabled: simulated panics "+
					"(played at every start) would be reported to the police; turn simulator.enabled off, "+
					"or point the police link at simulator.police_receiver", addr)
			}
		}
		check("policelink.main.primary", c.PoliceLink.Main.Primary)
		check("policelink.main.secondary", c.PoliceLink.Main.Secondary)
		if b := c.PoliceLink.Backup; b != nil {
			check("policelink.backup.primary", b.Primary)
			check("policelink.backup.secondary", b.Secondary)
		}
	}
	if demo {
		return
	}
	if c.PoliceLink.Enabled && containsFold(demoPoliceKeys, c.PoliceLink.Key.Reveal()) {
		errs.Add("policelink.key", "is the demo's published key: ask the receiving centre for this gateway's key "+
			"and keep it in key_file or CAMPUSGUARD_POLICELINK_KEY")
	}
	if m := c.Sinks.MQTT; m != nil {
		if s := m.Ack.Secret.Reveal(); s != "" && containsFold(demoAckSecrets, s) {
			errs.Add("sinks.mqtt.ack.secret", "is the demo's published secret: anyone could sign an acknowledgement "+
				"that silences a siren; generate one (head -c 32 /dev/urandom | base64) into secret_file")
		}
	}
	for i, u := range c.Console.Users {
		if containsFold(demoPasswordHashes, u.PasswordHash) {
			errs.Add(cfgerr.Index("console.users", i)+".password_hash", "is a demo password published in the README: "+
				"set this account's own with `campusguard passwd`")
		}
	}
}

// validateHost checks the config against this machine (campusguard check, and run on a
// real gateway): every GPIO line needs a GPIO chip, and outside the demo the simulator
// must not stand in for the lines the config names. chips lists the chip devices.
func (c *Config) validateHost(errs *cfgerr.List, demo bool, chips []string) {
	pins := c.gpioPins()
	if len(pins) == 0 || demo {
		return
	}
	// A negative debounce turns debouncing off (tests drive clean edges); a real
	// contact bounces, and every bounce would be a press and a release.
	for i, in := range c.GPIO.Inputs {
		key := cfgerr.Index("gpio.inputs", i)
		if in.Debounce < 0 {
			errs.Add(key+".debounce", "%s turns debouncing off, and a real contact bounces: use a positive duration "+
				"(0s or no key: the default 20ms; %s)", in.Debounce, durationForms)
		}
		if s := in.Supervision; s != nil && s.Debounce < 0 {
			errs.Add(key+".supervision.debounce", "%s turns debouncing off: use a positive duration (0s: the input's)", s.Debounce)
		}
	}
	if c.Simulator.Enabled {
		errs.Add("simulator.enabled", "the simulator replaces the GPIO lines of gpio.inputs and gpio.outputs (%s) with "+
			"simulated pins, so real buttons and sirens would do nothing: turn it off on a gateway (the demo is `campusguard run --demo`)",
			strings.Join(pins, ", "))
		return
	}
	if len(chips) == 0 {
		errs.Add("gpio", "this machine has no GPIO chip (/dev/gpiochip*), so %s cannot be opened: check the kernel's "+
			"GPIO driver (campusguard gpio list), or move these devices to another driver", strings.Join(pins, ", "))
	}
}

// gpioPins lists the pin names the GPIO section uses, sorted.
func (c *Config) gpioPins() []string {
	seen := map[string]bool{}
	for _, in := range c.GPIO.Inputs {
		seen[in.PinRef.Name()] = true
		if s := in.Supervision; s != nil {
			seen[s.PinRef.Name()] = true
		}
	}
	for _, o := range c.GPIO.Outputs {
		seen[o.PinRef.Name()] = true
	}
	delete(seen, "")
	out := make([]string, 0, len(seen))
	for p := range seen {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// GPIOChips lists this machine's GPIO character devices.
func GPIOChips() []string {
	m, _ := filepath.Glob("/dev/gpiochip*")
	return m
}

func sameAddr(a, b string) bool {
	if a == b {
		return true
	}
	ha, pa, err1 := net.SplitHostPort(a)
	hb, pb, err2 := net.SplitHostPort(b)
	if err1 != nil || err2 != nil || pa != pb {
		return false
	}
	loop := func(h string) bool { return h == "localhost" || net.ParseIP(h).IsLoopback() }
	return ha == hb || (loop(ha) && loop(hb))
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, strings.TrimSpace(s)) {
			return true
		}
	}
	return false
}

// placeholders finds the skeleton's unfilled values in one file: every scalar that
// starts with Placeholder, reported at its own line with the hint that follows it.
func placeholders(file string, n *yaml.Node, path string, errs *cfgerr.List) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			placeholders(file, c, path, errs)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			placeholders(file, n.Content[i+1], cfgerr.Join(path, strings.ToLower(n.Content[i].Value)), errs)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			placeholders(file, c, cfgerr.Index(path, i), errs)
		}
	case yaml.ScalarNode:
		if strings.HasPrefix(n.Value, Placeholder) {
			hint := strings.TrimSpace(strings.TrimLeft(strings.TrimPrefix(n.Value, Placeholder), ":- "))
			if hint == "" {
				hint = "this site's value"
			}
			errs.AddAt(file, n.Line, path, placeholderMsg+": replace the placeholder with %s", hint)
		}
	}
}
