package daemon

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/jonboulle/clockwork"
)

// watcher notices changes to the config files and rules directory by polling their
// names, sizes and modification times (no inotify: it works the same on every
// filesystem, and an editor's rename-over-write is seen like any other change). A
// change is reported once the files have been quiet for one more interval, so a
// half-written file is not loaded.
type watcher struct {
	clock    clockwork.Clock
	interval time.Duration
	paths    func() []string // files and directories to watch
}

// run watches until ctx ends; last is the fingerprint taken when the config in use
// was loaded, so a change made before run starts is still seen.
func (w *watcher) run(ctx context.Context, last [32]byte, changed chan<- struct{}) {
	pending := false
	t := w.clock.NewTicker(w.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.Chan():
		}
		fp := w.fingerprint()
		switch {
		case fp != last:
			last = fp
			pending = true // wait for one quiet interval
		case pending:
			pending = false
			select {
			case changed <- struct{}{}:
			default: // a reload is already queued
			}
		}
	}
}

func (w *watcher) fingerprint() [32]byte {
	h := sha256.New()
	var entries []string
	for _, p := range w.paths() {
		_ = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				entries = append(entries, path+"\x00missing")
				return nil
			}
			if d.IsDir() {
				return nil
			}
			entries = append(entries, path)
			return nil
		})
	}
	sort.Strings(entries)
	var buf [16]byte
	for _, e := range entries {
		h.Write([]byte(e))
		if st, err := os.Stat(e); err == nil {
			binary.LittleEndian.PutUint64(buf[:8], uint64(st.Size()))
			binary.LittleEndian.PutUint64(buf[8:], uint64(st.ModTime().UnixNano()))
			h.Write(buf[:])
		}
	}
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}
