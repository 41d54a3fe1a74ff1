package policelink

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/cfgerr"
	"github.com/campusguard/campusguard/event"
	"github.com/campusguard/campusguard/secret"
)

// classMappings is the demo's order: by what happened, then the device kind for
// alarms without a class.
func classMappings() []Mapping {
	return []Mapping{
		{Match: Match{Class: alerting.ClassPanic}, Code: 120, Restore: true},
		{Match: Match{Class: alerting.ClassIntrusion}, Code: 130, Restore: true},
		{Match: Match{Class: alerting.ClassTamper}, Code: 144, Restore: true},
		{Match: Match{Class: alerting.ClassFault}, Code: 380, Restore: true},
		{Match: Match{Class: alerting.ClassOffline}, Code: 381, Restore: true},
		{Match: Match{Kind: event.KindPanic}, Code: 120, Restore: true},
	}
}

// TestMappingByClass: a panic button's cut cable (class tamper, device kind panic)
// is reported as a tamper, not as a panic; an alarm without a class falls back to
// its device kind.
func TestMappingByClass(t *testing.T) {
	cfg := Config{Account: "1234", Mappings: classMappings()}
	cfg.SetDefaults(cfgerr.Env{})
	tests := []struct {
		class alerting.Class
		kind  event.Kind
		code  int
		sia   string
	}{
		{alerting.ClassPanic, event.KindPanic, 120, "PA"},
		{alerting.ClassTamper, event.KindPanic, 144, "TA"},
		{alerting.ClassIntrusion, event.KindAntiFall, 130, "BA"},
		{alerting.ClassFault, event.KindPanic, 380, "YX"},
		{alerting.ClassOffline, event.KindKitchenCamera, 381, "YC"},
		{"", event.KindPanic, 120, "PA"},
	}
	n := fired("l", epoch)
	n.Alarm.Class, n.Alarm.DeviceID, n.Alarm.DeviceKind = alerting.ClassLink, DeviceID, event.KindSystem
	if _, send, err := cfg.ReportFor(n, nil); send || err != nil {
		t.Errorf("a police-link alarm: send %v, err %v; want neither sent nor rejected", send, err)
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%s", tt.class, tt.kind), func(t *testing.T) {
			n := fired("c", epoch)
			n.Alarm.Class, n.Alarm.DeviceKind = tt.class, tt.kind
			rep, send, err := cfg.ReportFor(n, nil)
			if err != nil || !send || rep.Code != tt.code || rep.SIA != tt.sia {
				t.Errorf("ReportFor = %+v, %v, %v; want code %d (%s)", rep, send, err, tt.code, tt.sia)
			}
		})
	}
}

// TestShadowedMapping: check reports a mapping that an earlier one makes unreachable,
// at the shadowed entry.
func TestShadowedMapping(t *testing.T) {
	tests := []struct {
		name string
		ms   []Mapping
		want []string // "key: message" prefixes
	}{
		{"by class, disjoint", classMappings(), nil},
		{"kind before class", []Mapping{
			{Match: Match{Kind: event.KindPanic}, Code: 120},
			{Match: Match{Class: alerting.ClassTamper, Kind: event.KindPanic}, Code: 144},
		}, []string{"mappings[1].match: never used: mappings[0] (kind: panic) matches every alarm it matches"}},
		{"class panic first", []Mapping{
			{Match: Match{Class: alerting.ClassPanic}, Code: 120},
			{Match: Match{Class: alerting.ClassPanic, Device: "dorm-btn-3"}, Code: 122},
		}, []string{"mappings[1].match: never used: mappings[0] (class: panic) matches every alarm it matches"}},
		{"specific first is fine", []Mapping{
			{Match: Match{Class: alerting.ClassPanic, Device: "dorm-btn-3"}, Code: 122},
			{Match: Match{Class: alerting.ClassPanic}, Code: 120},
		}, nil},
		{"empty match", []Mapping{
			{Code: 120},
			{Match: Match{Rule: "x", Labels: map[string]string{"a": "b"}}, Code: 130},
		}, []string{"mappings[1].match: never used: mappings[0] (empty match)"}},
		{"labels", []Mapping{
			{Match: Match{Labels: map[string]string{"floor": "3"}}, Code: 120},
			{Match: Match{Labels: map[string]string{"floor": "3", "b": "1"}}, Code: 130},
			{Match: Match{Labels: map[string]string{"floor": "4"}}, Code: 130},
		}, []string{"mappings[1].match: never used: mappings[0] (labels.floor: 3)"}},
		{"unknown class", []Mapping{{Match: Match{Class: "fire"}, Code: 110}}, []string{`mappings[0].match.class: unknown alarm class "fire"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			c.Mappings = tt.ms
			c.SetDefaults(cfgerr.Env{})
			var errs cfgerr.List
			c.Validate(&errs)
			var got []string
			for _, e := range errs.Errs {
				got = append(got, e.Key+": "+e.Msg)
			}
			sort.Strings(got)
			if len(got) != len(tt.want) {
				t.Fatalf("errors %q, want %q", got, tt.want)
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tt.want[i]) {
					t.Errorf("error %q, want %q", got[i], tt.want[i])
				}
			}
		})
	}
}

// TestKeyEncodingNotes (finding 2): check says how the other kind of receiver
// reads the key, and suggests the other encoding for a key that does not parse.
func TestKeyEncodingNotes(t *testing.T) {
	tests := []struct {
		name, key, enc string
		wantErr        string // in the key error
		wantNote       string
	}{
		{"32 hex digits, hex", haKey, "hex", "", "Home Assistant"},
		{"32 hex digits, ascii", haKey, "ascii", "", "set key_encoding: hex"},
		{"64 hex digits, hex", haKey + haKey, "hex", "", ""},
		{"16 characters, hex", "AAAAAAAAAAAAAAAA", "hex", "set key_encoding: ascii", ""},
		{"16 characters, ascii", "AAAAAAAAAAAAAAAA", "ascii", "", ""},
		{"64 hex digits, ascii", haKey + haKey, "ascii", "set key_encoding: hex", ""},
		{"20 characters, hex", "AAAAAAAAAAAAAAAAAAAA", "hex", "want 32, 48 or 64", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			c.Key, c.KeyEncoding = secret.Inline(tt.key), tt.enc
			c.SetDefaults(cfgerr.Env{})
			var errs, notes cfgerr.List
			c.Validate(&errs)
			c.Notes(&notes)
			gotErr, gotNote := errs.Error(), notes.Error()
			if tt.wantErr == "" && errs.Len() > 0 || tt.wantErr != "" && !strings.Contains(gotErr, tt.wantErr) {
				t.Errorf("errors %q, want %q", gotErr, tt.wantErr)
			}
			if tt.wantNote == "" && notes.Len() > 0 || tt.wantNote != "" && !strings.Contains(gotNote, tt.wantNote) {
				t.Errorf("notes %q, want %q", gotNote, tt.wantNote)
			}
			if strings.Contains(gotErr+gotNote, tt.key) {
				t.Errorf("the key is shown: %s %s", gotErr, gotNote)
			}
		})
	}
}

func TestProbeMainValidate(t *testing.T) {
	c := validConfig()
	c.Supervision.ProbeMain = 2 * time.Minute // longer than supervision.main (90s)
	c.SetDefaults(cfgerr.Env{})
	var errs cfgerr.List
	c.Validate(&errs)
	if errs.Len() != 1 || errs.Errs[0].Key != "supervision.probe_main" {
		t.Errorf("errors %v", errs.Err())
	}
	c = validConfig()
	c.SetDefaults(cfgerr.Env{})
	if c.Supervision.ProbeMain != DefaultProbeMain {
		t.Errorf("default probe_main %v", c.Supervision.ProbeMain)
	}
}
