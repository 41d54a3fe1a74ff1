package patrol

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"gopkg.in/yaml.v3"

	"github.com/campusguard/campusguard/cfgerr"
	"github.com/campusguard/campusguard/event"
	"github.com/campusguard/campusguard/site"
)

// decodeFile decodes the patrol section of a YAML file the way the config loader does
// (viper's default hooks plus TextUnmarshaler, unknown keys are errors).
func decodeFile(t *testing.T, path string) Config {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	var cfg Config
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		Result:      &cfg,
		ErrorUnused: true,
		DecodeHook: mapstructure.ComposeDecodeHookFunc(
			mapstructure.StringToTimeDurationHookFunc(),
			mapstructure.StringToSliceHookFunc(","),
			mapstructure.TextUnmarshallerHookFunc(),
		),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := dec.Decode(doc["patrol"]); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return cfg
}

func testDir(readers ...string) *site.Directory {
	s := &site.Site{ID: "s01", Zones: []site.Zone{{ID: "gate"}, {ID: "perimeter"}, {ID: "kitchen"}, {ID: "b3-balcony"}}}
	devs := []site.Device{{ID: "panic-gate", Kind: event.KindPanic}}
	for _, r := range readers {
		devs = append(devs, site.Device{ID: r, Kind: event.KindPatrol})
	}
	return site.NewDirectory(s, devs)
}

func TestConfigFiles(t *testing.T) {
	for _, tc := range []struct {
		path string
		dir  *site.Directory
	}{
		{"../configs/examples/patrol.yaml", testDir("dorm-reader")},
		{"../configs/demo/conf.d/patrol.yaml", testDir("patrol-reader-1")},
	} {
		t.Run(filepath.Base(filepath.Dir(tc.path)), func(t *testing.T) {
			cfg := decodeFile(t, tc.path)
			cfg.SetDefaults(cfgerr.Env{})
			errs := &cfgerr.List{}
			cfg.Validate(errs, tc.dir)
			if errs.Len() > 0 {
				t.Fatalf("%s:\n%v", tc.path, errs)
			}
			days := fakeDays{"school-days": func(time.Time) bool { return true }}
			if _, err := New(cfg, Options{Location: shanghai, Days: days}); err != nil {
				t.Fatal(err)
			}
		})
	}
	cfg := decodeFile(t, "../configs/examples/patrol.yaml")
	if got := cfg.Routes[0].Checkpoints[2]; got != (Stop{Checkpoint: "CP-03", Leg: 8 * time.Minute}) {
		t.Errorf("short stop form: %+v", got)
	}
	if got := cfg.Routes[0].Checkpoints[3]; got != (Stop{Checkpoint: "CP-04", Leg: 6 * time.Minute}) {
		t.Errorf("mapping stop form: %+v", got)
	}
	if *cfg.Plans[0].StartEarly != 5*time.Minute || cfg.Plans[1].StartEarly != nil {
		t.Errorf("start_early %v %v", cfg.Plans[0].StartEarly, cfg.Plans[1].StartEarly)
	}
	if refs := cfg.ScheduleRefs(); refs["plans[0].schedule"] != "school-days" || len(refs) != 1 {
		t.Errorf("schedule refs %v", refs)
	}
}

func TestDemoPlanSlots(t *testing.T) {
	cfg := decodeFile(t, "../configs/demo/conf.d/patrol.yaml")
	c, err := compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range c.plans {
		for _, s := range p.slots(at("19:00"), at("+1 07:00"), shanghai, nil) {
			if p.ID == "night" {
				got = append(got, s.at.Format("15:04")+"/"+s.day)
			}
		}
	}
	want := "20:00/2026-11-20 22:00/2026-11-20 00:00/2026-11-20 02:00/2026-11-20 04:00/2026-11-20 06:00/2026-11-20"
	if strings.Join(got, " ") != want {
		t.Errorf("night slots %v", got)
	}
	if n := len(c.plan("demo").slots(at("00:00"), at("+1 00:00"), shanghai, nil)); n != 144 {
		t.Errorf("demo slots a day: %d, want 144", n)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		mod  func(c *Config)
		want []string // "key: message fragment"
	}{
		{"valid", func(c *Config) {}, nil},
		{"unknown checkpoint in route", func(c *Config) { c.Routes[0].Checkpoints[1].Checkpoint = "CP-99" },
			[]string{`routes[0].checkpoints[1].checkpoint: unknown checkpoint "CP-99"`}},
		{"checkpoint twice in route", func(c *Config) { c.Routes[0].Checkpoints[1].Checkpoint = "CP-01" },
			[]string{`routes[0].checkpoints[1].checkpoint: checkpoint "CP-01" is twice`}},
		{"unknown route", func(c *Config) { c.Plans[0].Route = "nope" }, []string{`plans[0].route: unknown route "nope"`}},
		{"one round a day (GB/T 29315)", func(c *Config) { c.Compliance.MinRounds, c.Compliance.Areas = 5, nil },
			[]string{`plans[0]: key area "key-areas" (重点部位) is planned for 1 round(s) a day`}},
		{"weekends short", func(c *Config) {
			c.Compliance.MinRounds, c.Compliance.Areas = 5, nil
			c.Plans[0].Times, c.Plans[0].Every, c.Plans[0].From, c.Plans[0].Until = nil, 2*time.Hour, "20:00", "06:00"
			c.Plans[0].Days = "mon-fri"
		}, []string{`plans[0]: key area "key-areas" (重点部位) is planned for 0 round(s) a day on [Sunday Saturday]`}},
		{"every 2h at night is compliant", func(c *Config) {
			c.Compliance.MinRounds, c.Compliance.Areas = 5, nil
			c.Plans[0].Times, c.Plans[0].Every, c.Plans[0].From, c.Plans[0].Until = nil, 2*time.Hour, "20:00", "06:00"
		}, nil},
		{"area of an unknown route", func(c *Config) {
			c.Compliance.Areas = []Area{{ID: "dorms", Routes: []string{"ghost"}}}
		}, []string{`compliance.areas[0].routes[0]: unknown route "ghost"`}},
		{"duplicate card", func(c *Config) { c.Guards[1].Cards = []string{"a1b2c3d4"} },
			[]string{`guards[1].cards[0]: card "a1b2c3d4" is also guard "zhang"'s`}},
		{"duplicate tag", func(c *Config) { c.Checkpoints[2].Tags = []string{"cp-01"} },
			[]string{`checkpoints[2].tags: tag "cp-01" is also checkpoint "CP-01"`}},
		{"plan never runs", func(c *Config) { c.Plans[0].Times = nil }, []string{"plans[0]: the plan never runs"}},
		{"reader not a patrol device", func(c *Config) { c.Checkpoints[4].Reader = "panic-gate" },
			[]string{`checkpoints[4].reader: device "panic-gate" is a panic device`}},
		{"unknown reader", func(c *Config) { c.Checkpoints[4].Reader = "ghost" }, []string{`checkpoints[4].reader: unknown device "ghost"`}},
		{"unknown zone", func(c *Config) { c.Checkpoints[0].Zone = "moon" }, []string{`checkpoints[0].zone: unknown zone "moon"`}},
		{"bad times", func(c *Config) {
			c.Plans[0].Times = []string{"25:00"}
			c.Plans[0].Days = "mon-xyz"
		}, []string{`plans[0].times[0]: time "25:00" is out of range`, `plans[0].days: days "mon-xyz": unknown day "xyz"`}},
		{"no legs no duration", func(c *Config) { c.Plans[0].Route = "any" }, []string{`plans[0].duration: route "any" has no leg times`}},
		{"overlapping start windows", func(c *Config) {
			c.Plans[0].Times, c.Plans[0].Every = nil, 15*time.Minute
		}, []string{"plans[0].start_tolerance: start windows of consecutive patrols overlap"}},
		{"from without every", func(c *Config) { c.Plans[0].From = "20:00" }, []string{"plans[0].every: from/until need every"}},
		{"guard without cards, bad ids", func(c *Config) {
			c.Guards[0].Cards = nil
			c.Guards[1].ID = "li na"
			c.Plans = append(c.Plans, c.Plans[0])
		}, []string{"guards[0].cards: a guard needs at least one card", `guards[1].id: "li na" is not a valid id`,
			`plans[1].id: plan "night" is defined twice`}},
		{"bad order and negative tolerance", func(c *Config) {
			c.Routes[0].Order = "random"
			c.Plans[0].Tolerance = d("-1m")
		}, []string{`routes[0].order: unknown order "random"`, "plans[0].tolerance: must not be negative"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			tc.mod(&cfg)
			cfg.SetDefaults(cfgerr.Env{})
			errs := &cfgerr.List{}
			cfg.Validate(errs, testDir("reader-dorm"))
			var got []string
			for _, e := range errs.Errs {
				got = append(got, e.Key+": "+e.Msg)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("errors:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
			for _, w := range tc.want {
				found := false
				for _, g := range got {
					found = found || strings.HasPrefix(g, w)
				}
				if !found {
					t.Errorf("missing %q in\n  %s", w, strings.Join(got, "\n  "))
				}
			}
		})
	}
}

func TestParseDays(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want uint8
		err  bool
	}{
		{"", 0x7f, false}, {"daily", 0x7f, false}, {"mon-fri", 0b0111110, false}, {"sat,sun", 0b1000001, false},
		{"fri-mon", 0b1100011, false}, {"Mon", 0b10, false}, {"mon-", 0, true}, {"x", 0, true},
	} {
		got, err := parseDays(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("parseDays(%q) = %07b, %v", tc.in, got, err)
		}
	}
}

// TestDemoMissedCheckpoint plays the scans docs/patrol.md tells the simulator to send.
func TestDemoMissedCheckpoint(t *testing.T) {
	tr, err := New(decodeFile(t, "../configs/demo/conf.d/patrol.yaml"), Options{Site: "demo01", Location: shanghai})
	if err != nil {
		t.Fatal(err)
	}
	tr.Tick(at("21:05"))
	T := at("21:10")
	var got []string
	for i, cp := range []string{"CP-01", "CP-02", "CP-03", "CP-04"} {
		now := T.Add(time.Duration(i) * time.Minute)
		ev := event.Event{DeviceID: "patrol-reader-1", Kind: event.KindPatrol, Type: event.TypeScan,
			Fields: event.Fields{"card": "A1B2C3D4", "checkpoint": cp}, DeviceTime: now, ReceivedAt: now}
		for _, e := range tr.Scan(now, ev) {
			got = append(got, e.Type+" "+e.Fields.String("checkpoint"))
		}
	}
	next, _ := tr.NextDeadline()
	if !next.Equal(T.Add(4*time.Minute + 30*time.Second)) {
		t.Errorf("deadline %v", next)
	}
	for _, e := range tr.Tick(next) {
		got = append(got, e.Type+" "+e.Fields.String("checkpoint"))
		if e.Fields["plan"] != "demo" {
			t.Errorf("plan %v", e.Fields["plan"])
		}
	}
	want := "patrol_started CP-01,checkpoint_ok CP-01,checkpoint_ok CP-02,checkpoint_ok CP-03,checkpoint_ok CP-04,checkpoint_missed CP-05,patrol_incomplete "
	if strings.Join(got, ",") != want {
		t.Errorf("demo events %v", got)
	}
}
