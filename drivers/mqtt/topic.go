package mqtt

import (
	"errors"
	"strings"
)

// validFilter checks an MQTT topic filter: non-empty, '+' alone in its level, '#' alone
// and last.
func validFilter(f string) error {
	if f == "" {
		return errors.New("is required (a topic filter such as school/+/kitchen/+/ai)")
	}
	if len(f) > 65535 {
		return errors.New("topic filter is too long")
	}
	if strings.ContainsRune(f, 0) {
		return errors.New("topic filter contains a NUL character")
	}
	levels := strings.Split(f, "/")
	for i, l := range levels {
		switch {
		case l == "#" && i != len(levels)-1:
			return errors.New("'#' must be the last level")
		case l != "#" && l != "+" && strings.ContainsAny(l, "#+"):
			return errors.New("wildcards '+' and '#' must fill a whole level")
		}
	}
	return nil
}
