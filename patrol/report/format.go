package report

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/campusguard/campusguard/patrol"
)

// CSV views: which table WriteCSV writes.
const (
	ViewPlans       = "plans"       // one row per plan (default)
	ViewGuards      = "guards"      // one row per guard
	ViewCheckpoints = "checkpoints" // one row per checkpoint
	ViewRuns        = "runs"        // one row per checkpoint of every run (the detail)
)

// Views lists the CSV views.
var Views = []string{ViewPlans, ViewGuards, ViewCheckpoints, ViewRuns, ViewCompliance}

func itoa(n int) string { return strconv.Itoa(n) }

func pct(f float64) string { return strconv.FormatFloat(f*100, 'f', 1, 64) }

func ts(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.RFC3339)
}

// WriteCSV writes one view of the report as CSV with a header row (UTF-8; names in
// Chinese are kept as they are).
func (r *Report) WriteCSV(w io.Writer, view string) error {
	cw := csv.NewWriter(w)
	var rows [][]string
	switch view {
	case "", ViewPlans:
		rows = append(rows, []string{"date", "plan", "name", "route", "runs", "completed", "incomplete", "not_started",
			"completion_pct", "checkpoints_planned", "checkpoints_visited", "ok", "late", "early", "out_of_order", "missed", "guards"})
		for _, p := range r.Plans {
			rows = append(rows, append([]string{r.Date, p.Plan, p.Name, p.Route}, append(countCells(p.Counts), strings.Join(p.Guards, " "))...))
		}
		rows = append(rows, append([]string{r.Date, "TOTAL", "", ""}, append(countCells(r.Totals.Counts), "")...))
	case ViewGuards:
		rows = append(rows, []string{"date", "guard", "name", "runs", "completed", "scans", "ok", "late", "early", "out_of_order"})
		for _, g := range r.Guards {
			rows = append(rows, []string{r.Date, g.Guard, g.Name, itoa(g.Runs), itoa(g.Completed), itoa(g.Scans),
				itoa(g.OK), itoa(g.Late), itoa(g.Early), itoa(g.OutOfOrder)})
		}
	case ViewCheckpoints:
		rows = append(rows, []string{"date", "checkpoint", "name", "location", "planned", "visited", "ok", "late", "early", "out_of_order", "missed"})
		for _, c := range r.Checkpoints {
			rows = append(rows, []string{r.Date, c.Checkpoint, c.Name, c.Location, itoa(c.Planned), itoa(c.Visited),
				itoa(c.OK), itoa(c.Late), itoa(c.Early), itoa(c.OutOfOrder), itoa(c.Missed)})
		}
	case ViewRuns:
		rows = append(rows, []string{"date", "run", "plan", "route", "scheduled", "started", "ended", "run_status",
			"seq", "checkpoint", "name", "location", "status", "expected", "scanned", "delay_s", "guard", "card"})
		for _, run := range r.Runs {
			for i, c := range run.Checkpoints {
				rows = append(rows, []string{r.Date, run.Run, run.Plan, run.Route, ts(run.Scheduled), ts(run.Started), ts(run.Ended), run.Status,
					itoa(i + 1), c.Checkpoint, c.Name, c.Location, c.Status, ts(c.Expected), ts(c.Scanned),
					strconv.FormatInt(c.DelayS, 10), name(c.GuardName, c.Guard), c.Card})
			}
		}
	case ViewCompliance:
		rows = append(rows, []string{"date", "area", "name", "required", "rounds", "missed", "in_progress", "status", "reason"})
		for _, c := range r.Compliance {
			rows = append(rows, []string{r.Date, c.Area, c.Name, itoa(c.Required), itoa(c.Rounds), itoa(c.Missed),
				itoa(c.InProgress), c.Status, c.Reason})
		}
	default:
		return fmt.Errorf("patrol report csv: unknown view %q (want one of %v)", view, Views)
	}
	if err := cw.WriteAll(rows); err != nil {
		return fmt.Errorf("patrol report csv: %w", err)
	}
	return nil
}

func countCells(c Counts) []string {
	return []string{itoa(c.Runs), itoa(c.Completed), itoa(c.Incomplete), itoa(c.NotStarted), pct(c.CompletionRate),
		itoa(c.Planned), itoa(c.Visited), itoa(c.OK), itoa(c.Late), itoa(c.Early), itoa(c.OutOfOrder), itoa(c.Missed)}
}

// WriteText writes the report as text tables for a terminal.
func (r *Report) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	p := func(format string, a ...any) { fmt.Fprintf(tw, format, a...) }
	p("Patrol report %s\n\n", r.Date)
	if len(r.Runs) == 0 {
		p("No patrols recorded for this day.\n")
		return tw.Flush()
	}
	p("PLAN\tROUTE\tRUNS\tDONE\tINCOMPLETE\tNOT STARTED\tRATE\tMISSED\tLATE\tEARLY\tORDER\tGUARDS\n")
	for _, pl := range r.Plans {
		p("%s\t%s\t%d\t%d\t%d\t%d\t%s%%\t%d\t%d\t%d\t%d\t%s\n", name(pl.Name, pl.Plan), pl.Route, pl.Runs, pl.Completed, pl.Incomplete,
			pl.NotStarted, pct(pl.CompletionRate), pl.Missed, pl.Late, pl.Early, pl.OutOfOrder, strings.Join(pl.Guards, " "))
	}
	t := r.Totals
	p("TOTAL\t\t%d\t%d\t%d\t%d\t%s%%\t%d\t%d\t%d\t%d\t\n", t.Runs, t.Completed, t.Incomplete, t.NotStarted, pct(t.CompletionRate),
		t.Missed, t.Late, t.Early, t.OutOfOrder)
	if len(r.Compliance) > 0 {
		p("\nKEY AREA\tREQUIRED\tROUNDS\tSTATUS\tREASON\n")
		for _, c := range r.Compliance {
			st := "COMPLIANT"
			if c.Status != Compliant {
				st = "NOT COMPLIANT"
			}
			p("%s\t%d\t%d\t%s\t%s\n", name(c.Name, c.Area), c.Required, c.Rounds, st, c.Reason)
		}
	}
	if len(r.Guards) > 0 {
		p("\nGUARD\tRUNS\tDONE\tSCANS\tLATE\tEARLY\tORDER\n")
		for _, g := range r.Guards {
			p("%s\t%d\t%d\t%d\t%d\t%d\t%d\n", name(g.Name, g.Guard), g.Runs, g.Completed, g.Scans, g.Late, g.Early, g.OutOfOrder)
		}
	}
	p("\nCHECKPOINT\tLOCATION\tPLANNED\tVISITED\tMISSED\tLATE\tEARLY\tORDER\n")
	for _, c := range r.Checkpoints {
		p("%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\n", c.Checkpoint, c.Location, c.Planned, c.Visited, c.Missed, c.Late, c.Early, c.OutOfOrder)
	}
	p("\nRUN\tSTATUS\tSTARTED\tGUARDS\tEXCEPTIONS\n")
	for _, run := range r.Runs {
		var guards, exc []string
		for _, g := range run.Guards {
			guards = append(guards, name(g.Name, g.ID))
		}
		for _, c := range run.Checkpoints {
			if c.Status != patrol.StatusOK && c.Status != patrol.StatusPending && run.Status != patrol.RunNotStarted {
				exc = append(exc, c.Checkpoint+" "+c.Status)
			}
		}
		started := "-"
		if !run.Started.IsZero() {
			started = run.Started.Format("15:04:05")
		}
		p("%s\t%s\t%s\t%s\t%s\n", run.Run, run.Status, started, strings.Join(guards, " "), strings.Join(exc, ", "))
	}
	return tw.Flush()
}
