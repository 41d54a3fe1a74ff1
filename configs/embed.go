// Package configs embeds the demo campus so `campusguard run` works on a fresh machine
// with nothing else installed. The YAML files beside this one are also the examples
// operators copy from.
package configs

import (
	"embed"
	"io/fs"
)

//go:embed demo
var demo embed.FS

// Demo returns the demo campus config tree; its main file is "campusguard.yaml".
func Demo() fs.FS {
	sub, err := fs.Sub(demo, "demo")
	if err != nil {
		panic(err) // the embed pattern above guarantees the directory exists
	}
	return sub
}
