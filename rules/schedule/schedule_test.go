package schedule

import (
	"strings"
	"testing"
	"time"

	"github.com/campusguard/campusguard/cfgerr"
)

var shanghai, _ = time.LoadLocation("Asia/Shanghai")

func at(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, shanghai)
	if err != nil {
		panic(err)
	}
	return t
}

var demo = Config{
	"school": {
		Windows:  []string{"mon-fri 07:30-17:30"},
		Holidays: []string{"2026-10-01..2026-10-07"},
		Workdays: []string{"2026-09-27", "2026-10-10 fri"},
	},
	"nights":    {Windows: []string{"22:00-06:00"}},
	"fri-night": {Windows: []string{"fri 22:00-06:00"}},
	"weekends":  {Windows: []string{"sat,sun"}},
	"off":       {Windows: []string{"daily"}, Exclude: []string{"school"}},
	"wrap":      {Windows: []string{"fri-mon 08:00-09:00"}},
	"either":    {Include: []string{"nights", "weekends"}},
}

func TestActive(t *testing.T) {
	set := MustCompile(demo, shanghai)
	tests := []struct {
		sched, at string
		want      bool
	}{
		{"school", "2026-11-20 07:29", false}, // Friday
		{"school", "2026-11-20 07:30", true},
		{"school", "2026-11-20 17:29", true},
		{"school", "2026-11-20 17:30", false}, // end is exclusive
		{"school", "2026-11-21 10:00", false}, // Saturday
		{"school", "2026-10-02 10:00", false}, // holiday (Friday)
		{"school", "2026-09-27 10:00", true},  // Sunday make-up day (as Monday)
		{"school", "2026-10-10 10:00", true},  // Saturday make-up day (as Friday)
		{"nights", "2026-11-20 21:59", false},
		{"nights", "2026-11-20 22:00", true},
		{"nights", "2026-11-20 23:59", true},
		{"nights", "2026-11-21 00:00", true}, // across midnight
		{"nights", "2026-11-21 05:59", true},
		{"nights", "2026-11-21 06:00", false},
		{"fri-night", "2026-11-21 03:00", true},  // Saturday morning belongs to Friday night
		{"fri-night", "2026-11-20 03:00", false}, // Friday morning belongs to Thursday night
		{"fri-night", "2026-11-21 23:00", false},
		{"weekends", "2026-11-22 23:59", true},
		{"weekends", "2026-11-23 00:00", false},
		{"off", "2026-11-20 10:00", false},
		{"off", "2026-11-20 18:00", true},
		{"off", "2026-10-02 10:00", true},
		{"wrap", "2026-11-23 08:30", true}, // Monday in fri-mon
		{"wrap", "2026-11-24 08:30", false},
		{"either", "2026-11-22 12:00", true},
		{"either", "2026-11-24 23:00", true},
		{"either", "2026-11-24 12:00", false},
		{"unknown", "2026-11-24 12:00", false},
	}
	for _, tc := range tests {
		if got := set.Active(tc.sched, at(tc.at)); got != tc.want {
			t.Errorf("%s at %s: got %v, want %v", tc.sched, tc.at, got, tc.want)
		}
	}
	// The same instant given in UTC is evaluated on the site's wall clock.
	if !set.Active("nights", time.Date(2026, 11, 20, 16, 30, 0, 0, time.UTC)) { // 00:30 Shanghai
		t.Error("UTC instant not converted to the site's zone")
	}
}

// Asia/Shanghai has no DST: every day of a year is 24 h and a window opens every day.
func TestShanghaiNoDST(t *testing.T) {
	set := MustCompile(Config{"n": {Windows: []string{"22:00-06:00"}}}, shanghai)
	day := at("2026-01-01 23:00")
	for i := 0; i < 365; i++ {
		d := day.AddDate(0, 0, i)
		if d.Sub(day.Add(time.Duration(i)*24*time.Hour)) != 0 || !set.Active("n", d) || set.Active("n", d.Add(-2*time.Hour)) {
			t.Fatalf("day %d: %v", i, d)
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		cfg  Config
		want string
	}{
		{Config{"a": {Windows: []string{"mon-fri 7:30-17:30"}}}, ""},
		{Config{"a": {Windows: []string{"mon-fry 07:30-17:30"}}}, `a.windows[0]: days "mon-fry": unknown day "fry"`},
		{Config{"a": {Windows: []string{"mon 25:00-26:00"}}}, `a.windows[0]: window "mon 25:00-26:00": time "25:00": not a valid HH:MM`},
		{Config{"a": {Windows: []string{"08:00-08:00"}}}, "start equals end"},
		{Config{"a": {Windows: []string{"a b c"}}}, `want "DAYS"`},
		{Config{"a": {}}, "a: schedule has no windows and includes nothing: it never matches"},
		{Config{"a": {Windows: []string{"daily"}, Exclude: []string{"b"}}, "b": {Windows: []string{"daily"}}}, "a: schedule can never match"},
		{Config{"a": {Windows: []string{"mon 08:00-09:00"}, Exclude: []string{"b"}}, "b": {Windows: []string{"mon 07:00-10:00"}}}, "a: schedule can never match"},
		{Config{"a": {Windows: []string{"mon 08:00-09:00"}, Exclude: []string{"b"}}, "b": {Windows: []string{"mon 07:00-08:30"}}}, ""},
		{Config{"a": {Include: []string{"b"}}, "b": {Include: []string{"a"}}}, "cycle"},
		{Config{"a": {Include: []string{"zz"}}}, `a.include[0]: unknown schedule "zz"`},
		{Config{"a": {Windows: []string{"daily"}, Holidays: []string{"2026-13-01"}}}, "a.holidays[0]: date"},
		{Config{"a": {Windows: []string{"daily"}, Holidays: []string{"2026-10-07..2026-10-01"}}}, "ends before it starts"},
		{Config{"a": {Windows: []string{"daily"}, Holidays: []string{"2026-10-01"}, Workdays: []string{"2026-10-01"}}}, "both a holiday and a workday"},
		{Config{"a": {Windows: []string{"daily"}, Workdays: []string{"2026-10-01 someday"}}}, "unknown weekday"},
	}
	for _, tc := range tests {
		errs := &cfgerr.List{}
		tc.cfg.Validate(errs)
		got := ""
		if errs.Len() > 0 {
			got = errs.Error()
		}
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%v: got %q, want %q", tc.cfg, got, tc.want)
		}
	}
}

func BenchmarkActive(b *testing.B) {
	set := MustCompile(demo, shanghai)
	t0 := at("2026-11-20 23:00")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		set.Active("off", t0.Add(time.Duration(i)*time.Minute))
	}
}
