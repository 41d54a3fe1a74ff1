package dc09

import "fmt"

// Contact ID qualifiers.
const (
	QualifierNew      = 1 // new event or opening
	QualifierRestore  = 3 // restore or closing
	QualifierPrevious = 6 // previously reported condition still present
)

// CID is a Contact ID event, the ADM-CID payload "QEEE GG ZZZ".
type CID struct {
	Qualifier int // 1 new, 3 restore, 6 previous
	Code      int // event code 000..999
	Area      int // area or partition 00..99 (00 = panel)
	Zone      int // zone or user number 000..999
}

// Validate checks the ranges of c's fields.
func (c CID) Validate() error {
	switch {
	case c.Qualifier != QualifierNew && c.Qualifier != QualifierRestore && c.Qualifier != QualifierPrevious:
		return fmt.Errorf("dc09: contact ID qualifier %d, want 1, 3 or 6: %w", c.Qualifier, ErrPayload)
	case c.Code < 0 || c.Code > 999:
		return fmt.Errorf("dc09: contact ID event code %d outside 000..999: %w", c.Code, ErrPayload)
	case c.Area < 0 || c.Area > 99:
		return fmt.Errorf("dc09: contact ID area %d outside 00..99: %w", c.Area, ErrPayload)
	case c.Zone < 0 || c.Zone > 999:
		return fmt.Errorf("dc09: contact ID zone %d outside 000..999: %w", c.Zone, ErrPayload)
	}
	return nil
}

// String returns "QEEE GG ZZZ", e.g. "1602 00 000". It does not validate.
func (c CID) String() string {
	return fmt.Sprintf("%d%03d %02d %03d", c.Qualifier, c.Code, c.Area, c.Zone)
}

// FormatCID returns the ADM-CID data block content "#acct|QEEE GG ZZZ".
func FormatCID(account string, c CID) (string, error) {
	if !isHex(account, 1, MaxAccount) {
		return "", fmt.Errorf("dc09: contact ID account %q must be 1..%d hex digits: %w", account, MaxAccount, ErrPayload)
	}
	if err := c.Validate(); err != nil {
		return "", err
	}
	return "#" + account + "|" + c.String(), nil
}

// ParseCID parses an ADM-CID data block content "#acct|QEEE GG ZZZ".
func ParseCID(data string) (account string, c CID, err error) {
	bad := func(why string) (string, CID, error) {
		return "", CID{}, fmt.Errorf("dc09: contact ID %q: %s: %w", data, why, ErrPayload)
	}
	account, ev, why := splitAccount(data)
	if why != "" {
		return bad(why)
	}
	if len(ev) != 11 || ev[4] != ' ' || ev[7] != ' ' {
		return bad("event must be \"QEEE GG ZZZ\"")
	}
	num := func(s string) int {
		v := 0
		for i := 0; i < len(s); i++ {
			if s[i] < '0' || s[i] > '9' {
				return -1
			}
			v = v*10 + int(s[i]-'0')
		}
		return v
	}
	c = CID{Qualifier: num(ev[0:1]), Code: num(ev[1:4]), Area: num(ev[5:7]), Zone: num(ev[8:11])}
	if c.Qualifier < 0 || c.Code < 0 || c.Area < 0 || c.Zone < 0 {
		return bad("non-digit in event")
	}
	if err := c.Validate(); err != nil {
		return "", CID{}, fmt.Errorf("dc09: contact ID %q: %w", data, err)
	}
	return account, c, nil
}
