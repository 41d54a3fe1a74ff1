package daemon

import (
	"errors"
	"io/fs"
	"os"
	"time"

	"github.com/campusguard/campusguard/health"
)

// timesyncFlag is the file systemd-timesyncd creates (and touches again at each
// successful synchronisation) once it has set the system clock from an NTP server.
// It lives on /run, so it is gone after a reboot until the first sync.
const timesyncFlag = "/run/systemd/timesync/synchronized"

// timesyncDir exists while systemd-timesyncd is installed and has run at this boot.
const timesyncDir = "/run/systemd/timesync"

// timesyncStale is how old the flag may get before the sync is reported as lost:
// timesyncd polls at most every 2048 s by default, so six hours without a touch
// means it has stopped reaching its servers.
const timesyncStale = 6 * time.Hour

// clockHealth reports whether the system clock is NTP-synchronised: alarm records
// must be within ±30 s of standard time.
//
// It reads systemd-timesyncd's flag file instead of asking the kernel. The kernel's
// answer (adjtimex/clock_adjtime, even read-only) is in the @clock system-call group,
// which the unit's ProtectClock=yes denies, and SystemCallFilter=@system-service does
// not include either; a filtered call kills the process with SIGSYS, which under
// Restart= would be a restart loop right after READY=1. Reading a file under /run
// needs nothing the sandbox takes away.
func clockHealth() health.Status {
	return clockHealthFrom(os.Stat, time.Now())
}

// clockHealthFrom is clockHealth with the file system and the time supplied (tests).
func clockHealthFrom(stat func(string) (fs.FileInfo, error), now time.Time) health.Status {
	fi, err := stat(timesyncFlag)
	switch {
	case err == nil:
		age := now.Sub(fi.ModTime())
		if age < 0 {
			age = 0
		}
		detail := map[string]any{"synchronised": true, "source": "systemd-timesyncd", "last_sync_age_s": int64(age / time.Second)}
		if age > timesyncStale {
			detail["synchronised"] = false
			return health.Status{State: health.Degraded,
				Reason: "systemd-timesyncd has not synchronised the clock for " + age.Truncate(time.Minute).String() + " (check its NTP servers: timedatectl timesync-status)",
				Detail: detail}
		}
		return health.Status{State: health.Up, Detail: detail}
	case !errors.Is(err, fs.ErrNotExist):
		return health.Status{State: health.Degraded, Reason: "cannot read the clock state: " + err.Error(),
			Detail: map[string]any{"synchronised": false}}
	}
	if _, err := stat(timesyncDir); err == nil {
		return health.Status{State: health.Degraded,
			Reason: "system clock not synchronised yet: systemd-timesyncd has not reached an NTP server (timedatectl timesync-status)",
			Detail: map[string]any{"synchronised": false, "source": "systemd-timesyncd"}}
	}
	return health.Status{State: health.Degraded,
		Reason: "clock synchronisation unknown: systemd-timesyncd is not running (enable it: systemctl enable --now systemd-timesyncd)",
		Detail: map[string]any{"synchronised": false}}
}
