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

// DeviceID locates the device id: the topic level TopicLevel (negative counts from the
// end) when set, else the payload path Field. Map renames the value found, then Prefix
// and Suffix are added around it.
type DeviceID struct {
	TopicLevel     *int
	Field          string
	Prefix, Suffix string
	Map            map[string]string
}

// Type is the event type: Const, or the value at Field looked up in Map (exactly, then
// in lower case). Default is the type when Field is absent or its value is not in Map.
// Without a Default an absent Field is ErrMissingField, a value not in a non-empty Map
// ErrBadValue, and with no Map the value itself is the type.
type Type struct {
	Field, Const string
	Map          map[string]string
	Default      string
}

// Time locates the device timestamp (Format TimeNone: no device time).
type Time struct {
	Field    string
	Format   string
	Required bool
}

// Field copies the value at Path into the event field Name, converted to Type; string
// values found in Map are renamed.
type Field struct {
	Name, Path string
	Type       string
	Required   bool
	Map        map[string]string
}

// Status decodes an online/offline topic: the value at Field ("" means the whole
// payload, as plain text) compared case-insensitively with Online and Offline.
type Status struct {
	Field           string
	Online, Offline []string
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
