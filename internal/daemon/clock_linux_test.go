package daemon

import (
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/campusguard/campusguard/health"
)

func TestClockHealthFromTimesyncFlag(t *testing.T) {
	now := time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		files  fstest.MapFS
		err    error
		want   health.State
		reason string
		synced bool
	}{
		{"synchronised recently", fstest.MapFS{
			"run/systemd/timesync":              {Mode: fs.ModeDir},
			"run/systemd/timesync/synchronized": {ModTime: now.Add(-10 * time.Minute)},
		}, nil, health.Up, "", true},
		{"flag stale", fstest.MapFS{
			"run/systemd/timesync/synchronized": {ModTime: now.Add(-7 * time.Hour)},
		}, nil, health.Degraded, "has not synchronised the clock for 7h0m0s", false},
		{"timesyncd running, not synced yet", fstest.MapFS{
			"run/systemd/timesync": {Mode: fs.ModeDir},
		}, nil, health.Degraded, "not synchronised yet", false},
		{"no timesyncd", fstest.MapFS{}, nil, health.Degraded, "systemd-timesyncd is not running", false},
		{"unreadable", nil, fs.ErrPermission, health.Degraded, "cannot read the clock state", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stat := func(p string) (fs.FileInfo, error) {
				if tt.err != nil {
					return nil, tt.err
				}
				return fs.Stat(tt.files, strings.TrimPrefix(p, "/"))
			}
			st := clockHealthFrom(stat, now)
			if st.State != tt.want {
				t.Fatalf("state = %s (%s), want %s", st.State, st.Reason, tt.want)
			}
			if !strings.Contains(st.Reason, tt.reason) {
				t.Errorf("reason %q does not mention %q", st.Reason, tt.reason)
			}
			if got, _ := st.Detail["synchronised"].(bool); got != tt.synced {
				t.Errorf("synchronised = %v, want %v", got, tt.synced)
			}
		})
	}
}

// TestClockHealthOnThisMachine: clockHealth on this machine returns without a
// system call from @clock (it would be a SIGSYS under the unit), whatever the state.
func TestClockHealthOnThisMachine(t *testing.T) {
	st := clockHealth()
	if st.State == health.Down {
		t.Fatalf("clock health down: %+v", st)
	}
	if st.State != health.Up && st.Reason == "" {
		t.Errorf("degraded without a reason: %+v", st)
	}
}
