package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/campusguard/campusguard/cfgerr"
	"github.com/campusguard/campusguard/configs/production"
	"github.com/campusguard/campusguard/internal/config"
)

// cmdConfig: config init DIR | config addresses.
func cmdConfig(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: campusguard config init [--force] DIR | config addresses [--config FILE]")
		return 2
	}
	switch args[0] {
	case "init":
		return cmdConfigInit(args[1:], stdout, stderr)
	case "addresses":
		return cmdConfigAddresses(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "campusguard config: unknown subcommand %q (init, addresses)\n", args[0])
	return 2
}

// cmdConfigInit writes the production skeleton into DIR, never over an existing file.
func cmdConfigInit(args []string, stdout, stderr io.Writer) int {
	fs1 := flag.NewFlagSet("config init", flag.ContinueOnError)
	fs1.SetOutput(stderr)
	force := fs1.Bool("force", false, "overwrite files that exist")
	if err := fs1.Parse(args); err != nil {
		return 2
	}
	if fs1.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: campusguard config init [--force] DIR   (e.g. /etc/campusguard)")
		return 2
	}
	dir := fs1.Arg(0)
	written, err := writeSkeleton(dir, *force)
	if err != nil {
		fmt.Fprintf(stderr, "campusguard config init: %v\n", err)
		return 1
	}
	for _, f := range written {
		fmt.Fprintf(stdout, "wrote %s\n", f)
	}
	main := filepath.Join(dir, "campusguard.yaml")
	fmt.Fprintf(stdout, "\nFill in every CHANGE-ME, add the devices, then:\n  campusguard check --config %s\n", main)
	return 0
}

// writeSkeleton copies the embedded skeleton to dir. Existing files are an error
// unless force; it checks them all before writing any.
func writeSkeleton(dir string, force bool) ([]string, error) {
	sk := production.Skeleton()
	var files []string
	err := fs.WalkDir(sk, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, ".go") {
			return err
		}
		files = append(files, p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	if !force {
		var exist []string
		for _, f := range files {
			if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(f))); err == nil {
				exist = append(exist, filepath.Join(dir, filepath.FromSlash(f)))
			}
		}
		if len(exist) > 0 {
			return nil, fmt.Errorf("would overwrite %s (use --force, or another directory)", strings.Join(exist, ", "))
		}
	}
	var written []string
	for _, f := range files {
		b, err := fs.ReadFile(sk, f)
		if err != nil {
			return written, err
		}
		dst := filepath.Join(dir, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
			return written, err
		}
		if err := os.WriteFile(dst, b, 0o640); err != nil {
			return written, err
		}
		written = append(written, dst)
	}
	return written, nil
}

// cmdConfigAddresses prints the network peers a config names, for the unit's
// IPAddressAllow= (resolved when a host name is given).
func cmdConfigAddresses(args []string, stdout, stderr io.Writer) int {
	fs1 := flag.NewFlagSet("config addresses", flag.ContinueOnError)
	fs1.SetOutput(stderr)
	cfgPath := fs1.String("config", "/etc/campusguard/campusguard.yaml", "main config file")
	if err := fs1.Parse(args); err != nil {
		return 2
	}
	cfg, code := loadConfig("config addresses", config.DiskSource(*cfgPath), config.Options{}, stderr)
	if cfg == nil {
		return code
	}
	peers := configPeers(cfg)
	allow := map[string]bool{"localhost": true}
	for _, p := range peers {
		fmt.Fprintf(stdout, "%-28s %s\n", p.key, p.host)
		if ip := net.ParseIP(p.host); ip != nil {
			allow[ip.String()] = true
			continue
		}
		ips, err := net.LookupHost(p.host)
		if err != nil {
			fmt.Fprintf(stderr, "  %s: cannot resolve (%v); allow its addresses by hand\n", p.host, err)
			continue
		}
		for _, ip := range ips {
			allow[ip] = true
		}
	}
	list := make([]string, 0, len(allow))
	for a := range allow {
		list = append(list, a)
	}
	sort.Strings(list)
	fmt.Fprintf(stdout, "\n# systemctl edit campusguard (add the duty room's subnet if it uses the console)\n[Service]\nIPAddressDeny=any\nIPAddressAllow=%s\n", strings.Join(list, " "))
	return 0
}

type peer struct{ key, host string }

// configPeers lists the outbound peers of a config with their keys.
func configPeers(cfg *config.Config) []peer {
	var out []peer
	addURL := func(key, raw string) {
		if raw == "" {
			return
		}
		if u, err := url.Parse(raw); err == nil && u.Hostname() != "" {
			out = append(out, peer{key, u.Hostname()})
		}
	}
	addHostPort := func(key, hp string) {
		if hp == "" {
			return
		}
		if h, _, err := net.SplitHostPort(hp); err == nil && h != "" {
			out = append(out, peer{key, h})
		}
	}
	for i, b := range cfg.MQTT.Brokers {
		addURL(cfgerr.Index("mqtt.brokers", i)+".url", b.URL)
	}
	if m := cfg.Sinks.MQTT; m != nil {
		addURL("sinks.mqtt.client.url", m.Client.URL)
	}
	for i, w := range cfg.Sinks.Webhooks {
		addURL(cfgerr.Index("sinks.webhooks", i)+".url", w.URL)
	}
	if cfg.Telemetry.Enabled {
		addURL("telemetry.url", cfg.Telemetry.URL)
	}
	if pl := cfg.PoliceLink; pl.Enabled {
		addHostPort("policelink.main.primary", pl.Main.Primary)
		addHostPort("policelink.main.secondary", pl.Main.Secondary)
		if pl.Backup != nil {
			addHostPort("policelink.backup.primary", pl.Backup.Primary)
			addHostPort("policelink.backup.secondary", pl.Backup.Secondary)
		}
	}
	return out
}
