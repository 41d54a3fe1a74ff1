package alerting_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/cfgerr"
	"github.com/campusguard/campusguard/event"
)

// schedules: "school_hours" is active 08:00–17:00.
type schedules struct{}

func (schedules) Active(name string, t time.Time) bool {
	return name == "school_hours" && t.Hour() >= 8 && t.Hour() < 17
}

func routingConfig() alerting.Config {
	return alerting.Config{Routes: alerting.Route{
		Sinks: []string{"staff"},
		Routes: []alerting.Route{
			// a critical panic goes everywhere at once
			{Match: alerting.Matchers{"kind": "panic"}, Sinks: []string{"siren", "staff", "mqtt", "webhook"}},
			{Match: alerting.Matchers{"severity": "critical"}, Sinks: []string{"staff", "mqtt"}, Continue: true},
			{MatchRE: map[string]string{"zone": "kitchen|canteen"}, Sinks: []string{"kitchen-manager"}, GroupBy: []string{"rule"},
				Routes: []alerting.Route{
					{Match: alerting.Matchers{"vendor": "hik"}, Schedule: "school_hours"}, // inherits sinks and grouping
				}},
			{Match: alerting.Matchers{"kind": "antifall"}, Schedule: "school_hours", Sinks: []string{"teacher"}, RepeatInterval: time.Hour},
		},
	}}
}

func TestRoutingMatches(t *testing.T) {
	day := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	night := time.Date(2026, 11, 20, 23, 0, 0, 0, time.UTC)
	type hit struct {
		path  string
		sinks []string
		group bool
	}
	tests := []struct {
		name string
		a    alerting.Alarm
		now  time.Time
		want []hit
	}{
		{"panic everywhere", alerting.Alarm{Severity: alerting.Critical, DeviceKind: event.KindPanic}, night,
			[]hit{{"routes.routes[0]", []string{"siren", "staff", "mqtt", "webhook"}, false}}},
		{"critical continues to kitchen", alerting.Alarm{Severity: alerting.Critical, DeviceKind: event.KindKitchenCamera, Zone: "kitchen"}, night,
			[]hit{{"routes.routes[1]", []string{"staff", "mqtt"}, false}, {"routes.routes[2]", []string{"kitchen-manager"}, false}}},
		{"kitchen minor grouped", alerting.Alarm{Severity: alerting.Minor, Zone: "canteen"}, night,
			[]hit{{"routes.routes[2]", []string{"kitchen-manager"}, true}}},
		{"label + schedule active", alerting.Alarm{Severity: alerting.Minor, Zone: "kitchen", Labels: map[string]string{"vendor": "hik"}}, day,
			[]hit{{"routes.routes[2].routes[0]", []string{"kitchen-manager"}, true}}},
		{"label, schedule inactive: parent", alerting.Alarm{Severity: alerting.Minor, Zone: "kitchen", Labels: map[string]string{"vendor": "hik"}}, night,
			[]hit{{"routes.routes[2]", []string{"kitchen-manager"}, true}}},
		{"regexp is anchored", alerting.Alarm{Severity: alerting.Minor, Zone: "kitchen2"}, night,
			[]hit{{"routes", []string{"staff"}, false}}},
		{"antifall in school hours", alerting.Alarm{Severity: alerting.Major, DeviceKind: event.KindAntiFall}, day,
			[]hit{{"routes.routes[3]", []string{"teacher"}, false}}},
		{"antifall at night: root", alerting.Alarm{Severity: alerting.Major, DeviceKind: event.KindAntiFall}, night,
			[]hit{{"routes", []string{"staff"}, false}}},
	}
	cfg := routingConfig()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := cfg.Route(tc.a, tc.now, schedules{})
			if err != nil {
				t.Fatal(err)
			}
			var gh []hit
			for _, g := range got {
				gh = append(gh, hit{g.Path, g.Sinks, g.Grouped})
			}
			if !reflect.DeepEqual(gh, tc.want) {
				t.Fatalf("routes %+v, want %+v", gh, tc.want)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(c *alerting.Config)
		want []string // key paths with problems
	}{
		{"defaults are valid", func(c *alerting.Config) {}, nil},
		{"short retention", func(c *alerting.Config) { c.Retention = 24 * time.Hour }, []string{"retention"}},
		{"bad route", func(c *alerting.Config) {
			c.Routes.Routes = []alerting.Route{{Match: alerting.Matchers{"severity": "urgent"}}, {MatchRE: map[string]string{"zone": "("}, GroupWait: -1}}
		}, []string{"routes.routes[0].match.severity", "routes.routes[1].match_re.zone", "routes.routes[1].group_wait"}},
		{"tiers", func(c *alerting.Config) {
			c.Escalation.Tiers = []alerting.Tier{{After: 5 * time.Minute, Sinks: []string{"a"}}, {After: time.Minute}}
		}, []string{"escalation.tiers[1].after", "escalation.tiers[1].sinks"}},
		{"static silence", func(c *alerting.Config) {
			c.Silences = []alerting.StaticSilence{{Start: "tomorrow"}}
		}, []string{"silences[0].matchers", "silences[0].start", "silences[0].reason"}},
		{"inhibit", func(c *alerting.Config) { c.Inhibit = []alerting.InhibitRule{{}} },
			[]string{"inhibit[0].source_match", "inhibit[0].target_match"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var c alerting.Config
			tc.edit(&c)
			c.SetDefaults(cfgerr.Env{})
			var errs cfgerr.List
			c.Validate(&errs)
			var keys []string
			for _, e := range errs.Errs {
				keys = append(keys, e.Key)
			}
			if !reflect.DeepEqual(keys, tc.want) {
				t.Fatalf("problems at %v, want %v\n%v", keys, tc.want, errs.Error())
			}
		})
	}
}

func TestValidateSinks(t *testing.T) {
	c := routingConfig()
	c.MandatorySinks = []string{"polic"}
	c.SetDefaults(cfgerr.Env{})
	var errs cfgerr.List
	c.ValidateSinks([]string{"staff", "mqtt", "siren", "webhook", "kitchen-manager"}, &errs)
	got := errs.Error()
	for _, want := range []string{`routes.routes[3].sinks[0]: unknown sink "teacher"`, `mandatory_sinks[0]: unknown sink "polic"`} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
}
