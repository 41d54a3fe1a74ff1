// Package report builds the day reports of electronic patrol from the run results the
// patrol runner stores: per plan (shift), per guard and per checkpoint — completion
// rate, missed, late, early and out-of-order checkpoints, who patrolled — as JSON, CSV
// or a text table, and serves them over HTTP (GET /api/patrol/report).
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/campusguard/campusguard/patrol"
)

// Report is one day's patrols. A night plan's runs belong to the day its window
// started on.
type Report struct {
	Date        string             `json:"date"`
	Totals      Totals             `json:"totals"`
	Plans       []PlanReport       `json:"plans"`
	Guards      []GuardReport      `json:"guards"`
	Checkpoints []CheckpointReport `json:"checkpoints"`
	Runs        []patrol.RunResult `json:"runs"`
	// Compliance judges each key area: compliant or not, with the reason.
	Compliance []AreaCompliance `json:"compliance"`
}

// Totals sums every plan of the day.
type Totals struct {
	Counts
}

// Counts are the figures every row of a report has.
type Counts struct {
	Runs           int     `json:"runs"` // scheduled patrols that finished (completed, incomplete, not started)
	Completed      int     `json:"completed"`
	Incomplete     int     `json:"incomplete"`
	NotStarted     int     `json:"not_started"`
	InProgress     int     `json:"in_progress,omitempty"`
	CompletionRate float64 `json:"completion_rate"` // completed / runs (0..1)
	Planned        int     `json:"checkpoints_planned"`
	Visited        int     `json:"checkpoints_visited"`
	OK             int     `json:"ok"`
	Late           int     `json:"late"`
	Early          int     `json:"early"`
	OutOfOrder     int     `json:"out_of_order"`
	Missed         int     `json:"missed"`
}

// PlanReport is one plan (shift) of the day.
type PlanReport struct {
	Plan   string   `json:"plan"`
	Name   string   `json:"name,omitempty"`
	Route  string   `json:"route"`
	Guards []string `json:"guards,omitempty"` // names of who patrolled
	Counts
}

// GuardReport is what one guard did that day.
type GuardReport struct {
	Guard      string `json:"guard"`
	Name       string `json:"name,omitempty"`
	Runs       int    `json:"runs"` // runs the guard took part in
	Completed  int    `json:"completed"`
	Scans      int    `json:"scans"` // checkpoints the guard scanned
	OK         int    `json:"ok"`
	Late       int    `json:"late"`
	Early      int    `json:"early"`
	OutOfOrder int    `json:"out_of_order"`
}

// CheckpointReport is one checkpoint over the day's runs.
type CheckpointReport struct {
	Checkpoint string `json:"checkpoint"`
	Name       string `json:"name,omitempty"`
	Location   string `json:"location,omitempty"`
	Planned    int    `json:"planned"`
	Visited    int    `json:"visited"`
	OK         int    `json:"ok"`
	Late       int    `json:"late"`
	Early      int    `json:"early"`
	OutOfOrder int    `json:"out_of_order"`
	Missed     int    `json:"missed"`
}

// Build computes the report of day from its run results (finished ones and, when the
// caller adds them, runs in progress).
func Build(day string, runs []patrol.RunResult) *Report {
	b := &builder{
		r:          &Report{Date: day, Plans: []PlanReport{}, Guards: []GuardReport{}, Checkpoints: []CheckpointReport{}, Runs: []patrol.RunResult{}},
		plans:      map[string]*PlanReport{},
		planGuards: map[string]map[string]bool{},
		guards:     map[string]*GuardReport{},
		cps:        map[string]*CheckpointReport{},
	}
	sorted := append([]patrol.RunResult(nil), runs...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Scheduled.Before(sorted[j].Scheduled) })
	for i := range sorted {
		if sorted[i].Day == day {
			b.add(&sorted[i])
		}
	}
	return b.finish()
}

// builder accumulates a report's rows, in the order they first appear.
type builder struct {
	r                              *Report
	plans                          map[string]*PlanReport
	planGuards                     map[string]map[string]bool
	guards                         map[string]*GuardReport
	cps                            map[string]*CheckpointReport
	planOrder, guardOrder, cpOrder []string
}

// add counts one run in the totals and in the rows of its plan, guards and checkpoints.
func (b *builder) add(run *patrol.RunResult) {
	b.r.Runs = append(b.r.Runs, *run)
	p := b.plans[run.Plan]
	if p == nil {
		p = &PlanReport{Plan: run.Plan, Name: run.PlanName, Route: run.Route}
		b.plans[run.Plan] = p
		b.planGuards[run.Plan] = map[string]bool{}
		b.planOrder = append(b.planOrder, run.Plan)
	}
	addRun(&p.Counts, run)
	addRun(&b.r.Totals.Counts, run)
	for _, g := range run.Guards {
		if !b.planGuards[run.Plan][g.ID] {
			b.planGuards[run.Plan][g.ID] = true
			p.Guards = append(p.Guards, name(g.Name, g.ID))
		}
		gr := b.guards[g.ID]
		if gr == nil {
			gr = &GuardReport{Guard: g.ID, Name: g.Name}
			b.guards[g.ID] = gr
			b.guardOrder = append(b.guardOrder, g.ID)
		}
		gr.Runs++
		if run.Status == patrol.RunCompleted {
			gr.Completed++
		}
	}
	for _, c := range run.Checkpoints {
		b.checkpoint(run, c)
	}
}

// checkpoint counts one checkpoint of run in its row and in its guard's scans.
func (b *builder) checkpoint(run *patrol.RunResult, c patrol.CheckpointResult) {
	cr := b.cps[c.Checkpoint]
	if cr == nil {
		cr = &CheckpointReport{Checkpoint: c.Checkpoint, Name: c.Name, Location: c.Location}
		b.cps[c.Checkpoint] = cr
		b.cpOrder = append(b.cpOrder, c.Checkpoint)
	}
	if run.Status == patrol.RunInProgress && c.Status == patrol.StatusPending {
		return
	}
	cr.Planned++
	switch c.Status {
	case patrol.StatusMissed:
		cr.Missed++
	case patrol.StatusOK:
		cr.OK++
	case patrol.StatusLate:
		cr.Late++
	case patrol.StatusEarly:
		cr.Early++
	case patrol.StatusOutOfOrder:
		cr.OutOfOrder++
	}
	if c.Status == patrol.StatusMissed {
		return
	}
	cr.Visited++
	gr := b.guards[c.Guard]
	if gr == nil {
		return
	}
	gr.Scans++
	switch c.Status {
	case patrol.StatusOK:
		gr.OK++
	case patrol.StatusLate:
		gr.Late++
	case patrol.StatusEarly:
		gr.Early++
	case patrol.StatusOutOfOrder:
		gr.OutOfOrder++
	}
}

// finish orders the rows (plans as first seen, guards and checkpoints by id) and adds
// the rates and the compliance section.
func (b *builder) finish() *Report {
	r := b.r
	for _, id := range b.planOrder {
		b.plans[id].CompletionRate = rate(b.plans[id].Completed, b.plans[id].Runs)
		r.Plans = append(r.Plans, *b.plans[id])
	}
	r.Totals.CompletionRate = rate(r.Totals.Completed, r.Totals.Runs)
	sort.Strings(b.guardOrder)
	for _, id := range b.guardOrder {
		r.Guards = append(r.Guards, *b.guards[id])
	}
	sort.Strings(b.cpOrder)
	for _, id := range b.cpOrder {
		r.Checkpoints = append(r.Checkpoints, *b.cps[id])
	}
	r.Compliance = compliance(r.Runs)
	return r
}

func addRun(c *Counts, run *patrol.RunResult) {
	switch run.Status {
	case patrol.RunInProgress:
		c.InProgress++
		for _, cp := range run.Checkpoints {
			if cp.Status != patrol.StatusPending {
				c.Planned++
				c.Visited++
				addStatus(c, cp.Status)
			}
		}
		return
	case patrol.RunCompleted:
		c.Completed++
	case patrol.RunIncomplete:
		c.Incomplete++
	case patrol.RunNotStarted:
		c.NotStarted++
	}
	c.Runs++
	for _, cp := range run.Checkpoints {
		c.Planned++
		if cp.Status != patrol.StatusMissed {
			c.Visited++
		}
		addStatus(c, cp.Status)
	}
}

func addStatus(c *Counts, s string) {
	switch s {
	case patrol.StatusOK:
		c.OK++
	case patrol.StatusLate:
		c.Late++
	case patrol.StatusEarly:
		c.Early++
	case patrol.StatusOutOfOrder:
		c.OutOfOrder++
	case patrol.StatusMissed:
		c.Missed++
	}
}

func rate(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return float64(int(float64(n)/float64(of)*10000+0.5)) / 10000
}

func name(n, id string) string {
	if n != "" {
		return n
	}
	return id
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("patrol report json: %w", err)
	}
	return nil
}

// Load reads a day's stored results and builds its report. date is YYYY-MM-DD.
func Load(store patrol.Store, date string) (*Report, error) {
	if _, err := time.Parse(time.DateOnly, date); err != nil {
		return nil, fmt.Errorf("patrol report: date %q: want YYYY-MM-DD", date)
	}
	runs, err := patrol.LoadDay(store, date)
	if err != nil {
		return nil, err
	}
	return Build(date, runs), nil
}
