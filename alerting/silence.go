package alerting

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"sort"
	"time"
)

// Silence mutes notifications of matching alarms from Start to End. Silenced alarms
// are still journaled and shown; the panic alarm's police report (Mandatory sinks) is
// never muted (GB 50394).
type Silence struct {
	ID        string    `json:"id"`
	Matchers  Matchers  `json:"matchers"`
	Start     time.Time `json:"start"`
	End       time.Time `json:"end"`
	Reason    string    `json:"reason"`
	By        string    `json:"by"`
	CreatedAt time.Time `json:"created_at"`
	// Ended is set when an operator lifted the silence early (End is then that time).
	EndedBy string `json:"ended_by,omitempty"`
}

// Active reports whether the silence mutes at now.
func (s *Silence) Active(now time.Time) bool {
	return !now.Before(s.Start) && now.Before(s.End)
}

// Expired reports whether the silence is over at now.
func (s *Silence) Expired(now time.Time) bool { return !now.Before(s.End) }

// silencing is the silence stage: the operators' silences and the config's static
// ones (a window and/or a schedule).
type silencing struct {
	dynamic map[string]*Silence
	static  []staticSilence
	sch     Schedules
}

// Mutes reports whether an active silence matches a.
func (s silencing) Mutes(a *Alarm, now time.Time) (bool, string) {
	for _, sl := range s.dynamic {
		if sl.Active(now) && sl.Matchers.Matches(a) {
			return true, "silence " + sl.ID
		}
	}
	for i := range s.static {
		if s.static[i].active(now, s.sch) && s.static[i].Matchers.Matches(a) {
			return true, "static silence [" + s.static[i].Matchers.String() + "]"
		}
	}
	return false, ""
}

// staticSilence is a config file's silence with its window parsed.
type staticSilence struct {
	StaticSilence
	start, end time.Time
}

func (s *staticSilence) active(now time.Time, sch Schedules) bool {
	if !s.start.IsZero() && now.Before(s.start) {
		return false
	}
	if !s.end.IsZero() && !now.Before(s.end) {
		return false
	}
	return s.Schedule == "" || (sch != nil && sch.Active(s.Schedule, now))
}

// Silence mutes notifications of matching alarms from s.Start (now when zero) to
// s.End, with a reason and who asked. It returns the silence's id. Silenced alarms
// are still journaled and shown; panic alarms still reach the mandatory sinks.
func (m *Manager) Silence(ctx context.Context, s Silence) (string, error) {
	now := m.clock.Now()
	switch {
	case len(s.Matchers) == 0:
		return "", errors.New("silence: at least one matcher is required")
	case s.By == "":
		return "", fmt.Errorf("silence: %w", ErrNoPerson)
	case s.Reason == "":
		return "", errors.New("silence: a reason is required")
	}
	if s.Start.IsZero() {
		s.Start = now
	}
	if !s.End.After(s.Start) || !s.End.After(now) {
		return "", errors.New("silence: end must be after start and in the future")
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	s.ID = "sil-" + hex.EncodeToString(rnd[:])
	s.CreatedAt = now
	s.Matchers = maps.Clone(s.Matchers)
	var c Commit
	m.mu.Lock()
	m.silences[s.ID] = &s
	c.Silences = append(c.Silences, s)
	c.History = append(c.History, HistoryRecord{At: now, Action: ActionSilenced, By: s.By,
		Note: fmt.Sprintf("%s [%s] %s–%s (%s)", s.Reason, s.Matchers, s.Start.Format(time.RFC3339), s.End.Format(time.RFC3339), s.ID)})
	m.reevaluate(now, &c)
	wait := m.enqueue(&c)
	m.mu.Unlock()
	return s.ID, m.settle(&c, wait)
}

// Unsilence ends a silence now.
func (m *Manager) Unsilence(ctx context.Context, id, by string) error {
	if by == "" {
		return fmt.Errorf("unsilence: %w", ErrNoPerson)
	}
	now := m.clock.Now()
	var c Commit
	m.mu.Lock()
	s := m.silences[id]
	if s == nil {
		m.mu.Unlock()
		return fmt.Errorf("unsilence %s: no such active silence", id)
	}
	s.End, s.EndedBy = now, by
	delete(m.silences, id)
	c.Silences = append(c.Silences, *s)
	c.History = append(c.History, HistoryRecord{At: now, Action: ActionUnsilenced, By: by, Note: fmt.Sprintf("%s [%s] (%s)", s.Reason, s.Matchers, s.ID)})
	m.reevaluate(now, &c)
	wait := m.enqueue(&c)
	m.mu.Unlock()
	return m.settle(&c, wait)
}

// Silences returns the silences not yet over (active and future), by start time.
func (m *Manager) Silences() []Silence {
	m.mu.Lock()
	out := make([]Silence, 0, len(m.silences))
	for _, s := range m.silences {
		out = append(out, *s)
	}
	m.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		return out[i].Start.Before(out[j].Start) || (out[i].Start.Equal(out[j].Start) && out[i].ID < out[j].ID)
	})
	return out
}

func (m *Manager) expireSilences(now time.Time, c *Commit) {
	expired := false
	for id, s := range m.silences {
		if s.Expired(now) {
			delete(m.silences, id)
			c.History = append(c.History, HistoryRecord{At: now, Action: ActionSilenceExpired, By: s.By,
				Note: fmt.Sprintf("%s [%s] (%s)", s.Reason, s.Matchers, s.ID)})
			expired = true
		}
	}
	if expired {
		m.reevaluate(now, c)
	}
}
