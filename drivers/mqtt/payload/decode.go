package payload

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/campusguard/campusguard/event"
)

// Decode errors. Decode wraps them with the field concerned; Reason maps them to the
// metric label.
var (
	ErrOversized    = errors.New("payload too large")
	ErrInvalidUTF8  = errors.New("payload is not valid UTF-8")
	ErrNotJSON      = errors.New("payload is not a JSON object")
	ErrMissingField = errors.New("missing field")
	ErrWrongType    = errors.New("wrong type")
	ErrBadValue     = errors.New("bad value")
)

// Reason is the metric label of a decode error: oversized, invalid_utf8, not_json,
// missing_field, wrong_type, bad_value (or "other" for anything else).
func Reason(err error) string {
	switch {
	case errors.Is(err, ErrOversized):
		return "oversized"
	case errors.Is(err, ErrInvalidUTF8):
		return "invalid_utf8"
	case errors.Is(err, ErrNotJSON):
		return "not_json"
	case errors.Is(err, ErrMissingField):
		return "missing_field"
	case errors.Is(err, ErrWrongType):
		return "wrong_type"
	case errors.Is(err, ErrBadValue):
		return "bad_value"
	}
	return "other"
}

// Source is the Event.Source of decoded events.
const Source = "mqtt"

// Decode turns one message into an event (Site and Seq are left for the driver and the
// bus). On error the returned event holds what was decoded before the problem (its
// DeviceID when that came from the topic), so the caller can count per device.
func (d *Decoder) Decode(topic string, payload []byte, now time.Time) (event.Event, error) {
	e := event.Event{Kind: d.kind, ReceivedAt: now, Source: Source}
	if d.devTopic {
		id, ok := topicLevel(topic, d.devLevel)
		if !ok || id == "" {
			return e, fmt.Errorf("device id: topic %q has no level %d: %w", topic, d.devLevel, ErrMissingField)
		}
		e.DeviceID = d.deviceID(id)
	}
	if d.maxPayload > 0 && len(payload) > d.maxPayload {
		return e, fmt.Errorf("%d bytes, limit %d: %w", len(payload), d.maxPayload, ErrOversized)
	}
	if !utf8.Valid(payload) {
		return e, ErrInvalidUTF8
	}
	if d.status != nil && d.status.path == nil {
		// Plain-text status (a last will such as "offline").
		return d.statusEvent(e, strings.TrimSpace(string(payload)))
	}
	var vals [8]any
	var found [8]bool
	doc := scanned{vals: vals[:0], found: found[:0]}
	if err := scanDoc(payload, &d.paths, &doc); err != nil {
		return e, ErrNotJSON
	}
	if !d.devTopic {
		id, err := d.deviceFromDoc(&doc)
		if err != nil {
			return e, err
		}
		e.DeviceID = id
	}
	if d.status != nil {
		s, err := d.statusFromDoc(&doc)
		if err != nil {
			return e, err
		}
		return d.statusEvent(e, s)
	}
	var err error
	if e.Type, err = d.eventType(&doc); err != nil {
		return e, err
	}
	if e.DeviceTime, err = d.deviceTime(&doc); err != nil {
		return e, err
	}
	err = d.fill(&e, &doc)
	return e, err
}

// deviceFromDoc is the device id at the payload path.
func (d *Decoder) deviceFromDoc(doc *scanned) (string, error) {
	v, ok := doc.get(d.devIdx)
	if !ok {
		return "", fmt.Errorf("device id %q: %w", strings.Join(d.devPath, "."), ErrMissingField)
	}
	s, err := scalarString(v, true)
	if err != nil || s == "" {
		return "", fmt.Errorf("device id %q: %w", strings.Join(d.devPath, "."), errOr(err, ErrBadValue))
	}
	return d.deviceID(s), nil
}

// statusFromDoc is the status value at the payload path.
func (d *Decoder) statusFromDoc(doc *scanned) (string, error) {
	v, ok := doc.get(d.stIdx)
	if !ok {
		return "", fmt.Errorf("status %q: %w", strings.Join(d.status.path, "."), ErrMissingField)
	}
	s, err := scalarString(v, false)
	if err != nil {
		return "", fmt.Errorf("status %q: %w", strings.Join(d.status.path, "."), err)
	}
	return s, nil
}

// eventType is the constant type, or the type field's value mapped.
func (d *Decoder) eventType(doc *scanned) (string, error) {
	if d.typeConst != "" {
		return d.typeConst, nil
	}
	var typ string
	v, ok := doc.get(d.typeIdx)
	switch {
	case ok:
		s, err := scalarString(v, false)
		if err != nil {
			return "", fmt.Errorf("type %q: %w", strings.Join(d.typePath, "."), err)
		}
		if t, found := mapValue(d.typeMap, s); found {
			typ = t
		} else if d.typeDefault != "" {
			typ = d.typeDefault
		} else if d.typeMap != nil {
			return "", fmt.Errorf("type %q: value %q is not in the map: %w", strings.Join(d.typePath, "."), clip(s), ErrBadValue)
		} else {
			typ = s
		}
	case d.typeDefault != "":
		typ = d.typeDefault
	default:
		return "", fmt.Errorf("type %q: %w", strings.Join(d.typePath, "."), ErrMissingField)
	}
	if typ == "" {
		return "", fmt.Errorf("type %q is empty: %w", strings.Join(d.typePath, "."), ErrBadValue)
	}
	return typ, nil
}

// deviceTime is the device's timestamp (zero when the mapping has none or the payload
// lacks an optional one).
func (d *Decoder) deviceTime(doc *scanned) (time.Time, error) {
	if d.timeFormat == TimeNone {
		return time.Time{}, nil
	}
	v, ok := doc.get(d.timeIdx)
	if !ok {
		if d.timeRequired {
			return time.Time{}, fmt.Errorf("time %q: %w", strings.Join(d.timePath, "."), ErrMissingField)
		}
		return time.Time{}, nil
	}
	t, err := parseTime(v, d.timeFormat)
	if err != nil {
		return time.Time{}, fmt.Errorf("time %q: %w", strings.Join(d.timePath, "."), err)
	}
	return t, nil
}

// fill sets e's mapped and constant fields; on error e keeps the fields set before it.
func (d *Decoder) fill(e *event.Event, doc *scanned) error {
	if n := len(d.fields) + len(d.consts); n > 0 {
		e.Fields = make(event.Fields, n)
	}
	for i := range d.fields {
		f := &d.fields[i]
		v, ok := doc.get(f.idx)
		if !ok {
			if f.required {
				return fmt.Errorf("field %q: %w", f.name, ErrMissingField)
			}
			continue
		}
		x, err := convert(v, f.typ)
		if err != nil {
			return fmt.Errorf("field %q: %w", f.name, err)
		}
		if s, isStr := x.(string); isStr && f.m != nil {
			if t, found := mapValue(f.m, s); found {
				x = t
			}
		}
		e.Fields[f.name] = x
	}
	for k, v := range d.consts {
		e.Fields[k] = v
	}
	return nil
}

func (d *Decoder) deviceID(s string) string {
	if d.devMap != nil {
		if t, ok := mapValue(d.devMap, s); ok {
			s = t
		}
	}
	if d.devPrefix == "" && d.devSuffix == "" {
		return s
	}
	return d.devPrefix + s + d.devSuffix
}

func (d *Decoder) statusEvent(e event.Event, s string) (event.Event, error) {
	l := strings.ToLower(s)
	switch {
	case d.status.online[l]:
		e.Type = event.TypeOnline
	case d.status.offline[l]:
		e.Type = event.TypeOffline
	default:
		return e, fmt.Errorf("status %q is neither online nor offline: %w", clip(s), ErrBadValue)
	}
	if len(d.consts) > 0 {
		e.Fields = d.consts.Clone()
	}
	return e, nil
}

// clip shortens outside text for error messages.
func clip(s string) string {
	if len(s) <= 32 {
		return s
	}
	i := 32
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "..."
}

func errOr(err, def error) error {
	if err != nil {
		return err
	}
	return def
}

// mapValue looks s up in m exactly, then in lower case.
func mapValue(m map[string]string, s string) (string, bool) {
	if m == nil {
		return "", false
	}
	if t, ok := m[s]; ok {
		return t, true
	}
	t, ok := m[strings.ToLower(s)]
	return t, ok
}

// scalarString is the text form of a string, bool or number (integers without a
// fraction; with intOnly, fractional numbers and bools are wrong types).
func scalarString(v any, intOnly bool) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case bool:
		if intOnly {
			return "", ErrWrongType
		}
		return strconv.FormatBool(x), nil
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return strconv.FormatInt(int64(x), 10), nil
		}
		if intOnly {
			return "", ErrWrongType
		}
		return strconv.FormatFloat(x, 'g', -1, 64), nil
	}
	return "", ErrWrongType
}

// convert turns a JSON value into the field type typ.
func convert(v any, typ string) (any, error) {
	switch typ {
	case "":
		switch v.(type) {
		case string, float64, bool:
			return v, nil
		}
		return nil, ErrWrongType
	case FieldString:
		if s, ok := v.(string); ok {
			return s, nil
		}
		return nil, ErrWrongType
	case FieldFloat:
		switch x := v.(type) {
		case float64:
			return x, nil
		case string:
			f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
			if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				return nil, ErrWrongType
			}
			return f, nil
		}
		return nil, ErrWrongType
	case FieldInt:
		var f float64
		switch x := v.(type) {
		case float64:
			f = x
		case string:
			if i, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64); err == nil {
				return i, nil
			}
			var err error
			if f, err = strconv.ParseFloat(strings.TrimSpace(x), 64); err != nil {
				return nil, ErrWrongType
			}
		default:
			return nil, ErrWrongType
		}
		if f != math.Trunc(f) || math.Abs(f) > 1<<53 {
			return nil, ErrWrongType
		}
		return int64(f), nil
	case FieldBool:
		switch x := v.(type) {
		case bool:
			return x, nil
		case string:
			b, err := strconv.ParseBool(strings.TrimSpace(x))
			if err != nil {
				return nil, ErrWrongType
			}
			return b, nil
		case float64:
			if x == 0 || x == 1 {
				return x == 1, nil
			}
		}
		return nil, ErrWrongType
	}
	return nil, ErrWrongType
}

// maxUnixSeconds bounds device timestamps to years 0..9999-ish (anything beyond is a
// broken clock or a unit mix-up).
const maxUnixSeconds = 253402300799

func parseTime(v any, format string) (time.Time, error) {
	if format == TimeRFC3339 {
		s, ok := v.(string)
		if !ok {
			return time.Time{}, ErrWrongType
		}
		t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s))
		if err != nil {
			return time.Time{}, ErrBadValue
		}
		return t, nil
	}
	var f float64
	switch x := v.(type) {
	case float64:
		f = x
	case string:
		var err error
		if f, err = strconv.ParseFloat(strings.TrimSpace(x), 64); err != nil {
			return time.Time{}, ErrWrongType
		}
	default:
		return time.Time{}, ErrWrongType
	}
	if format == TimeUnixMS {
		f /= 1000
	}
	if math.IsNaN(f) || f < 0 || f > maxUnixSeconds {
		return time.Time{}, ErrBadValue
	}
	sec, frac := math.Modf(f)
	// Round to the millisecond (ms and s inputs; float noise below that is meaningless).
	ms := math.Round(frac * 1000)
	return time.Unix(int64(sec), int64(ms)*int64(time.Millisecond)).UTC(), nil
}
