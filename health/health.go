// Package health is how long-running parts report their state to /healthz: each
// component implements Reporter; the registry collects them.
package health

import (
	"sort"
	"sync"
)

// State is a component's condition.
type State string

// The states, best first.
const (
	Up       State = "up"
	Degraded State = "degraded"
	Down     State = "down"
)

func (s State) rank() int {
	switch s {
	case Up:
		return 0
	case Degraded:
		return 1
	}
	return 2
}

// Worst returns the worse of a and b.
func Worst(a, b State) State {
	if b.rank() > a.rank() {
		return b
	}
	return a
}

// Status is one component's report.
type Status struct {
	State  State          `json:"state"`
	Reason string         `json:"reason,omitempty"`
	Detail map[string]any `json:"detail,omitempty"`
}

// Reporter is implemented by every long-running component.
type Reporter interface {
	Health() Status
}

// Func adapts a function to Reporter.
type Func func() Status

// Health calls f.
func (f Func) Health() Status { return f() }

// Registry holds named reporters; safe for concurrent use.
type Registry struct {
	mu sync.RWMutex
	m  map[string]Reporter
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{m: map[string]Reporter{}} }

// Set adds or replaces the reporter for name.
func (r *Registry) Set(name string, rep Reporter) {
	r.mu.Lock()
	r.m[name] = rep
	r.mu.Unlock()
}

// Remove drops name.
func (r *Registry) Remove(name string) {
	r.mu.Lock()
	delete(r.m, name)
	r.mu.Unlock()
}

// Report is the whole gateway's health.
type Report struct {
	State      State             `json:"state"`
	Components map[string]Status `json:"components"`
}

// Check asks every reporter and returns the overall state (the worst of them).
func (r *Registry) Check() Report {
	r.mu.RLock()
	names := make([]string, 0, len(r.m))
	for n := range r.m {
		names = append(names, n)
	}
	reps := make([]Reporter, len(names))
	sort.Strings(names)
	for i, n := range names {
		reps[i] = r.m[n]
	}
	r.mu.RUnlock()
	out := Report{State: Up, Components: make(map[string]Status, len(names))}
	for i, n := range names {
		s := reps[i].Health()
		if s.State == "" {
			s.State = Up
		}
		out.Components[n] = s
		out.State = Worst(out.State, s.State)
	}
	return out
}
