//go:build unix

package main

import (
	"os"
	"path/filepath"
	"syscall"
)

// chownLikeDir gives path the owner and group of its directory when they differ
// (root created it in the daemon's state directory).
func chownLikeDir(path string) error {
	fi, err := os.Stat(filepath.Dir(path))
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || os.Geteuid() != 0 || int(st.Uid) == 0 {
		return nil
	}
	return os.Chown(path, int(st.Uid), int(st.Gid))
}
