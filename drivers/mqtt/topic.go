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

// matchTopic reports whether topic matches filter (MQTT 3.1.1 §4.7; topics starting
// with '$' match no filter starting with a wildcard).
func matchTopic(filter, topic string) bool {
	if topic != "" && topic[0] == '$' && filter != "" && (filter[0] == '+' || filter[0] == '#') {
		return false
	}
	for {
		fl, frest, fmore := strings.Cut(filter, "/")
		if fl == "#" {
			return true
		}
		tl, trest, tmore := strings.Cut(topic, "/")
		if fl != "+" && fl != tl {
			return false
		}
		if !fmore || !tmore {
			// "a/#" also matches "a".
			return fmore == tmore || (fmore && frest == "#")
		}
		filter, topic = frest, trest
	}
}
