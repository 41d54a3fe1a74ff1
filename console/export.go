package console

import (
	"net/http"

	"github.com/campusguard/campusguard/alerting/records"
	"github.com/campusguard/campusguard/console/auth"
)

// apiExport is GET /api/records/export?from=YYYY-MM-DD&to=YYYY-MM-DD&format=csv|json
// [&table=alarms|records]: the records of a date range for the school's archive or an
// inspection, as campusguard records export writes them (operators only: the export
// names people).
func (c *Console) apiExport(w http.ResponseWriter, r *http.Request, s *auth.Session) {
	if c.deps.History == nil {
		apiError(w, http.StatusServiceUnavailable, "unavailable", "the alarm journal is not available")
		return
	}
	c.log.Info("console: records export", "by", s.User, "from", r.URL.Query().Get("from"), "to", r.URL.Query().Get("to"))
	h := records.Handler{Source: c.deps.History, Location: c.loc}
	h.ServeHTTP(w, r)
}
