// Package records exports the alarm journal over a date range for the school's own
// archive or an inspection: every alarm fired in the range and every operator and
// lifecycle record (who acknowledged, reset, silenced, armed, when), as CSV or JSON
// with Chinese headers. The command line (campusguard records export) and the duty
// console serve the same export.
package records

import (
	"fmt"
	"slices"
	"time"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/alerting/journal"
)

// Source is the journal's read side (implemented by *journal.Journal).
type Source interface {
	Alarms(q journal.AlarmQuery) (journal.AlarmPage, error)
	Records(q journal.RecordQuery) (journal.RecordPage, error)
}

// MaxRows bounds one export (alarms plus records): a longer range is refused with a
// request to split it rather than exhaust the gateway's memory.
const MaxRows = 200000

// Export is the content of one export.
type Export struct {
	From     time.Time                `json:"from"`
	To       time.Time                `json:"to"` // exclusive
	Location *time.Location           `json:"-"`
	Alarms   []alerting.Alarm         `json:"alarms"`  // oldest first
	Records  []alerting.HistoryRecord `json:"records"` // oldest first

	classes map[string]alerting.Class // alarm id → class, for the records' class column
}

// Range is the days [from, to] (both YYYY-MM-DD, to inclusive) in loc as a time range.
func Range(from, to string, loc *time.Location) (time.Time, time.Time, error) {
	if loc == nil {
		loc = time.UTC
	}
	f, err := time.ParseInLocation(time.DateOnly, from, loc)
	if err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("from: want YYYY-MM-DD, got %q", from)
	}
	t, err := time.ParseInLocation(time.DateOnly, to, loc)
	if err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("to: want YYYY-MM-DD, got %q", to)
	}
	if t.Before(f) {
		return time.Time{}, time.Time{}, fmt.Errorf("to (%s) is before from (%s)", to, from)
	}
	return f, t.AddDate(0, 0, 1), nil
}

// Collect reads the alarms fired and the records made in [from, to).
func Collect(src Source, from, to time.Time, loc *time.Location) (*Export, error) {
	if loc == nil {
		loc = time.UTC
	}
	e := &Export{From: from, To: to, Location: loc}
	q := journal.AlarmQuery{From: from, To: to, Limit: 1000}
	for {
		p, err := src.Alarms(q)
		if err != nil {
			return nil, fmt.Errorf("records export: alarms: %w", err)
		}
		e.Alarms = append(e.Alarms, p.Alarms...)
		if len(e.Alarms) > MaxRows {
			return nil, fmt.Errorf("records export: more than %d alarms: export a shorter range", MaxRows)
		}
		if p.Next == "" {
			break
		}
		q.Cursor = p.Next
	}
	rq := journal.RecordQuery{From: from, To: to, Limit: 1000}
	for {
		p, err := src.Records(rq)
		if err != nil {
			return nil, fmt.Errorf("records export: records: %w", err)
		}
		e.Records = append(e.Records, p.Records...)
		if len(e.Alarms)+len(e.Records) > MaxRows {
			return nil, fmt.Errorf("records export: more than %d rows: export a shorter range", MaxRows)
		}
		if p.Next == "" {
			break
		}
		rq.Cursor = p.Next
	}
	slices.Reverse(e.Alarms)
	slices.Reverse(e.Records)
	return e, nil
}
