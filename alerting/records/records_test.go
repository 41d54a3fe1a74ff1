package records

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/alerting/journal"
)

var shanghai = time.FixedZone("CST", 8*3600)

func seed(t *testing.T) *journal.Journal {
	t.Helper()
	at := time.Date(2026, 11, 20, 22, 5, 0, 0, shanghai)
	j, err := journal.Open(filepath.Join(t.TempDir(), "j.db"), journal.Options{Clock: clockwork.NewFakeClockAt(at)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	a := alerting.Alarm{ID: "a1", Rule: "intrusion", Key: "pir-1", DeviceID: "pir-1", Class: alerting.ClassIntrusion,
		Zone: "balcony", Location: "教学楼三楼阳台", Severity: alerting.Critical, Message: "防坠落阳台有人闯入",
		State: alerting.Resolved, Count: 1, FiredAt: at, LastAt: at, AckedAt: at.Add(time.Minute), AckedBy: "王保安",
		AckNote: "已到场", ResolvedAt: at.Add(5 * time.Minute), ResolvedBy: "王保安"}
	outside := a
	outside.ID, outside.FiredAt = "a0", at.AddDate(0, 0, -3)
	err = j.Commit(alerting.Commit{
		Alarms: []alerting.AlarmRecord{{Alarm: a, Transitions: 3}, {Alarm: outside, Transitions: 1}},
		History: []alerting.HistoryRecord{
			{At: at, AlarmID: "a1", Action: "fired", State: alerting.Firing, Severity: alerting.Critical, DeviceID: "pir-1", Zone: "balcony"},
			{At: at.Add(time.Minute), AlarmID: "a1", Action: "acknowledged", By: "王保安", Note: "已到场"},
			{At: at.Add(5 * time.Minute), AlarmID: "a1", Action: "resolved", By: "王保安"},
			{At: at.Add(10 * time.Minute), Action: "armed", By: "李主任", Zone: "balcony", Note: "晚自习结束"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if os.Getenv("UPDATE_GOLDEN") != "" {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\n%s", name, got)
	}
}

func TestExportFormats(t *testing.T) {
	j := seed(t)
	from, to, err := Range("2026-11-20", "2026-11-20", shanghai)
	if err != nil {
		t.Fatal(err)
	}
	e, err := Collect(j, from, to, shanghai)
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Alarms) != 1 || len(e.Records) != 4 {
		t.Fatalf("export has %d alarms and %d records, want 1 and 4", len(e.Alarms), len(e.Records))
	}
	tests := []struct {
		file  string
		write func(*bytes.Buffer) error
	}{
		{"alarms.csv", func(b *bytes.Buffer) error { return e.WriteCSV(b, TableAlarms) }},
		{"records.csv", func(b *bytes.Buffer) error { return e.WriteCSV(b, TableRecords) }},
		{"export.json", func(b *bytes.Buffer) error { return e.WriteJSON(b) }},
	}
	for _, tc := range tests {
		var b bytes.Buffer
		if err := tc.write(&b); err != nil {
			t.Fatal(err)
		}
		golden(t, tc.file, b.Bytes())
	}
}

func TestHandler(t *testing.T) {
	h := &Handler{Source: seed(t), Location: shanghai}
	tests := []struct {
		query string
		code  int
	}{
		{"from=2026-11-20&to=2026-11-20&format=csv", http.StatusOK},
		{"from=2026-11-20&to=2026-11-20&format=csv&table=records", http.StatusOK},
		{"from=2026-11-20&to=2026-11-20", http.StatusOK},
		{"from=2026-11-21&to=2026-11-20", http.StatusBadRequest},
		{"from=yesterday&to=2026-11-20", http.StatusBadRequest},
		{"from=2026-11-20&to=2026-11-20&format=xml", http.StatusBadRequest},
	}
	for _, tc := range tests {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/?"+tc.query, nil))
		if rec.Code != tc.code {
			t.Errorf("%s: %d %s, want %d", tc.query, rec.Code, rec.Body, tc.code)
		}
	}
}
