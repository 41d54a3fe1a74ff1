package daemon

import (
	"golang.org/x/sys/unix"

	"github.com/campusguard/campusguard/internal/health"
)

// clockHealth reports whether the kernel considers the system clock synchronised
// (NTP): alarm records must be within ±30 s of standard time (standards.md).
func clockHealth() health.Status {
	var tx unix.Timex
	state, err := unix.Adjtimex(&tx)
	if err != nil {
		return health.Status{State: health.Degraded, Reason: "cannot read the clock state: " + err.Error()}
	}
	est := float64(tx.Esterror) / 1e6 // µs → s
	if state == unix.TIME_ERROR || tx.Status&unix.STA_UNSYNC != 0 {
		return health.Status{State: health.Degraded, Reason: "system clock not synchronised (check NTP / timesyncd)",
			Detail: map[string]any{"synchronised": false}}
	}
	return health.Status{State: health.Up, Detail: map[string]any{"synchronised": true, "estimated_error_s": est}}
}
