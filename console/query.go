package console

import (
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/campusguard/campusguard/alerting"
)

// parseTime reads an API time: RFC 3339, or a date YYYY-MM-DD in loc (its start; with
// endOfDay, the start of the next day, so "to=2026-11-20" includes that whole day).
func parseTime(s string, loc *time.Location, endOfDay bool) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	d, err := time.ParseInLocation(time.DateOnly, s, loc)
	if err != nil {
		return time.Time{}, errors.New("want YYYY-MM-DD or an RFC 3339 time")
	}
	if endOfDay {
		d = d.AddDate(0, 0, 1)
	}
	return d, nil
}

func parseRange(v url.Values, loc *time.Location) (from, to time.Time, err error) {
	if from, err = parseTime(v.Get("from"), loc, false); err != nil {
		return from, to, errors.New("from: " + err.Error())
	}
	if to, err = parseTime(v.Get("to"), loc, true); err != nil {
		return from, to, errors.New("to: " + err.Error())
	}
	if !from.IsZero() && !to.IsZero() && !to.After(from) {
		return from, to, errors.New("to must be after from")
	}
	return from, to, nil
}

func parseLimit(v url.Values) (int, error) {
	s := v.Get("limit")
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 1000 {
		return 0, errors.New("limit: want 1..1000")
	}
	return n, nil
}

func parseCursor(v url.Values) (string, error) {
	c := v.Get("cursor")
	if len(c) > 256 || strings.Trim(c, "0123456789abcdef") != "" {
		return "", errors.New("cursor: bad value")
	}
	return c, nil
}

// parseAlarmQuery reads the history filters: from, to, severity, state, device, zone,
// limit, cursor.
func parseAlarmQuery(v url.Values, loc *time.Location) (alerting.AlarmQuery, error) {
	var q alerting.AlarmQuery
	var err error
	if q.From, q.To, err = parseRange(v, loc); err != nil {
		return q, err
	}
	if s := v.Get("severity"); s != "" {
		q.Severity = alerting.Severity(s)
		if !q.Severity.Valid() {
			return q, errors.New("severity: want critical, major, minor or info")
		}
	}
	switch st := alerting.State(v.Get("state")); st {
	case "", alerting.Firing, alerting.Acknowledged, alerting.Resolved:
		q.State = st
	default:
		return q, errors.New("state: want firing, acknowledged or resolved")
	}
	q.DeviceID = strings.TrimSpace(v.Get("device"))
	q.Zone = strings.TrimSpace(v.Get("zone"))
	if q.Limit, err = parseLimit(v); err != nil {
		return q, err
	}
	if q.Cursor, err = parseCursor(v); err != nil {
		return q, err
	}
	return q, nil
}

// parseRecordQuery reads the record filters: from, to, alarm, action, by, limit, cursor.
func parseRecordQuery(v url.Values, loc *time.Location) (alerting.RecordQuery, error) {
	var q alerting.RecordQuery
	var err error
	if q.From, q.To, err = parseRange(v, loc); err != nil {
		return q, err
	}
	q.AlarmID = strings.TrimSpace(v.Get("alarm"))
	q.Action = strings.TrimSpace(v.Get("action"))
	q.By = strings.TrimSpace(v.Get("by"))
	if q.Limit, err = parseLimit(v); err != nil {
		return q, err
	}
	if q.Cursor, err = parseCursor(v); err != nil {
		return q, err
	}
	return q, nil
}
