package config

import (
	"testing"
	"testing/fstest"
)

// FuzzLoad: any bytes as the main file or a conf.d file give a config or located
// errors, never a panic.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(goodMain), []byte("devices:\n  - {id: x, kind: panic, driver: sim}\n"))
	f.Add([]byte("site: {id: a}\nmqtt: {brokers: [{name: b, url: 'tcp://x:1'}]}\n"), []byte("site:\n  name: 1\n"))
	f.Add([]byte("gpio:\n  inputs:\n    - {device: d, pin: GPIO1, contact: nc, hold: 5}\n"), []byte("- a"))
	f.Add([]byte("&a [*a]"), []byte("{{{"))
	f.Fuzz(func(t *testing.T, main, extra []byte) {
		m := fstest.MapFS{
			"campusguard.yaml": &fstest.MapFile{Data: main},
			"conf.d/x.yaml":    &fstest.MapFile{Data: extra},
		}
		cfg, err := Load(Source{FS: m, Main: "campusguard.yaml"}, Options{Getenv: func(string) string { return "" }, StateDir: t.TempDir()})
		if err == nil && cfg == nil {
			t.Fatal("no config and no error")
		}
	})
}
