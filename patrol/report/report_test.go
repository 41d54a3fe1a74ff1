package report

import (
	"bytes"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/campusguard/campusguard/event"
	"github.com/campusguard/campusguard/internal/testenv"
	"github.com/campusguard/campusguard/patrol"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var shanghai, _ = time.LoadLocation("Asia/Shanghai")

type memStore struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (s *memStore) PutState(n string, b []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[n] = append([]byte{}, b...)
	return nil
}

func (s *memStore) GetState(n string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[n], nil
}

func at(s string) time.Time {
	day := "2026-11-20 "
	if strings.HasPrefix(s, "+1 ") {
		day, s = "2026-11-21 ", s[3:]
	}
	t, err := time.ParseInLocation("2006-01-02 15:04", day+s, shanghai)
	if err != nil {
		panic(err)
	}
	return t
}

func dur(s string) *time.Duration { d, _ := time.ParseDuration(s); return &d }

// night: a day with four night patrols (20:00, 22:00, 00:00, 02:00): one perfect, one
// with a late and a missed checkpoint, one by two guards out of order, one not started.
func night(t *testing.T) (*patrol.Tracker, *memStore) {
	t.Helper()
	cfg := patrol.Config{
		Checkpoints: []patrol.Checkpoint{
			{ID: "CP-01", Name: "校门", Location: "校门门卫室外"},
			{ID: "CP-02", Name: "教学楼", Location: "教学楼东侧楼梯口"},
			{ID: "CP-03", Name: "操场", Location: "操场北侧围墙"},
		},
		Guards: []patrol.Guard{{ID: "zhangwei", Name: "张伟", Cards: []string{"A1B2C3D4"}}, {ID: "lina", Name: "李娜", Cards: []string{"B5C6D7E8"}}},
		Routes: []patrol.Route{{ID: "night", Name: "夜间巡查路线", Checkpoints: []patrol.Stop{{Checkpoint: "CP-01"},
			{Checkpoint: "CP-02", Leg: 5 * time.Minute}, {Checkpoint: "CP-03", Leg: 5 * time.Minute}}}},
		Plans: []patrol.Plan{{ID: "night", Name: "夜间巡查", Route: "night", Every: 2 * time.Hour, From: "20:00", Until: "02:00",
			StartTolerance: dur("10m"), Tolerance: dur("2m")}},
	}
	tr, err := patrol.New(cfg, patrol.Options{Site: "s01", Location: shanghai})
	if err != nil {
		t.Fatal(err)
	}
	store := &memStore{m: map[string][]byte{}}
	tr.Tick(at("19:00"))
	scan := func(when, card, cp string) {
		tm := at(when)
		tr.Scan(tm, event.Event{DeviceID: "patrol-reader-1", Kind: event.KindPatrol, Type: event.TypeScan,
			Fields: event.Fields{"card": card, "checkpoint": cp}, ReceivedAt: tm})
	}
	scan("20:01", "A1B2C3D4", "CP-01")
	scan("20:06", "A1B2C3D4", "CP-02")
	scan("20:11", "A1B2C3D4", "CP-03")
	scan("22:00", "A1B2C3D4", "CP-01")
	scan("22:09", "A1B2C3D4", "CP-02") // late
	tr.Tick(at("22:20"))               // CP-03 missed
	scan("+1 00:02", "B5C6D7E8", "CP-02")
	scan("+1 00:04", "A1B2C3D4", "CP-01")
	scan("+1 00:09", "B5C6D7E8", "CP-03")
	tr.Tick(at("+1 03:00")) // 02:00 not started
	if err := patrol.SaveResults(store, tr.DrainResults(), at("+1 03:00"), 90*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	return tr, store
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	testenv.Golden(t, filepath.Join("testdata", name), got, *update)
}

func TestReportGolden(t *testing.T) {
	_, store := night(t)
	rep, err := Load(store, "2026-11-20")
	if err != nil {
		t.Fatal(err)
	}
	tot := rep.Totals
	if tot.Runs != 4 || tot.Completed != 2 || tot.Incomplete != 1 || tot.NotStarted != 1 || tot.CompletionRate != 0.5 ||
		tot.Late != 1 || tot.Missed != 4 || tot.OutOfOrder != 2 || tot.Planned != 12 || tot.Visited != 8 {
		t.Errorf("totals %+v", tot)
	}
	var buf bytes.Buffer
	if err := rep.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	golden(t, "2026-11-20.json", buf.Bytes())
	for _, v := range Views {
		buf.Reset()
		if err := rep.WriteCSV(&buf, v); err != nil {
			t.Fatal(err)
		}
		golden(t, "2026-11-20-"+v+".csv", buf.Bytes())
	}
	buf.Reset()
	if err := loadText(&buf, store, "2026-11-20"); err != nil {
		t.Fatal(err)
	}
	golden(t, "2026-11-20.txt", buf.Bytes())

	buf.Reset()
	if err := loadText(&buf, store, "2026-11-19"); err != nil || !strings.Contains(buf.String(), "No patrols") {
		t.Errorf("empty day: %q %v", buf.String(), err)
	}
	if _, err := Load(store, "20-11-2026"); err == nil {
		t.Error("a bad date was accepted")
	}
	if err := rep.WriteCSV(io.Discard, "pie"); err == nil {
		t.Error("an unknown view was accepted")
	}
}

func TestHandler(t *testing.T) {
	tr, store := night(t)
	// A run in progress on the 21st shows in that day's live report.
	tr.Scan(at("+1 20:01"), event.Event{DeviceID: "r", Kind: event.KindPatrol, Type: event.TypeScan,
		Fields: event.Fields{"card": "A1B2C3D4", "checkpoint": "CP-01"}, ReceivedAt: at("+1 20:01")})
	srv := httptest.NewServer(&Handler{Store: store, Location: shanghai, Live: tr.Active, Now: func() time.Time { return at("+1 20:30") }})
	defer srv.Close()
	get := func(q string) (int, string, string) {
		resp, err := http.Get(srv.URL + "/api/patrol/report" + q)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
	}
	tests := []struct {
		q, ctype, contains string
		code               int
	}{
		{"?date=2026-11-20", "application/json", `"completion_rate": 0.5`, 200},
		{"?date=2026-11-20&format=csv", "text/csv; charset=utf-8", "2026-11-20,TOTAL,,,4,2,1,1,50.0,", 200},
		{"?date=2026-11-20&format=csv&view=runs", "text/csv; charset=utf-8", "night@2026-11-20T22:00,night,night", 200},
		{"", "application/json", `"in_progress": 1`, 200}, // today (the 21st): the live run
		{"?date=yesterday", "text/plain; charset=utf-8", "YYYY-MM-DD", 400},
		{"?date=2026-11-20&format=xml", "text/plain; charset=utf-8", "json or csv", 400},
		{"?date=2026-11-20&format=csv&view=pie", "text/plain; charset=utf-8", "unknown view", 400},
	}
	for _, tc := range tests {
		code, ctype, body := get(tc.q)
		if code != tc.code || ctype != tc.ctype || !strings.Contains(body, tc.contains) {
			t.Errorf("%s: %d %s\n%s", tc.q, code, ctype, body)
		}
	}
	resp, err := http.Post(srv.URL+"/api/patrol/report", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", resp.StatusCode)
	}
}

func FuzzHandlerQuery(f *testing.F) {
	_, store := night(&testing.T{})
	h := &Handler{Store: store, Location: shanghai}
	for _, s := range []string{"date=2026-11-20", "date=2026-11-20&format=csv&view=runs", "date=%00", "format=csv&view=x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		req := httptest.NewRequest(http.MethodGet, "/api/patrol/report", nil)
		req.URL.RawQuery = q
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 && rec.Code != 400 {
			t.Fatalf("%q: %d", q, rec.Code)
		}
	})
}

// loadText writes the text report of a stored day, as campusguard patrol report does.
func loadText(w io.Writer, store patrol.Store, date string) error {
	r, err := Load(store, date)
	if err != nil {
		return err
	}
	return r.WriteText(w)
}
