package patrol

import (
	"time"
)

// run is one patrol in progress. Its fields are exported for the state snapshot.
type run struct {
	ID        string        `json:"id"`
	Plan      string        `json:"plan"`
	Hash      string        `json:"hash"` // the plan's content hash when the run started
	Route     string        `json:"route"`
	Ordered   bool          `json:"ordered"`
	Scheduled time.Time     `json:"scheduled"`
	Day       string        `json:"day"`
	Started   time.Time     `json:"started"`
	Tolerance time.Duration `json:"tolerance"`
	Duration  time.Duration `json:"duration"`
	Next      int           `json:"next"` // ordered: the index of the next expected stop
	Guards    []string      `json:"guards"`
	Stops     []stopState   `json:"stops"`
}

// stopState is one checkpoint of a run.
type stopState struct {
	Checkpoint string        `json:"checkpoint"`
	Leg        time.Duration `json:"leg"`
	Status     string        `json:"status,omitempty"`
	Scanned    time.Time     `json:"scanned,omitzero"`
	Expected   time.Time     `json:"expected,omitzero"`
	DelayS     int64         `json:"delay_s,omitempty"`
	Guard      string        `json:"guard,omitempty"`
	Card       string        `json:"card,omitempty"`
	Reader     string        `json:"reader,omitempty"`
}

func (s *stopState) visited() bool { return !s.Scanned.IsZero() }

func newRun(p *cplan, sl slot, start time.Time) *run {
	r := &run{
		ID:        sl.id(),
		Plan:      p.ID,
		Hash:      p.hash,
		Route:     p.route.ID,
		Ordered:   p.ordered,
		Scheduled: sl.at,
		Day:       sl.day,
		Started:   start,
		Tolerance: p.tolerance,
		Duration:  p.Duration,
	}
	for _, s := range p.route.Checkpoints {
		r.Stops = append(r.Stops, stopState{Checkpoint: s.Checkpoint, Leg: s.Leg})
	}
	return r
}

func (r *run) stop(checkpoint string) int {
	for i := range r.Stops {
		if r.Stops[i].Checkpoint == checkpoint {
			return i
		}
	}
	return -1
}

func (r *run) hasGuard(g string) bool {
	for _, x := range r.Guards {
		if x == g {
			return true
		}
	}
	return false
}

// expected returns the expected scan time of every stop of an ordered run: the first
// at the start, each next one a leg after the previous stop's base. A stop's base is
// its scan time (or its expected time when not scanned), but never earlier than the
// latest scan of the stops before it (after a swap, the legs run from where the guard
// really was). A stop without a leg expects its previous base.
func (r *run) expected() []time.Time {
	out := make([]time.Time, len(r.Stops))
	base := r.Started
	var latest time.Time
	for i := range r.Stops {
		if i > 0 {
			base = base.Add(r.Stops[i].Leg)
		}
		out[i] = base
		if s := r.Stops[i].Scanned; !s.IsZero() {
			base = s
			if s.After(latest) {
				latest = s
			}
		}
		if latest.After(base) {
			base = latest
		}
	}
	return out
}

// legs is the sum of the route's legs (the first stop's leg does not count).
func (r *run) legs() time.Duration {
	var d time.Duration
	for i := 1; i < len(r.Stops); i++ {
		d += r.Stops[i].Leg
	}
	return d
}

// deadline is when the run closes: unvisited stops are missed then. It is never
// before the run's latest scan.
func (r *run) deadline() time.Time {
	d := r.Started.Add(r.Duration)
	for i := range r.Stops {
		if r.Stops[i].Scanned.After(d) {
			d = r.Stops[i].Scanned
		}
	}
	if !r.Ordered {
		if l := r.Started.Add(r.legs() + r.Tolerance); l.After(d) {
			d = l
		}
		return d
	}
	exp := r.expected()
	for i := range r.Stops {
		if r.Stops[i].visited() {
			continue
		}
		if l := exp[i].Add(r.Tolerance); l.After(d) {
			d = l
		}
	}
	return d
}

func (r *run) complete() bool {
	for i := range r.Stops {
		if !r.Stops[i].visited() {
			return false
		}
	}
	return true
}

// advanceNext moves Next past visited stops.
func (r *run) advanceNext() {
	for r.Next < len(r.Stops) && r.Stops[r.Next].visited() {
		r.Next++
	}
}
