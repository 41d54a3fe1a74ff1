package alerting

import (
	"errors"
	"time"
)

// The history contract: how the alarm journal's read side is asked and what it
// answers (implemented by alerting/journal.Journal; the console reads it).

// ErrNoRecord is what the history returns for an alarm id it has no record of.
var ErrNoRecord = errors.New("not found")

// AlarmDetail is one alarm with everything recorded about it.
type AlarmDetail struct {
	Alarm      Alarm           `json:"alarm"`
	History    []HistoryRecord `json:"history"`
	Deliveries []Delivery      `json:"deliveries"`
}

// AlarmQuery filters the alarm list. Zero fields do not filter.
type AlarmQuery struct {
	From, To time.Time // fired in [From, To)
	Severity Severity
	DeviceID string
	Zone     string
	State    State
	Limit    int    // page size (default 100, at most 1000)
	Cursor   string // Next of the previous page
}

// AlarmPage is one page of alarms, newest first.
type AlarmPage struct {
	Alarms []Alarm `json:"alarms"`
	Next   string  `json:"next,omitempty"` // cursor of the next page; "" at the end
}

// RecordQuery filters the operator / lifecycle records. Zero fields do not filter.
type RecordQuery struct {
	From, To time.Time // At in [From, To)
	AlarmID  string
	Action   string
	By       string
	Limit    int    // default 100, at most 1000
	Cursor   string // Next of the previous page
}

// RecordPage is one page of records, newest first.
type RecordPage struct {
	Records []HistoryRecord `json:"records"`
	Next    string          `json:"next,omitempty"`
}
