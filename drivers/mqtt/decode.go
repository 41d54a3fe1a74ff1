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
	return payload.Mapping{
		Name:       m.Name,
		Kind:       m.Kind,
		MaxPayload: m.MaxPayload,
		DeviceID:   m.DeviceID,
		Type:       m.Type,
		Time:       m.Time,
		Fields:     m.Fields,
		Const:      m.Const,
		Status:     m.Status,
	}
}
