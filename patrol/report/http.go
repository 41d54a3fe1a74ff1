package report

import (
	"bytes"
	"net/http"
	"time"

	"github.com/campusguard/campusguard/patrol"
)

// Handler serves GET /api/patrol/report?date=2026-11-20&format=json|csv[&view=plans|
// guards|checkpoints|runs]. date defaults to today in Location; format to json.
type Handler struct {
	Store    patrol.Store
	Location *time.Location // the site's time zone (nil: UTC)
	// Live, when set, returns the runs in progress (patrol.Runner.Active): today's
	// report then shows them too (in_progress).
	Live func() []patrol.RunResult
	// Now is the clock for the default date (nil: time.Now).
	Now func() time.Time
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	q := req.URL.Query()
	date := q.Get("date")
	if date == "" {
		now := time.Now
		if h.Now != nil {
			now = h.Now
		}
		loc := h.Location
		if loc == nil {
			loc = time.UTC
		}
		date = now().In(loc).Format(time.DateOnly)
	}
	if _, err := time.Parse(time.DateOnly, date); err != nil {
		http.Error(w, "date: want YYYY-MM-DD", http.StatusBadRequest)
		return
	}
	format := q.Get("format")
	view := q.Get("view")
	switch format {
	case "", "json", "csv":
	default:
		http.Error(w, "format: want json or csv", http.StatusBadRequest)
		return
	}
	runs, err := patrol.LoadDay(h.Store, date)
	if err != nil {
		http.Error(w, "patrol results unavailable", http.StatusInternalServerError)
		return
	}
	if h.Live != nil {
		runs = append(runs, h.Live()...)
	}
	rep := Build(date, runs)
	var buf bytes.Buffer
	if format == "csv" {
		if err := rep.WriteCSV(&buf, view); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if view == "" {
			view = ViewPlans
		}
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="patrol-`+date+`-`+view+`.csv"`)
	} else {
		if err := rep.WriteJSON(&buf); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
	}
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
}
