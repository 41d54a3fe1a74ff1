package mqtt

import (
	"github.com/campusguard/campusguard/cfgerr"
	"github.com/campusguard/campusguard/drivers/mqtt/payload"
)

// Source is the Event.Source of events from this driver.
const Source = payload.Source

// NewDecoder builds the payload decoder of m (defaults applied to a copy of m). The
// error is a *cfgerr.List with keys relative to the mapping.
func NewDecoder(m MappingConfig) (*payload.Decoder, error) {
	m.SetDefaults()
	var errs cfgerr.List
	m.Validate("", &errs)
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return payload.New(m.payload()), nil
}

// payload is the decoding part of the mapping.
func (m *MappingConfig) payload() payload.Mapping {
	p := payload.Mapping{
		Name:       m.Name,
		Kind:       m.Kind,
		MaxPayload: m.MaxPayload,
		DeviceID: payload.DeviceID{TopicLevel: m.DeviceID.TopicLevel, Field: m.DeviceID.Field,
			Prefix: m.DeviceID.Prefix, Suffix: m.DeviceID.Suffix, Map: m.DeviceID.Map},
		Type:  payload.Type{Field: m.Type.Field, Const: m.Type.Const, Map: m.Type.Map, Default: m.Type.Default},
		Time:  payload.Time{Field: m.Time.Field, Format: m.Time.Format, Required: m.Time.Required},
		Const: m.Const,
	}
	for _, f := range m.Fields {
		p.Fields = append(p.Fields, payload.Field{Name: f.Name, Path: f.Path, Type: f.Type, Required: f.Required, Map: f.Map})
	}
	if s := m.Status; s != nil {
		p.Status = &payload.Status{Field: s.Field, Online: s.Online, Offline: s.Offline}
	}
	return p
}
