package patrol

import (
	"fmt"
	"strings"
	"time"
)

// Options configures a Tracker.
type Options struct {
	Site     string         // site id for the events' Site
	Location *time.Location // the site's time zone (nil: UTC)
	Days     Days           // named schedules; required when a plan names one
}

// backlog bounds how far back slots are judged after a restart (patrol_not_started
// for slots that passed while the daemon was down).
const backlog = 24 * time.Hour

// driftEvery is how often a drifting reader is reported at most.
const driftEvery = time.Hour

// Scan outcomes (LastScan), for metrics.
const (
	ScanAccepted          = "accepted"
	ScanDuplicate         = "duplicate"
	ScanUnknownCard       = "unknown_card"
	ScanUnknownCheckpoint = "unknown_checkpoint"
	ScanUnplanned         = "unplanned" // no run or start window wants it
	ScanRepeat            = "repeat"    // the checkpoint was already scanned in the guard's run
	ScanIgnored           = "ignored"   // not a patrol scan
)

// Tracker turns checkpoint scans into patrol runs. It is pure: the time comes in as a
// parameter and the events to publish come out. It is not safe for concurrent use.
type Tracker struct {
	c    *compiled
	site string
	loc  *time.Location
	days Days

	runs     []*run               // in progress, in start order
	used     map[string]time.Time // slot id -> forget after (slots that have a run or were judged)
	cursor   time.Time            // slots whose window ended at or before cursor are judged
	lastScan map[string]time.Time // card|checkpoint -> last accepted scan
	drift    map[string]time.Time // reader -> last drift report
	results  []RunResult          // finished, not drained
	areas    map[string]areaDay   // area|day -> rounds done, warned, judged (compliance.go)
	since    time.Time            // when the tracker first looked: days before it are not judged
	lastOut  string
}

// New returns a tracker for cfg (validated again here; defaults applied).
func New(cfg Config, opts Options) (*Tracker, error) {
	c, err := compile(cfg)
	if err != nil {
		return nil, err
	}
	if err := checkDays(c, opts.Days); err != nil {
		return nil, err
	}
	loc := opts.Location
	if loc == nil {
		loc = time.UTC
	}
	return &Tracker{
		c: c, site: opts.Site, loc: loc, days: opts.Days,
		used: map[string]time.Time{}, lastScan: map[string]time.Time{}, drift: map[string]time.Time{},
		areas: map[string]areaDay{},
	}, nil
}

func checkDays(c *compiled, d Days) error {
	if d != nil {
		return nil
	}
	for _, p := range c.plans {
		if p.Schedule != "" {
			return fmt.Errorf("patrol plan %s: schedule %q needs the site's schedules", p.ID, p.Schedule)
		}
	}
	return nil
}

// Apply swaps in a new config. Runs whose plan is unchanged (same route, order,
// legs, tolerance and duration) continue; the others are dropped and their ids
// returned.
func (t *Tracker) Apply(cfg Config) (dropped []string, err error) {
	c, err := compile(cfg)
	if err != nil {
		return nil, err
	}
	if err := checkDays(c, t.days); err != nil {
		return nil, err
	}
	t.c = c
	keep := t.runs[:0]
	for _, r := range t.runs {
		if p := c.plan(r.Plan); p != nil && p.hash == r.Hash {
			keep = append(keep, r)
			continue
		}
		dropped = append(dropped, r.ID)
	}
	t.runs = keep
	return dropped, nil
}

// Config returns the tracker's config (defaults applied).
func (t *Tracker) Config() Config { return t.c.cfg }

// LastScan is the outcome of the last Scan call (ScanAccepted, ScanDuplicate...).
func (t *Tracker) LastScan() string { return t.lastOut }

// DrainResults returns the runs finished since the last call.
func (t *Tracker) DrainResults() []RunResult {
	out := t.results
	t.results = nil
	return out
}

// Active returns a snapshot of the runs in progress.
func (t *Tracker) Active() []RunResult {
	out := make([]RunResult, 0, len(t.runs))
	for _, r := range t.runs {
		out = append(out, t.result(r, RunInProgress, time.Time{}))
	}
	return out
}

// result builds the report record of r.
func (t *Tracker) result(r *run, status string, ended time.Time) RunResult {
	res := RunResult{
		Run: r.ID, Day: r.Day, Plan: r.Plan, Route: r.Route, Ordered: r.Ordered,
		Scheduled: r.Scheduled.In(t.loc), Status: status, Areas: t.c.areasOf(r.Route),
	}
	if !r.Started.IsZero() {
		res.Started = r.Started.In(t.loc)
	}
	if !ended.IsZero() {
		res.Ended = ended.In(t.loc)
	}
	if p := t.c.plan(r.Plan); p != nil {
		res.PlanName = p.Name
	}
	if rt := t.c.routes[r.Route]; rt != nil {
		res.RouteName = rt.Name
	}
	for _, g := range r.Guards {
		ref := GuardRef{ID: g}
		if x := t.c.guards[g]; x != nil {
			ref.Name = x.Name
		}
		res.Guards = append(res.Guards, ref)
	}
	for _, st := range r.Stops {
		cr := CheckpointResult{
			Checkpoint: st.Checkpoint, Status: st.Status, DelayS: st.DelayS,
			Guard: st.Guard, Card: st.Card, Reader: st.Reader,
		}
		if !st.Expected.IsZero() {
			cr.Expected = st.Expected.In(t.loc)
		}
		if !st.Scanned.IsZero() {
			cr.Scanned = st.Scanned.In(t.loc)
		}
		if cp := t.c.checkpoints[st.Checkpoint]; cp != nil {
			cr.Name, cr.Location, cr.Zone = cp.Name, cp.Location, cp.Zone
		}
		if g := t.c.guards[st.Guard]; g != nil {
			cr.GuardName = g.Name
		}
		res.Checkpoints = append(res.Checkpoints, cr)
	}
	return res
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

func joinComma(s []string) string { return strings.Join(s, ",") }
