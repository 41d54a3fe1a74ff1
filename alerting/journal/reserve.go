package journal

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// DefaultReserve is the disk space the journal keeps for itself beside its file
// (bytes): when the disk fills up (telemetry's spool, logs, anything), the journal
// gives it back and goes on recording alarms.
const DefaultReserve = 8 << 20

// reservePath is the reserve file beside the journal.
func (j *Journal) reservePath() string { return j.path + ".reserve" }

// makeReserve allocates the reserve file (at open). A failure is logged, not fatal: the
// journal works without it.
func (j *Journal) makeReserve() {
	if j.opt.Reserve <= 0 {
		return
	}
	p := j.reservePath()
	if st, err := os.Stat(p); err == nil && st.Size() >= j.opt.Reserve {
		return
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		j.log.Warn("journal: cannot create its disk reserve", "path", p, "err", err)
		return
	}
	defer f.Close()
	if err := unix.Fallocate(int(f.Fd()), 0, 0, j.opt.Reserve); err != nil {
		// No fallocate on this file system: write the bytes.
		buf := make([]byte, 64<<10)
		for off := int64(0); off < j.opt.Reserve && err != nil; off += int64(len(buf)) {
			if _, werr := f.WriteAt(buf, off); werr != nil {
				j.log.Warn("journal: cannot allocate its disk reserve", "path", p, "err", werr)
				_ = os.Remove(p)
				return
			}
		}
	}
	_ = f.Sync()
}

// useReserve frees the reserve after a write failed for want of space; it reports
// whether there was one to free (then the write is worth trying again).
func (j *Journal) useReserve(err error) bool {
	if !errors.Is(err, syscall.ENOSPC) || j.opt.Reserve <= 0 {
		return false
	}
	if rerr := os.Remove(j.reservePath()); rerr != nil {
		return false
	}
	j.hmu.Lock()
	j.reserveUsed = true
	j.hmu.Unlock()
	j.m.reserveUsed.Set(1)
	j.log.Error("journal: the disk is full; its reserve is given back so alarms are still recorded: free disk space now",
		"path", j.path, "reserve_bytes", j.opt.Reserve)
	return true
}

func reserveReason(n int64) string {
	return fmt.Sprintf("the disk is full: the journal uses its %d-byte reserve; free disk space (telemetry spool, logs) before it runs out", n)
}
