package mqtttopic

import "testing"

func TestMatch(t *testing.T) {
	tests := []struct {
		filter, topic string
		want          bool
	}{
		{"school/+/kitchen/+/ai", "school/s01/kitchen/cam-2/ai", true},
		{"school/+/kitchen/+/ai", "school/s01/kitchen/cam-2/status", false},
		{"school/+/kitchen/+/ai", "school/s01/kitchen/cam-2/ai/x", false},
		{"school/+/kitchen/+/ai", "school/s01/kitchen/ai", false},
		{"school/#", "school", true},
		{"school/#", "school/a/b", true},
		{"cg/s01/ack", "cg/s01/ack", true},
		{"cg/s01/ack", "cg/s01/ack/wang", false},
		{"cg/s01/ack/+", "cg/s01/ack/wang", true},
		{"cg/s01/ack/+", "cg/s01/ack", false},
		{"cg/s01/ack/+", "cg/s01/ack/wang/x", false},
		{"cg/#", "cg/s01/ack", true},
		{"#", "a/b", true},
		{"#", "$SYS/x", false},
		{"+/x", "$SYS/x", false},
		{"$SYS/#", "$SYS/x", true},
		{"+/x", "a/x", true},
		{"a/+", "a/", true},
		{"a/+", "a", false},
		{"a/b", "a/b", true},
		{"a/b", "a/bc", false},
		{"+", "a", true},
		{"+", "a/b", false},
	}
	for _, tt := range tests {
		if got := Match(tt.filter, tt.topic); got != tt.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tt.filter, tt.topic, got, tt.want)
		}
	}
}
