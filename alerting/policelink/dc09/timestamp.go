package dc09

import (
	"fmt"
	"time"
)

// tsLen is the length of "_HH:MM:SS,MM-DD-YYYY".
const tsLen = 20

// appendTimestamp appends "_HH:MM:SS,MM-DD-YYYY" for t in UTC.
func appendTimestamp(b []byte, t time.Time) ([]byte, error) {
	u := t.UTC()
	if u.Year() < 0 || u.Year() > 9999 {
		return b, fmt.Errorf("dc09: year %d outside 0000..9999: %w", u.Year(), ErrTimestamp)
	}
	if u.Truncate(time.Second).IsZero() {
		return b, fmt.Errorf("dc09: timestamp %s is the reserved zero time: %w", u.Format(time.RFC3339), ErrTimestamp)
	}
	b = append(b, '_')
	b = append2(b, u.Hour())
	b = append(b, ':')
	b = append2(b, u.Minute())
	b = append(b, ':')
	b = append2(b, u.Second())
	b = append(b, ',')
	b = append2(b, int(u.Month()))
	b = append(b, '-')
	b = append2(b, u.Day())
	b = append(b, '-')
	b = append2(b, u.Year()/100)
	b = append2(b, u.Year()%100)
	return b, nil
}

func append2(b []byte, n int) []byte { return append(b, byte('0'+n/10), byte('0'+n%10)) }

// parseTimestamp parses "_HH:MM:SS,MM-DD-YYYY" (exactly tsLen bytes) as UTC.
func parseTimestamp(s string) (time.Time, error) {
	bad := func(why string) (time.Time, error) {
		return time.Time{}, fmt.Errorf("dc09: timestamp %q: %s: %w", s, why, ErrTimestamp)
	}
	if len(s) != tsLen || s[0] != '_' || s[3] != ':' || s[6] != ':' || s[9] != ',' || s[12] != '-' || s[15] != '-' {
		return bad("want _HH:MM:SS,MM-DD-YYYY")
	}
	num := func(i, n int) int {
		v := 0
		for j := i; j < i+n; j++ {
			c := s[j]
			if c < '0' || c > '9' {
				return -1
			}
			v = v*10 + int(c-'0')
		}
		return v
	}
	hh, mi, ss := num(1, 2), num(4, 2), num(7, 2)
	mo, dd, yy := num(10, 2), num(13, 2), num(16, 4)
	if hh < 0 || mi < 0 || ss < 0 || mo < 0 || dd < 0 || yy < 0 {
		return bad("non-digit")
	}
	if hh > 23 || mi > 59 || ss > 59 {
		return bad("time of day out of range")
	}
	if mo < 1 || mo > 12 || dd < 1 || dd > daysIn(time.Month(mo), yy) {
		return bad("date out of range")
	}
	t := time.Date(yy, time.Month(mo), dd, hh, mi, ss, 0, time.UTC)
	if t.IsZero() {
		return bad("reserved zero time")
	}
	return t, nil
}

// daysIn returns the number of days of month m in year y.
func daysIn(m time.Month, y int) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
