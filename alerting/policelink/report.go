package policelink

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/campusguard/campusguard/alerting"
	"github.com/campusguard/campusguard/alerting/policelink/dc09"
	"github.com/campusguard/campusguard/site"
)

// ErrNoMapping is the cause of the rejection of an alarm that no mapping matches.
var ErrNoMapping = errors.New("no police-link mapping matches the alarm")

// occurrenceLayout is the form of the [H..] time-of-occurrence block: the DC-09
// timestamp form without its leading '_', in UTC.
const occurrenceLayout = "15:04:05,01-02-2006"

// Report is what one notification becomes on the link: one Contact ID or SIA event.
type Report struct {
	Qualifier int       // dc09.QualifierNew or dc09.QualifierRestore
	Code      int       // Contact ID event code
	SIA       string    // SIA DC-03 code for this qualifier (SIA-DCS links)
	Area      int       // 0..99
	Zone      int       // 0..999
	At        time.Time // time of occurrence (the [H..] block): fired or resolved time
	Test      bool      // a test report (601/602)
}

// ReportFor decides whether and how notification n is reported. send is false for
// transitions the link does not carry (acknowledged, escalated, refired, cleared; a
// restore when the mapping has restore: false; the restore of a test alarm) and for
// alarms of class link (the police link's own alarms: it reports its path failures
// itself). err
// wraps ErrNoMapping when no mapping matches a transition that would be sent. dir
// gives the device and zone numbers (nil: only the mappings' numbers).
func (c *Config) ReportFor(n alerting.Notification, dir *site.Directory) (rep Report, send bool, err error) {
	a := &n.Alarm
	switch n.Transition {
	case alerting.Fired:
		rep.Qualifier, rep.At = dc09.QualifierNew, a.FiredAt
	case alerting.ResolvedT:
		rep.Qualifier, rep.At = dc09.QualifierRestore, a.ResolvedAt
	case alerting.Refired:
		if !n.Occurrence {
			return Report{}, false, nil // a reminder: the centre has the event
		}
		// Another trigger of an open alarm (a press after the acknowledgement): a new event.
		rep.Qualifier, rep.At = dc09.QualifierNew, a.LastAt
	default:
		return Report{}, false, nil
	}
	if rep.At.IsZero() {
		rep.At = n.At
	}
	if a.Class == alerting.ClassLink && !a.Test {
		// An alarm about the police link itself (raised from this sink's events): the
		// link reports its own path failures (CID 350), and a report_rejected about
		// such an alarm would raise it again.
		return Report{}, false, nil
	}
	var m *Mapping
	for i := range c.Mappings {
		if c.Mappings[i].Match.Matches(a) {
			m = &c.Mappings[i]
			break
		}
	}
	area, zone := policeZone(a, dir)
	if m != nil {
		if m.Area > 0 {
			area = m.Area
		}
		if m.Zone > 0 {
			zone = m.Zone
		}
	}
	if a.Test {
		if rep.Qualifier != dc09.QualifierNew {
			return Report{}, false, nil
		}
		rep.Test, rep.Code, rep.SIA = true, c.Test.Code, c.Test.SIA
		rep.Area, rep.Zone = area, zone
		return rep, true, nil
	}
	if m == nil {
		return Report{}, false, fmt.Errorf("alarm %s (rule %s, device %s, zone %s): %w", a.ID, a.Rule, a.DeviceID, a.Zone, ErrNoMapping)
	}
	if rep.Qualifier == dc09.QualifierRestore && !m.Restore {
		return Report{}, false, nil
	}
	rep.Code, rep.Area, rep.Zone = m.Code, area, zone
	rep.SIA = m.SIA
	if rep.Qualifier == dc09.QualifierRestore {
		rep.SIA = m.SIARestore
	}
	return rep, true, nil
}

// policeZone returns the area and zone numbers of the alarm's device, else of its zone.
func policeZone(a *alerting.Alarm, dir *site.Directory) (area, zone int) {
	if dir == nil || dir.Site == nil {
		return 0, 0
	}
	if d := dir.Device(a.DeviceID); d != nil {
		return dir.PoliceZone(d)
	}
	if z := dir.Zone(a.Zone); z != nil {
		return z.Area, z.Number
	}
	return 0, 0
}

// Data returns the data block content of rep for this link's protocol and account:
// "#acct|QEEE GG ZZZ" or "#acct|N[ri<area>/]<CC><zone>".
func (c *Config) Data(rep Report) (string, error) {
	if c.Protocol == ProtocolSIA {
		e := dc09.SIAEvent{Code: rep.SIA, Addr: fmt.Sprintf("%03d", rep.Zone)}
		if rep.Area > 0 {
			e.Area = strconv.Itoa(rep.Area)
		}
		return dc09.FormatSIA(c.Account, e)
	}
	return dc09.FormatCID(c.Account, dc09.CID{Qualifier: rep.Qualifier, Code: rep.Code, Area: rep.Area, Zone: rep.Zone})
}

// message builds the DC-09 message of rep with sequence number seq; the timestamp is
// set when it is sent.
func (c *Config) message(rep Report, seq int, encrypted bool) (dc09.Message, error) {
	data, err := c.Data(rep)
	if err != nil {
		return dc09.Message{}, err
	}
	tok := dc09.TokenADMCID
	if c.Protocol == ProtocolSIA {
		tok = dc09.TokenSIADCS
	}
	m := dc09.Message{ID: tok, Encrypted: encrypted, Seq: seq, Receiver: c.Receiver, Line: c.Line, Account: c.Account, Data: data}
	if !c.OmitTimeBlock && !rep.At.IsZero() {
		m.Ext = []dc09.ExtBlock{{Tag: 'H', Value: FormatOccurrence(rep.At)}}
	}
	return m, nil
}

// nullMessage is the supervision (link test) message.
func (c *Config) nullMessage(encrypted bool) dc09.Message {
	return dc09.Message{ID: dc09.TokenNULL, Encrypted: encrypted, Seq: dc09.NullSeq, Receiver: c.Receiver, Line: c.Line, Account: c.Account}
}

// FormatOccurrence returns the value of an [H..] block for t: "HH:MM:SS,MM-DD-YYYY" UTC.
func FormatOccurrence(t time.Time) string { return t.UTC().Format(occurrenceLayout) }

// ParseOccurrence parses the value of an [H..] block (see FormatOccurrence).
func ParseOccurrence(s string) (time.Time, error) {
	// time.Parse would read ",MM" after the seconds as a fraction: split by hand.
	clock, date, ok := strings.Cut(s, ",")
	if !ok {
		return time.Time{}, fmt.Errorf("policelink: time of occurrence %q: want HH:MM:SS,MM-DD-YYYY", s)
	}
	t, err := time.Parse("15:04:05 01-02-2006", clock+" "+date)
	if err != nil {
		return time.Time{}, fmt.Errorf("policelink: time of occurrence %q: %w", s, err)
	}
	return t, nil
}

// Occurrence returns the time of occurrence carried by m's [H..] block.
func Occurrence(m dc09.Message) (time.Time, bool) {
	for _, e := range m.Ext {
		if e.Tag == 'H' {
			t, err := ParseOccurrence(e.Value)
			return t, err == nil
		}
	}
	return time.Time{}, false
}
