package patrol

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"
)

// RunResult is one patrol run as reported: a finished run (completed, incomplete, not
// started), or a snapshot of one in progress. It carries the names of its plan, route,
// checkpoints and guards, so a report needs no config.
type RunResult struct {
	Run         string             `json:"run"`
	Day         string             `json:"day"` // YYYY-MM-DD: the day the plan's window started
	Plan        string             `json:"plan"`
	PlanName    string             `json:"plan_name,omitempty"`
	Route       string             `json:"route"`
	RouteName   string             `json:"route_name,omitempty"`
	Ordered     bool               `json:"ordered"`
	Scheduled   time.Time          `json:"scheduled"`
	Started     time.Time          `json:"started,omitzero"`
	Ended       time.Time          `json:"ended,omitzero"`
	Status      string             `json:"status"` // completed, incomplete, not_started, in_progress
	Guards      []GuardRef         `json:"guards,omitempty"`
	Checkpoints []CheckpointResult `json:"checkpoints"`
	// Areas are the key areas the run counts for (patrol.compliance), with the rounds a
	// day each needs: a report judges the day from the runs alone.
	Areas []AreaRef `json:"areas,omitempty"`
}

// GuardRef names a guard.
type GuardRef struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
}

// CheckpointResult is one checkpoint of a run.
type CheckpointResult struct {
	Checkpoint string    `json:"checkpoint"`
	Name       string    `json:"name,omitempty"`
	Location   string    `json:"location,omitempty"`
	Zone       string    `json:"zone,omitempty"`
	Status     string    `json:"status"` // ok, late, early, out_of_order, missed ("" = pending)
	Expected   time.Time `json:"expected,omitzero"`
	Scanned    time.Time `json:"scanned,omitzero"`
	DelayS     int64     `json:"delay_s,omitempty"`
	Guard      string    `json:"guard,omitempty"`
	GuardName  string    `json:"guard_name,omitempty"`
	Card       string    `json:"card,omitempty"`
	Reader     string    `json:"reader,omitempty"`
}

// Counts returns the number of checkpoints per status.
func (r *RunResult) Counts() map[string]int {
	m := map[string]int{}
	for _, c := range r.Checkpoints {
		m[c.Status]++
	}
	return m
}

// Store keeps named blobs durably (the alerting journal implements it).
type Store interface {
	PutState(name string, b []byte) error
	GetState(name string) ([]byte, error)
}

// deleter is implemented by stores that can remove a blob (the journal can).
type deleter interface {
	DeleteState(name string) error
}

// Store keys.
const (
	StateKey      = "patrol/state"
	resultsPrefix = "patrol/results/"
	daysKey       = "patrol/results-days"
)

// ResultsKey is the store key of a day's results.
func ResultsKey(day string) string { return resultsPrefix + day }

// LoadDay returns the stored results of a day (YYYY-MM-DD), in scheduled order.
func LoadDay(s Store, day string) ([]RunResult, error) {
	b, err := s.GetState(ResultsKey(day))
	if err != nil {
		return nil, fmt.Errorf("patrol results %s: %w", day, err)
	}
	if len(b) == 0 {
		return nil, nil
	}
	var out []RunResult
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("patrol results %s: %w", day, err)
	}
	return out, nil
}

// SaveResults appends results to their days in s and drops the days older than
// retention before now (day granularity).
func SaveResults(s Store, results []RunResult, now time.Time, retention time.Duration) error {
	if len(results) == 0 {
		return nil
	}
	byDay := map[string][]RunResult{}
	for _, r := range results {
		byDay[r.Day] = append(byDay[r.Day], r)
	}
	var days []string
	if b, err := s.GetState(daysKey); err != nil {
		return fmt.Errorf("patrol results index: %w", err)
	} else if len(b) > 0 {
		_ = json.Unmarshal(b, &days) // a damaged index only loses retention of old days
	}
	known := map[string]bool{}
	for _, d := range days {
		known[d] = true
	}
	for day, rs := range byDay {
		old, err := LoadDay(s, day)
		if err != nil {
			old = nil // a damaged day blob is replaced rather than blocking every later one
		}
		seen := map[string]int{}
		for i, r := range old {
			seen[r.Run] = i
		}
		for _, r := range rs {
			if i, dup := seen[r.Run]; dup { // re-derived after a restart: replace
				old[i] = r
				continue
			}
			seen[r.Run] = len(old)
			old = append(old, r)
		}
		sort.SliceStable(old, func(i, j int) bool { return old[i].Scheduled.Before(old[j].Scheduled) })
		b, err := json.Marshal(old)
		if err != nil {
			return fmt.Errorf("patrol results %s: %w", day, err)
		}
		if err := s.PutState(ResultsKey(day), b); err != nil {
			return fmt.Errorf("patrol results %s: %w", day, err)
		}
		if !known[day] {
			known[day] = true
			days = append(days, day)
		}
	}
	cutoff := now.Add(-retention).Format(time.DateOnly)
	sort.Strings(days)
	keep := days[:0]
	for _, d := range days {
		if d < cutoff {
			var err error
			if del, ok := s.(deleter); ok {
				err = del.DeleteState(ResultsKey(d))
			} else {
				err = s.PutState(ResultsKey(d), []byte{})
			}
			if err != nil {
				return fmt.Errorf("patrol results %s: %w", d, err)
			}
			continue
		}
		keep = append(keep, d)
	}
	b, _ := json.Marshal(keep)
	if err := s.PutState(daysKey, b); err != nil {
		return fmt.Errorf("patrol results index: %w", err)
	}
	return nil
}
