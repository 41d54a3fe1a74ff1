// Package production embeds the production config skeleton: what `campusguard config
// init DIR` writes and what the .deb installs under /etc/campusguard. It has no
// simulator, no accounts and no secrets, and every site-specific value is a CHANGE-ME
// placeholder that `campusguard check` refuses until it is filled in.
package production

import (
	"embed"
	"io/fs"
)

//go:embed campusguard.yaml conf.d rules
var skeleton embed.FS

// Skeleton returns the skeleton's file tree; its main file is "campusguard.yaml".
func Skeleton() fs.FS { return skeleton }
