package site

import (
	"strings"
	"testing"

	"github.com/campusguard/campusguard/cfgerr"
	"github.com/campusguard/campusguard/event"
)

func planSite() *Site {
	return &Site{ID: "s01", Plan: "plans/campus.svg",
		Buildings: []Building{{ID: "main", Name: "教学楼", Floors: []Floor{{ID: "1f", Name: "一楼"}, {ID: "3f", Name: "三楼", Plan: "plans/main-3f.png"}}}},
		Zones: []Zone{{ID: "b3", Building: "main", Number: 1, Contacts: []Contact{{Name: "王校长", Role: "副校长", Phone: "138 0000 0000"}}},
			{ID: "gate", Number: 2}}}
}

func TestValidatePlans(t *testing.T) {
	tests := []struct {
		name string
		edit func(s *Site, d *Device)
		want []string // keys with an error; none when empty
	}{
		{"valid", func(s *Site, d *Device) {}, nil},
		{"absolute plan", func(s *Site, d *Device) { s.Plan = "/etc/passwd.svg" }, []string{"site.plan"}},
		{"plan outside", func(s *Site, d *Device) { s.Buildings[0].Floors[1].Plan = "../x.svg" }, []string{"site.buildings[0].floors[1].plan"}},
		{"plan type", func(s *Site, d *Device) { s.Buildings[0].Floors[0].Plan = "a.jpg.exe" }, []string{"site.buildings[0].floors[0].plan"}},
		{"floor twice", func(s *Site, d *Device) { s.Buildings[0].Floors[1].ID = "1f" }, []string{"site.buildings[0].floors[1].id"}},
		{"contact without name", func(s *Site, d *Device) { s.Zones[0].Contacts[0].Name = " " }, []string{"site.zones[0].contacts[0].name"}},
		{"bad phone", func(s *Site, d *Device) { s.Zones[0].Contacts[0].Phone = "call me" }, []string{"site.zones[0].contacts[0].phone"}},
		{"unknown floor", func(s *Site, d *Device) { d.Floor = "9f" }, []string{"devices[0].floor"}},
		{"floor without building", func(s *Site, d *Device) { d.Zone = "gate" }, []string{"devices[0].floor"}},
		{"unknown building", func(s *Site, d *Device) { d.Building = "gym" }, []string{"devices[0].building"}},
		{"position off the plan", func(s *Site, d *Device) { d.Position = &Position{X: 101, Y: 5} }, []string{"devices[0].position"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := planSite()
			d := Device{ID: "radar", Kind: event.KindAntiFall, Zone: "b3", Driver: "mqtt", Floor: "3f", Position: &Position{X: 40, Y: 60}}
			tc.edit(s, &d)
			var errs cfgerr.List
			s.Validate(&errs)
			ValidateDevices(s, []Device{d}, &errs)
			if len(s.Devices()) != 1 {
				t.Fatal("the checked devices are not kept")
			}
			got := errs.Error()
			if len(tc.want) == 0 && errs.Len() > 0 {
				t.Fatalf("unexpected errors: %s", got)
			}
			for _, k := range tc.want {
				if !strings.Contains(got, k) {
					t.Errorf("no error at %s in %q", k, got)
				}
			}
		})
	}
}

func TestBuildingOf(t *testing.T) {
	s := planSite()
	tests := []struct {
		d    Device
		want string
	}{
		{Device{Zone: "b3"}, "main"},
		{Device{Zone: "gate"}, ""},
		{Device{Zone: "gate", Building: "main"}, "main"},
	}
	for _, tc := range tests {
		if got := s.BuildingOf(&tc.d); got != tc.want {
			t.Errorf("BuildingOf(%+v) = %q, want %q", tc.d, got, tc.want)
		}
	}
	if s.Building("main").Floor("3f").Name != "三楼" || s.Building("gym") != nil {
		t.Error("Building/Floor lookups")
	}
}
