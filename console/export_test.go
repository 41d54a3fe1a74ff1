package console_test

import (
	"strings"
	"testing"
	"time"
)

// TestRecordsExport: an operator downloads the day's records with Chinese headers; a
// guard may not.
func TestRecordsExport(t *testing.T) {
	e := newEnv(t, envOpts{})
	op := e.login("admin")
	day := time.Now().UTC().Format(time.DateOnly)
	from, to := time.Now().AddDate(0, 0, -1).Format(time.DateOnly), time.Now().AddDate(0, 0, 1).Format(time.DateOnly)
	resp, b := op.do("GET", "/api/records/export?format=csv&table=records&from="+from+"&to="+to, nil, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("export: %d %s", resp.StatusCode, b)
	}
	if !strings.Contains(string(b), "序号,时间,动作") || !strings.Contains(string(b), "login,admin") {
		t.Errorf("export lacks the header or the login record:\n%s", b)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Errorf("content type %q", ct)
	}
	if resp, _ := op.do("GET", "/api/records/export?from=bad&to="+day, nil, nil); resp.StatusCode != 400 {
		t.Errorf("bad range: %d", resp.StatusCode)
	}
	g := e.login("zhangwei")
	if resp, _ := g.do("GET", "/api/records/export?from="+day+"&to="+day, nil, nil); resp.StatusCode != 403 {
		t.Errorf("guard export: %d, want 403", resp.StatusCode)
	}
}
