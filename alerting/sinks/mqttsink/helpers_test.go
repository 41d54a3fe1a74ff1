package mqttsink_test

import (
	"testing"
	"time"
)

// awaitTimeout bounds every wait for a signal; tests never sleep for a fixed time.
const awaitTimeout = 10 * time.Second

func await(t *testing.T, c <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-c:
	case <-time.After(awaitTimeout):
		t.Fatalf("%s did not happen", what)
	}
}

func awaitResult(t *testing.T, results <-chan string, want string) {
	t.Helper()
	select {
	case r := <-results:
		if r != want {
			t.Fatalf("result %s, want %s", r, want)
		}
	case <-time.After(awaitTimeout):
		t.Fatalf("no result (want %s)", want)
	}
}
