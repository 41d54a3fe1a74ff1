package payload

import (
	"strings"

	"github.com/campusguard/campusguard/event"
)

// Time formats of Time.Format.
const (
	TimeRFC3339 = "rfc3339"
	TimeUnix    = "unix"
	TimeUnixMS  = "unix_ms"
	TimeNone    = "none"
)

// Field types of Field.Type ("" keeps the JSON type: string, float or bool).
const (
	FieldString = "string"
	FieldFloat  = "float"
	FieldInt    = "int"
	FieldBool   = "bool"
)

// Mapping is what a Decoder needs to know about one topic mapping, with defaults
// applied and validated by the caller (drivers/mqtt's MappingConfig). Paths are dotted
// JSON paths in the payload.
type Mapping struct {
	Name string
	Kind event.Kind
	// MaxPayload is the largest payload accepted, in bytes (0: no limit).
	MaxPayload int
	DeviceID   DeviceID
	Type       Type
	Time       Time
	Fields     []Field
	// Const are fields added to every event.
	Const map[string]any
	// Status makes this an online/offline topic: Type, Time and Fields are not used.
	Status *Status
}

// The parts of a Mapping below are also the mqtt config section's mapping keys
// (drivers/mqtt declares its DeviceIDConfig, TypeConfig, TimeConfig, FieldMap and
// StatusConfig as these types): the mapstructure tags are those keys.

// DeviceID locates the device id: exactly one of the topic level TopicLevel and the
// payload path Field. Map renames the value found, then Prefix and Suffix are added
// around it.
type DeviceID struct {
	// TopicLevel is the 0-based level of the topic (negative counts from the end:
	// -1 is the last level).
	TopicLevel *int `mapstructure:"topic_level"`
	// Field is a dotted JSON path in the payload (a string or integer value).
	Field string `mapstructure:"field"`
	// Prefix and Suffix are added around the value found: prefix "kitchen-" turns
	// "cam-2" into "kitchen-cam-2".
	Prefix string `mapstructure:"prefix"`
	Suffix string `mapstructure:"suffix"`
	// Map renames vendor ids to device ids (applied before Prefix/Suffix are added).
	Map map[string]string `mapstructure:"map"`
}

// Type is the event type: Const, or the value at Field (a string, bool or number, in
// its text form) looked up in Map.
type Type struct {
	Field string `mapstructure:"field"`
	Const string `mapstructure:"const"`
	// Map translates values (vendor name → our type). Keys are matched exactly, then in
	// lower case (viper lower-cases map keys).
	Map map[string]string `mapstructure:"map"`
	// Default is the type when Field is absent or its value is not in Map. Without a
	// Default an absent Field is ErrMissingField, a value not in a non-empty Map
	// ErrBadValue, and with no Map the value itself is the type.
	Default string `mapstructure:"default"`
}

// Time locates the device timestamp.
type Time struct {
	Field string `mapstructure:"field"`
	// Format is TimeRFC3339, TimeUnix (seconds, may be fractional), TimeUnixMS or
	// TimeNone (no device time).
	Format string `mapstructure:"format"`
	// Required makes a missing timestamp an error (default: the event has no device time).
	Required bool `mapstructure:"required"`
}

// Field copies the value at Path into the event field Name, converted to Type.
type Field struct {
	// Name of the event field.
	Name string `mapstructure:"name"`
	// Path is a dotted JSON path in the payload (drivers/mqtt's default: Name).
	Path string `mapstructure:"path"`
	// Type is FieldString, FieldFloat, FieldInt or FieldBool ("" = as the JSON has it).
	// Numbers given as strings are accepted for float and int, "true"/"false" for bool.
	Type string `mapstructure:"type"`
	// Required makes a missing (or null) value an error.
	Required bool `mapstructure:"required"`
	// Map translates string values (vendor name → our name), like Type.Map; values not
	// in it pass through unchanged (a new vendor name still arrives).
	Map map[string]string `mapstructure:"map"`
}

// Status decodes an online/offline topic (often a device's last will).
type Status struct {
	// Field is the JSON path of the status value; "" means the whole payload is the value
	// (plain text, surrounding space ignored).
	Field string `mapstructure:"field"`
	// Online and Offline list the values meaning each state, compared
	// case-insensitively (drivers/mqtt's defaults: online/1/true and offline/0/false).
	Online  []string `mapstructure:"online"`
	Offline []string `mapstructure:"offline"`
}

// Decoder turns one mapping's MQTT messages into events. It is pure (no I/O, no clock)
// and safe for concurrent use.
type Decoder struct {
	name       string
	kind       event.Kind
	maxPayload int

	devLevel  int
	devTopic  bool
	devPath   []string
	devPrefix string
	devSuffix string
	devMap    map[string]string

	typeConst   string
	typePath    []string
	typeMap     map[string]string
	typeDefault string

	timePath     []string
	timeFormat   string
	timeRequired bool

	fields []fieldDec
	consts event.Fields

	status *statusDec

	// The payload paths the decoder reads, for the scanner, and their indices.
	paths                           scanPaths
	devIdx, typeIdx, timeIdx, stIdx int
}

type fieldDec struct {
	idx      int // path index in Decoder.paths
	name     string
	path     []string
	typ      string
	required bool
	m        map[string]string
}

type statusDec struct {
	path    []string
	online  map[string]bool
	offline map[string]bool
}

// New builds the decoder of m. Constants that are not event field values are left out
// (the caller's validation refuses them).
func New(m Mapping) *Decoder {
	d := &Decoder{
		name:         m.Name,
		kind:         m.Kind,
		maxPayload:   m.MaxPayload,
		devPath:      splitPath(m.DeviceID.Field),
		devPrefix:    m.DeviceID.Prefix,
		devSuffix:    m.DeviceID.Suffix,
		devMap:       m.DeviceID.Map,
		typeConst:    m.Type.Const,
		typePath:     splitPath(m.Type.Field),
		typeMap:      m.Type.Map,
		typeDefault:  m.Type.Default,
		timeFormat:   m.Time.Format,
		timePath:     splitPath(m.Time.Field),
		timeRequired: m.Time.Required,
	}
	if m.DeviceID.TopicLevel != nil {
		d.devTopic, d.devLevel = true, *m.DeviceID.TopicLevel
	}
	for _, f := range m.Fields {
		d.fields = append(d.fields, fieldDec{name: f.Name, path: splitPath(f.Path), typ: f.Type, required: f.Required, m: f.Map})
	}
	if len(m.Const) > 0 {
		d.consts = make(event.Fields, len(m.Const))
		for k, v := range m.Const {
			_ = d.consts.Set(k, v)
		}
	}
	if s := m.Status; s != nil {
		d.status = &statusDec{path: splitPath(s.Field), online: lowerSet(s.Online), offline: lowerSet(s.Offline)}
	}
	d.devIdx, d.typeIdx, d.timeIdx, d.stIdx = -1, -1, -1, -1
	if !d.devTopic {
		d.devIdx = d.paths.add(d.devPath)
	}
	if d.status != nil {
		d.stIdx = d.paths.add(d.status.path)
	}
	if d.typeConst == "" {
		d.typeIdx = d.paths.add(d.typePath)
	}
	if d.timeFormat != TimeNone {
		d.timeIdx = d.paths.add(d.timePath)
	}
	for i := range d.fields {
		d.fields[i].idx = d.paths.add(d.fields[i].path)
	}
	return d
}

func splitPath(p string) []string {
	if p == "" {
		return nil
	}
	return strings.Split(p, ".")
}

func lowerSet(vs []string) map[string]bool {
	m := make(map[string]bool, len(vs))
	for _, v := range vs {
		m[strings.ToLower(strings.TrimSpace(v))] = true
	}
	return m
}

// Name is the mapping's name.
func (d *Decoder) Name() string { return d.name }

// Kind is the mapping's device kind.
func (d *Decoder) Kind() event.Kind { return d.kind }

// topicLevel returns level i of topic (negative counts from the end), or false.
func topicLevel(topic string, i int) (string, bool) {
	if i < 0 {
		n := strings.Count(topic, "/") + 1
		i += n
		if i < 0 {
			return "", false
		}
	}
	for ; i > 0; i-- {
		j := strings.IndexByte(topic, '/')
		if j < 0 {
			return "", false
		}
		topic = topic[j+1:]
	}
	if j := strings.IndexByte(topic, '/'); j >= 0 {
		topic = topic[:j]
	}
	return topic, true
}
