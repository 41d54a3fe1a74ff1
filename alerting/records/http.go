package records

import (
	"bytes"
	"net/http"
	"time"
)

// Handler serves GET ?from=YYYY-MM-DD&to=YYYY-MM-DD&format=csv|json[&table=alarms|
// records]: the export of the days from..to (inclusive) in the site's time zone.
// format defaults to json; a CSV holds one table (default alarms).
type Handler struct {
	Source   Source
	Location *time.Location // the site's time zone (nil: UTC)
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	q := req.URL.Query()
	from, to, err := Range(q.Get("from"), q.Get("to"), h.Location)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	format, table := q.Get("format"), q.Get("table")
	if format != "" && format != "json" && format != "csv" {
		http.Error(w, "format: want csv or json", http.StatusBadRequest)
		return
	}
	if table != "" && table != TableAlarms && table != TableRecords {
		http.Error(w, "table: want alarms or records", http.StatusBadRequest)
		return
	}
	e, err := Collect(h.Source, from, to, h.Location)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	name := "records-" + q.Get("from") + "-" + q.Get("to")
	if format == "csv" {
		if table == "" {
			table = TableAlarms
		}
		if err := e.WriteCSV(&buf, table); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+"-"+table+`.csv"`)
	} else {
		if err := e.WriteJSON(&buf); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.json"`)
	}
	_, _ = w.Write(buf.Bytes())
}
