package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/alerting/journal"
)

// TestRecordsExport: with no daemon answering, the export reads the journal file: the
// day's alarms with Chinese headers as CSV, both tables as JSON; bad ranges are refused.
func TestRecordsExport(t *testing.T) {
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nobody answers there: the file is read
	cfg := filepath.Join(dir, "campusguard.yaml")
	if err := os.WriteFile(cfg, []byte("site: {id: t1, zones: [{id: gate, number: 1}]}\nstate_dir: "+dir+"\nhttp: {listen: \""+addr+"\"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 20, 21, 30, 0, 0, time.FixedZone("CST", 8*3600))
	j, err := journal.Open(filepath.Join(dir, "journal.db"), journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	a := alerting.Alarm{ID: "t1-x-000001", Rule: "builtin-panic", Class: alerting.ClassPanic, Severity: alerting.Critical,
		Zone: "gate", Message: "门卫室一键报警", State: alerting.Firing, Count: 1, FiredAt: at, LastAt: at}
	err = j.Commit(alerting.Commit{Alarms: []alerting.AlarmRecord{{Alarm: a, Transitions: 1}},
		History: []alerting.HistoryRecord{{At: at, AlarmID: a.ID, Action: "fired"}, {At: at.Add(time.Minute), AlarmID: a.ID, Action: "acknowledged", By: "王芳"}}})
	j.Close()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--from", "2026-11-20"}, 0, "报警编号,发生时间,类别,级别"},
		{[]string{"--from", "2026-11-20", "--table", "records"}, 0, "acknowledged,王芳,t1-x-000001"},
		{[]string{"--from", "2026-11-19", "--to", "2026-11-20", "--format", "json"}, 0, `"操作记录"`},
		{[]string{"--from", "2026-11-21", "--to", "2026-11-20"}, 2, "before from"},
		{[]string{"--from", "2026-11-20", "--format", "xml"}, 2, "unknown format"},
		{[]string{}, 2, "usage"},
	}
	for _, tt := range tests {
		code, out, errOut := runCLI(append([]string{"records", "export", "--config", cfg}, tt.args...)...)
		if code != tt.code || !strings.Contains(out+errOut, tt.want) {
			t.Errorf("%v: exit %d (want %d)\nstdout: %s\nstderr: %s\nwant %q", tt.args, code, tt.code, out, errOut, tt.want)
		}
	}
}
