// Package mqtttopic matches MQTT topics against topic filters. It is pure and imports
// only the standard library, so the device driver and the staff sink share one
// reading of the wildcards.
package mqtttopic

import "strings"

// Match reports whether topic matches filter (MQTT 3.1.1 §4.7): '+' matches one level,
// '#' the rest of the topic, the parent level included ("a/#" matches "a"). A topic
// starting with '$' matches no filter starting with a wildcard.
func Match(filter, topic string) bool {
	if strings.HasPrefix(topic, "$") && (strings.HasPrefix(filter, "+") || strings.HasPrefix(filter, "#")) {
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
			// Both end here, or the filter's one level left is "#".
			return fmore == tmore || (fmore && frest == "#")
		}
		filter, topic = frest, trest
	}
}
