package dc09

import (
	"fmt"
	"strings"
)

// SIAEvent is the common form of a SIA DC-03 (SIA-DCS) new-event block:
//
//	#acct|N[ri<area>/][id<user>/][ti<hh:mm>/]<CC><addr>[^text^][|A<ascii>]
//
// e.g. "#1234|Nri1/PA015" (panic, area 1, zone 015). Numeric fields are kept
// as strings so that their leading zeros survive a round trip.
type SIAEvent struct {
	Area  string // "ri" modifier, 1..6 digits; "" = absent
	User  string // "id" modifier, 1..6 digits; "" = absent
	Time  string // "ti" modifier, "hh:mm"; "" = absent
	Code  string // two upper-case letters, e.g. "PA"
	Addr  string // zone, user or point number, 0..6 digits
	Text  string // "^text^" annotation; "" = absent
	ASCII string // trailing "|A<ascii>" block; "" = absent
}

// Validate checks e against the common form.
func (e SIAEvent) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("dc09: SIA event: "+format+": %w", append(args, ErrPayload)...)
	}
	if e.Area != "" && !isDigits(e.Area, 1, 6) {
		return bad("area %q must be 1..6 digits", e.Area)
	}
	if e.User != "" && !isDigits(e.User, 1, 6) {
		return bad("user %q must be 1..6 digits", e.User)
	}
	if e.Time != "" && !validHHMM(e.Time) {
		return bad("time %q must be hh:mm", e.Time)
	}
	if len(e.Code) != 2 || !isUpper(e.Code[0]) || !isUpper(e.Code[1]) {
		return bad("code %q must be two upper-case letters", e.Code)
	}
	if !isDigits(e.Addr, 0, 6) {
		return bad("address %q must be up to 6 digits", e.Addr)
	}
	if strings.ContainsAny(e.Text, "^|[]\r\n") {
		return bad("text %q must not contain ^ | [ ] CR LF", e.Text)
	}
	if strings.ContainsAny(e.ASCII, "|[]\r\n") {
		return bad("ASCII block %q must not contain | [ ] CR LF", e.ASCII)
	}
	return nil
}

// FormatSIA returns the SIA-DCS data block content for account and e.
func FormatSIA(account string, e SIAEvent) (string, error) {
	if !isHex(account, 1, MaxAccount) {
		return "", fmt.Errorf("dc09: SIA event account %q must be 1..%d hex digits: %w", account, MaxAccount, ErrPayload)
	}
	if err := e.Validate(); err != nil {
		return "", err
	}
	var b strings.Builder
	b.Grow(len(account) + len(e.Area) + len(e.User) + len(e.Time) + len(e.Addr) + len(e.Text) + len(e.ASCII) + 20)
	b.WriteString("#")
	b.WriteString(account)
	b.WriteString("|N")
	for _, mod := range [...]struct{ key, val string }{{"ri", e.Area}, {"id", e.User}, {"ti", e.Time}} {
		if mod.val != "" {
			b.WriteString(mod.key)
			b.WriteString(mod.val)
			b.WriteByte('/')
		}
	}
	b.WriteString(e.Code)
	b.WriteString(e.Addr)
	if e.Text != "" {
		b.WriteString("^" + e.Text + "^")
	}
	if e.ASCII != "" {
		b.WriteString("|A" + e.ASCII)
	}
	return b.String(), nil
}

// ParseSIA parses a SIA-DCS data block content in the common form.
// Modifiers may come in any order; only ri, id and ti are supported.
func ParseSIA(data string) (account string, e SIAEvent, err error) {
	bad := func(why string) (string, SIAEvent, error) {
		return "", SIAEvent{}, fmt.Errorf("dc09: SIA event %q: %s: %w", data, why, ErrPayload)
	}
	account, s, why := splitAccount(data)
	if why != "" {
		return bad(why)
	}
	if !strings.HasPrefix(s, "N") {
		return bad("not a new-event 'N' block")
	}
	s = s[1:]
	seen := map[string]bool{}
	for len(s) >= 2 && isLower(s[0]) && isLower(s[1]) {
		key := s[:2]
		slash := strings.IndexByte(s, '/')
		if slash < 0 {
			return bad("modifier " + key + " has no '/'")
		}
		if seen[key] {
			return bad("modifier " + key + " repeated")
		}
		seen[key] = true
		val := s[2:slash]
		switch key {
		case "ri":
			e.Area = val
		case "id":
			e.User = val
		case "ti":
			e.Time = val
		default:
			return bad("unsupported modifier " + key)
		}
		if val == "" {
			return bad("modifier " + key + " is empty")
		}
		s = s[slash+1:]
	}
	if len(s) < 2 {
		return bad("event code missing")
	}
	e.Code, s = s[:2], s[2:]
	i := 0
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
	}
	e.Addr, s = s[:i], s[i:]
	if strings.HasPrefix(s, "^") {
		end := strings.IndexByte(s[1:], '^')
		if end < 0 {
			return bad("text has no closing '^'")
		}
		e.Text, s = s[1:1+end], s[2+end:]
	}
	if strings.HasPrefix(s, "|A") {
		e.ASCII, s = s[2:], ""
	}
	if s != "" {
		return bad(fmt.Sprintf("unexpected %q after the event", s))
	}
	if err := e.Validate(); err != nil {
		return "", SIAEvent{}, fmt.Errorf("dc09: SIA event %q: %w", data, err)
	}
	return account, e, nil
}

func isUpper(c byte) bool { return 'A' <= c && c <= 'Z' }

// splitAccount splits the data block content "#acct|rest" of ParseSIA and ParseCID
// into the account and the rest; why says what is wrong ("" when nothing is).
func splitAccount(data string) (account, rest, why string) {
	if !strings.HasPrefix(data, "#") {
		return "", "", "no '#' account"
	}
	bar := strings.IndexByte(data, '|')
	if bar < 0 {
		return "", "", "no '|' after the account"
	}
	account, rest = data[1:bar], data[bar+1:]
	if !isHex(account, 1, MaxAccount) {
		return "", "", "account must be 1..16 hex digits"
	}
	return account, rest, ""
}

func isLower(c byte) bool { return 'a' <= c && c <= 'z' }

// isDigits reports whether s has min..max characters, all decimal digits.
func isDigits(s string, minLen, maxLen int) bool {
	if len(s) < minLen || len(s) > maxLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// validHHMM reports whether s is "hh:mm" with hh 00..23 and mm 00..59.
func validHHMM(s string) bool {
	return len(s) == 5 && s[2] == ':' && isDigits(s[:2], 2, 2) && isDigits(s[3:], 2, 2) &&
		s[:2] <= "23" && s[3:] <= "59"
}
