// Package site is the model of one campus: its buildings, zones and devices, as the
// operator describes them in the main config file and conf.d. It is plain data plus
// validation; drivers, rules and alerting read it, none of them writes it.
package site

import (
	"fmt"
	"regexp"
	"time"

	"github.com/campusguard/campusguard/cfgerr"
	"github.com/campusguard/campusguard/event"
)

// DefaultTimezone is the site timezone when the config names none.
const DefaultTimezone = "Asia/Shanghai"

// DefaultHeartbeat is how long a device may stay silent before it is offline when its
// config says nothing: GB/T 28181's 60 s keep-alive times 3 missed.
const DefaultHeartbeat = 180 * time.Second

// Site is one campus.
type Site struct {
	ID        string     `mapstructure:"id"`
	Name      string     `mapstructure:"name"`
	Timezone  string     `mapstructure:"timezone"`
	Account   string     `mapstructure:"account"` // police-link account, if different from the id
	Buildings []Building `mapstructure:"buildings"`
	Zones     []Zone     `mapstructure:"zones"`
	// Plan is the campus plan image (SVG or PNG, relative to the config directory) on
	// which devices with a position and no floor are drawn (plan.go).
	Plan string `mapstructure:"plan"`

	loc     *time.Location
	devices []Device // set by ValidateDevices (plan.go: Devices)
}

// Building is a building of the campus.
type Building struct {
	ID   string `mapstructure:"id"`
	Name string `mapstructure:"name"`
	// Floors of the building, each with its plan image (plan.go).
	Floors []Floor `mapstructure:"floors"`
}

// Zone is an area of the campus with its police-link numbers.
type Zone struct {
	ID       string `mapstructure:"id"`
	Name     string `mapstructure:"name"`
	Building string `mapstructure:"building"`
	Number   int    `mapstructure:"number"` // zone number reported to the police link (1..999)
	Area     int    `mapstructure:"area"`   // area / partition number (0..99)
	// Contacts are whom the duty guard calls for an alarm in the zone (plan.go).
	Contacts []Contact `mapstructure:"contacts"`
}

// Device is one device of the site.
type Device struct {
	ID       string     `mapstructure:"id"`
	Kind     event.Kind `mapstructure:"kind"`
	Name     string     `mapstructure:"name"`
	Location string     `mapstructure:"location"` // free text, Chinese allowed: 教学楼三楼东侧阳台
	Zone     string     `mapstructure:"zone"`
	Number   int        `mapstructure:"number"` // police zone/user number; 0 = the zone's number
	Driver   string     `mapstructure:"driver"` // gpio, mqtt, sim
	// Heartbeat is how long the device may be silent before it is offline (0 = the
	// default; negative = never supervised, for devices that only speak on change).
	Heartbeat time.Duration     `mapstructure:"heartbeat"`
	Labels    map[string]string `mapstructure:"labels"`
	// Building and Floor place the device on a floor plan (Building defaults to its
	// zone's); Position is where on the plan, in percent (plan.go).
	Building string    `mapstructure:"building"`
	Floor    string    `mapstructure:"floor"`
	Position *Position `mapstructure:"position"`
}

// Drivers are the driver names a device may name.
var Drivers = []string{"gpio", "mqtt", "sim"}

var idRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// ValidID reports whether s is usable as an id (letters, digits, _ . -; at most 64).
func ValidID(s string) bool { return idRe.MatchString(s) }

// Location returns the site's time zone (valid after Validate).
func (s *Site) Location() *time.Location {
	if s.loc == nil {
		return time.UTC
	}
	return s.loc
}

// Validate checks the site section; keys are relative to "site".
func (s *Site) Validate(errs *cfgerr.List) {
	if s.ID == "" {
		errs.Add("site.id", "is required (the campus id, e.g. s01)")
	} else if !ValidID(s.ID) {
		errs.Add("site.id", "%q is not a valid id (letters, digits, _ . - only)", s.ID)
	}
	if s.Timezone == "" {
		s.Timezone = DefaultTimezone
	}
	loc, err := time.LoadLocation(s.Timezone)
	if err != nil {
		errs.Add("site.timezone", "unknown time zone %q", s.Timezone)
	} else {
		s.loc = loc
	}
	defer s.validatePlans(errs)
	bs := map[string]bool{}
	for i, b := range s.Buildings {
		CheckID(errs, cfgerr.Index("site.buildings", i)+".id", "building", b.ID, bs)
	}
	zs := map[string]bool{}
	nums := map[[2]int]string{}
	for i, z := range s.Zones {
		key := cfgerr.Index("site.zones", i)
		CheckID(errs, key+".id", "zone", z.ID, zs)
		if z.Building != "" && !bs[z.Building] {
			errs.Add(key+".building", "unknown building %q", z.Building)
		}
		if z.Number < 0 || z.Number > 999 {
			errs.Add(key+".number", "police zone number %d is outside 0..999", z.Number)
		}
		if z.Area < 0 || z.Area > 99 {
			errs.Add(key+".area", "police area %d is outside 0..99", z.Area)
		}
		if z.Number > 0 {
			k := [2]int{z.Area, z.Number}
			if other, dup := nums[k]; dup {
				errs.Add(key+".number", "zone number %d in area %d is also used by zone %q", z.Number, z.Area, other)
			}
			nums[k] = z.ID
		}
	}
}

// ValidateDevices checks the devices list against the site; keys are "devices[i]...".
func ValidateDevices(s *Site, devs []Device, errs *cfgerr.List) {
	seen := map[string]bool{}
	for i := range devs {
		d := &devs[i]
		key := cfgerr.Index("devices", i)
		CheckID(errs, key+".id", "device", d.ID, seen)
		if !d.Kind.Valid() {
			errs.Add(key+".kind", "unknown device kind %q (want one of %v)", d.Kind, event.Kinds)
		}
		if d.Zone != "" && s.Zone(d.Zone) == nil {
			errs.Add(key+".zone", "unknown zone %q", d.Zone)
		}
		if d.Number < 0 || d.Number > 999 {
			errs.Add(key+".number", "police zone number %d is outside 0..999", d.Number)
		}
		ok := false
		for _, dr := range Drivers {
			ok = ok || d.Driver == dr
		}
		if !ok {
			errs.Add(key+".driver", "unknown driver %q (want one of %v)", d.Driver, Drivers)
		}
		for k := range d.Labels {
			if !ValidID(k) {
				errs.Add(key+".labels", "label name %q is not valid", k)
			}
		}
		s.validatePlace(d, key, errs)
	}
	s.devices = devs
}

// Zone returns the zone with id, or nil.
func (s *Site) Zone(id string) *Zone {
	for i := range s.Zones {
		if s.Zones[i].ID == id {
			return &s.Zones[i]
		}
	}
	return nil
}

// HeartbeatOrDefault is the device's silence limit: 0 means DefaultHeartbeat, a
// negative value means unsupervised (returns 0).
func (d *Device) HeartbeatOrDefault() time.Duration {
	switch {
	case d.Heartbeat == 0:
		return DefaultHeartbeat
	case d.Heartbeat < 0:
		return 0
	}
	return d.Heartbeat
}

// PoliceZone is the zone number reported for this device: its own, else its zone's.
func (s *Site) PoliceZone(d *Device) (area, zone int) {
	if z := s.Zone(d.Zone); z != nil {
		area, zone = z.Area, z.Number
	}
	if d.Number > 0 {
		zone = d.Number
	}
	return area, zone
}

// Directory indexes devices by id for the hot path.
type Directory struct {
	Site    *Site
	devices map[string]*Device
	zones   map[string]*Zone
	list    []Device
}

// NewDirectory indexes devs and the site's zones (the slices are kept, not copied).
func NewDirectory(s *Site, devs []Device) *Directory {
	d := &Directory{Site: s, devices: make(map[string]*Device, len(devs)), list: devs}
	for i := range devs {
		d.devices[devs[i].ID] = &devs[i]
	}
	if s != nil {
		d.zones = make(map[string]*Zone, len(s.Zones))
		for i := range s.Zones {
			d.zones[s.Zones[i].ID] = &s.Zones[i]
		}
	}
	return d
}

// PoliceZone is Site.PoliceZone through the zone index.
func (d *Directory) PoliceZone(dev *Device) (area, zone int) {
	if z := d.Zone(dev.Zone); z != nil {
		area, zone = z.Area, z.Number
	}
	if dev.Number > 0 {
		zone = dev.Number
	}
	return area, zone
}

// Zone returns the site's zone with id, or nil: a map lookup, where Site.Zone walks
// the zones (for the per-alarm paths of a site with thousands of zones).
func (d *Directory) Zone(id string) *Zone {
	if d == nil {
		return nil
	}
	return d.zones[id]
}

// Device returns the device with id, or nil.
func (d *Directory) Device(id string) *Device {
	if d == nil {
		return nil
	}
	return d.devices[id]
}

// Devices returns every device in config order.
func (d *Directory) Devices() []Device {
	if d == nil {
		return nil
	}
	return d.list
}

// String is "id (name)" for logs.
func (d *Device) String() string { return fmt.Sprintf("%s (%s)", d.ID, d.Name) }

// CheckID records the usual problems with an id at key: missing, not a valid id, or
// already in seen (a map the caller keeps per list; what names the thing: "zone",
// "guard"). It marks id as seen.
func CheckID(errs *cfgerr.List, key, what, id string, seen map[string]bool) {
	switch {
	case id == "":
		errs.Add(key, "is required")
	case !ValidID(id):
		errs.Add(key, "%q is not a valid id (letters, digits, _ . - only)", id)
	case seen[id]:
		errs.Add(key, "%s %q is defined twice", what, id)
	}
	seen[id] = true
}
