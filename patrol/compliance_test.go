package patrol

import (
	"fmt"
	"testing"
	"time"

	"github.com/campusguard/campusguard/event"
)

// roundsConfig: route "night" every 2h from 20:00 to 06:00 (six rounds), the site's
// default policy of 5 rounds a day.
func roundsConfig() Config {
	cfg := testConfig()
	cfg.Compliance = Compliance{}
	cfg.Plans = []Plan{{ID: "night", Name: "夜间巡查", Route: "night", Every: 2 * time.Hour, From: "20:00", Until: "06:00",
		StartTolerance: d("10m"), StartEarly: d("5m"), Tolerance: d("2m")}}
	return cfg
}

// round scans the night route's four checkpoints on time from start ("20:00", "+1 02:00").
func round(start string) []step {
	prefix, hm := "", start
	if len(start) > 5 {
		prefix, hm = start[:3], start[3:]
	}
	t, _ := time.Parse("15:04", hm)
	var out []step
	for i, cp := range []string{"CP-01", "CP-02", "CP-03", "CP-04"} {
		out = append(out, step{at: prefix + t.Add(time.Duration(5*i)*time.Minute).Format("15:04"), card: zhang, cp: cp})
	}
	return out
}

// judgements plays steps and returns the judgement events only, as "type rounds/required
// [compliant] reason".
func judgements(t *testing.T, tr *Tracker, steps []step) ([]string, []event.Event) {
	t.Helper()
	var out []string
	var evs []event.Event
	for _, s := range steps {
		var got []event.Event
		if s.card == "" {
			got = tr.Tick(at(s.at))
		} else {
			got = tr.Scan(at(s.at), scanEvent(s))
		}
		for _, e := range got {
			if e.Type != TypeRoundsShort && e.Type != TypeDayJudged {
				continue
			}
			checkEvent(t, e)
			line := fmt.Sprintf("%s %s %d/%d", s.at, e.Type, e.Fields["rounds"], e.Fields["required"])
			if c, ok := e.Fields["compliant"].(bool); ok {
				line += fmt.Sprintf(" compliant=%v", c)
			}
			out = append(out, line)
			evs = append(evs, e)
		}
	}
	return out, evs
}

func TestComplianceJudgedLive(t *testing.T) {
	cat := func(s ...[]step) []step {
		var out []step
		for _, x := range s {
			out = append(out, x...)
		}
		return out
	}
	tests := []struct {
		name  string
		steps []step
		want  []string
	}{
		{"six rounds: compliant", cat(round("20:00"), round("22:00"), round("+1 00:00"), round("+1 02:00"),
			round("+1 04:00"), round("+1 06:00"), []step{{at: "+1 07:00"}}),
			[]string{"+1 06:15 patrol_day_judged 6/5 compliant=true"}},
		{"five rounds: compliant", cat(round("20:00"), round("22:00"), round("+1 00:00"), round("+1 02:00"),
			round("+1 04:00"), []step{{at: "+1 07:00"}}),
			[]string{"+1 07:00 patrol_day_judged 5/5 compliant=true"}},
		// Two rounds missed by 02:10: the night can make only four. The duty screen
		// hears it then, four hours before the shift ends.
		{"heading short: warned before the end", cat(round("20:00"), round("22:00"), []step{{at: "+1 00:30"}, {at: "+1 02:30"}},
			round("+1 04:00"), []step{{at: "+1 07:00"}}),
			[]string{"+1 02:30 patrol_rounds_short 2/5", "+1 07:00 patrol_day_judged 3/5 compliant=false"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := New(roundsConfig(), Options{Site: "s01", Location: shanghai})
			if err != nil {
				t.Fatal(err)
			}
			tr.Tick(at("00:00")) // watching since the day began
			got, evs := judgements(t, tr, tc.steps)
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("judgements\n  %q\nwant\n  %q", got, tc.want)
			}
			for _, e := range evs {
				if e.Fields.String("reason") == "" || e.DeviceID != AreaDevice(DefaultAreaID) {
					t.Errorf("event without reason or area device: %v", e)
				}
			}
		})
	}
}

// TestComplianceSurvivesRestart: the rounds done are part of the tracker's state.
func TestComplianceSurvivesRestart(t *testing.T) {
	tr, _ := New(roundsConfig(), Options{Site: "s01", Location: shanghai})
	tr.Tick(at("00:00"))
	judgements(t, tr, append(round("20:00"), round("22:00")...))
	b, err := tr.MarshalState()
	if err != nil {
		t.Fatal(err)
	}
	tr2, _ := New(roundsConfig(), Options{Site: "s01", Location: shanghai})
	if _, err := tr2.RestoreState(b); err != nil {
		t.Fatal(err)
	}
	var steps []step
	for _, s := range []string{"+1 00:00", "+1 02:00", "+1 04:00"} {
		steps = append(steps, round(s)...)
	}
	got, _ := judgements(t, tr2, append(steps, step{at: "+1 07:00"}))
	if want := "[+1 07:00 patrol_day_judged 5/5 compliant=true]"; fmt.Sprint(got) != want {
		t.Errorf("after restart %q, want %s", got, want)
	}
}
