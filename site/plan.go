package site

import (
	"path"
	"strings"
	"unicode/utf8"

	"github.com/campusguard/campusguard/cfgerr"
)

// Floor is one floor of a building and its plan.
type Floor struct {
	ID   string `mapstructure:"id"`   // short id, unique in the building: 1f, 3f, b1
	Name string `mapstructure:"name"` // as staff say it: 三楼
	// Plan is the floor's plan image, SVG or PNG, relative to the config directory
	// (plans/main-3f.svg); "" draws a schematic.
	Plan string `mapstructure:"plan"`
}

// Position is a point on a plan image in percent of its width (X) and height (Y),
// from the top left corner.
type Position struct {
	X float64 `mapstructure:"x" json:"x"`
	Y float64 `mapstructure:"y" json:"y"`
}

// Contact is a person the duty guard calls for a zone's alarms.
type Contact struct {
	Name  string `mapstructure:"name" json:"name"`           // 王校长
	Role  string `mapstructure:"role" json:"role,omitempty"` // 分管副校长 (optional)
	Phone string `mapstructure:"phone" json:"phone"`         // digits, spaces, + - ( ) only
}

// PlanExts are the plan image types the console shows.
var PlanExts = []string{".svg", ".png"}

// Devices returns the devices ValidateDevices checked against the site (nil before),
// for readers that place them: the console's floor plan.
func (s *Site) Devices() []Device { return s.devices }

// Building returns the building with id, or nil.
func (s *Site) Building(id string) *Building {
	for i := range s.Buildings {
		if s.Buildings[i].ID == id {
			return &s.Buildings[i]
		}
	}
	return nil
}

// Floor returns the building's floor with id, or nil.
func (b *Building) Floor(id string) *Floor {
	for i := range b.Floors {
		if b.Floors[i].ID == id {
			return &b.Floors[i]
		}
	}
	return nil
}

// BuildingOf is the building a device is drawn in: its own, else its zone's ("" for
// outdoor devices and devices of zones without a building).
func (s *Site) BuildingOf(d *Device) string {
	if d.Building != "" {
		return d.Building
	}
	if z := s.Zone(d.Zone); z != nil {
		return z.Building
	}
	return ""
}

// validatePlans checks plans, floors and contacts (called by Validate).
func (s *Site) validatePlans(errs *cfgerr.List) {
	checkPlan(errs, "site.plan", s.Plan)
	for i, b := range s.Buildings {
		seen := map[string]bool{}
		for j, f := range b.Floors {
			key := cfgerr.Index(cfgerr.Index("site.buildings", i)+".floors", j)
			CheckID(errs, key+".id", "floor", f.ID, seen)
			checkPlan(errs, key+".plan", f.Plan)
		}
	}
	for i, z := range s.Zones {
		for j, c := range z.Contacts {
			key := cfgerr.Index(cfgerr.Index("site.zones", i)+".contacts", j)
			if strings.TrimSpace(c.Name) == "" {
				errs.Add(key+".name", "is required")
			} else if utf8.RuneCountInString(c.Name) > 32 {
				errs.Add(key+".name", "longer than 32 characters")
			}
			if utf8.RuneCountInString(c.Role) > 32 {
				errs.Add(key+".role", "longer than 32 characters")
			}
			if !validPhone(c.Phone) {
				errs.Add(key+".phone", "%q: want digits with optional + - ( ) and spaces (at most 32)", c.Phone)
			}
		}
	}
}

// checkPlan checks a plan image path: relative, inside the config directory, SVG or PNG.
func checkPlan(errs *cfgerr.List, key, p string) {
	if p == "" {
		return
	}
	clean := path.Clean(strings.ReplaceAll(p, "\\", "/"))
	switch {
	case path.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../"):
		errs.Add(key, "%q: give a path relative to the config directory, inside it", p)
	case !hasPlanExt(clean):
		errs.Add(key, "%q: want an .svg or .png image", p)
	}
}

func hasPlanExt(p string) bool {
	ext := strings.ToLower(path.Ext(p))
	for _, e := range PlanExts {
		if ext == e {
			return true
		}
	}
	return false
}

func validPhone(p string) bool {
	if p == "" || len(p) > 32 {
		return false
	}
	digits := 0
	for _, r := range p {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case strings.ContainsRune("+-() ", r):
		default:
			return false
		}
	}
	return digits >= 3
}

// validatePlace checks a device's building, floor and position (called by
// ValidateDevices).
func (s *Site) validatePlace(d *Device, key string, errs *cfgerr.List) {
	b := s.BuildingOf(d)
	if d.Building != "" && s.Building(d.Building) == nil {
		errs.Add(key+".building", "unknown building %q", d.Building)
		return
	}
	if d.Floor != "" {
		switch bl := s.Building(b); {
		case b == "":
			errs.Add(key+".floor", "needs a building (the device's or its zone's)")
		case bl != nil && bl.Floor(d.Floor) == nil:
			errs.Add(key+".floor", "building %q has no floor %q", b, d.Floor)
		}
	}
	if p := d.Position; p != nil && (p.X < 0 || p.X > 100 || p.Y < 0 || p.Y > 100) {
		errs.Add(key+".position", "x and y are percent of the plan: want 0..100")
	}
}
