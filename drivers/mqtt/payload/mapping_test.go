package payload

import "testing"

func TestTopicLevel(t *testing.T) {
	tests := []struct {
		topic string
		i     int
		want  string
		ok    bool
	}{
		{"a/b/c", 0, "a", true}, {"a/b/c", 2, "c", true}, {"a/b/c", 3, "", false},
		{"a/b/c", -1, "c", true}, {"a/b/c", -3, "a", true}, {"a/b/c", -4, "", false},
	}
	for _, tt := range tests {
		got, ok := topicLevel(tt.topic, tt.i)
		if got != tt.want || ok != tt.ok {
			t.Errorf("topicLevel(%q, %d) = %q %v", tt.topic, tt.i, got, ok)
		}
	}
}
