// Command campusguard is the campus safety gateway daemon and its tools.
//
//	campusguard run [--config FILE] [--demo]   run the daemon (no --config: the demo campus)
//	campusguard check [--config FILE]          validate config and rules, list every problem
//	campusguard config init DIR                write the production config skeleton
//	campusguard version                        print the version
//
// Exit codes: 0 ok, 1 runtime failure, 2 usage error, 3 invalid config.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"

	"github.com/campusguard/campusguard/configs"
	"github.com/campusguard/campusguard/internal/config"
	"github.com/campusguard/campusguard/internal/daemon"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// command is one subcommand.
type command struct {
	name  string
	usage string
	run   func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

var commands []command

func init() {
	commands = []command{
		{"run", "run the daemon (without --config: the embedded demo campus)", cmdRun},
		{"check", "validate the config and rules; list every problem with file and line", cmdCheck},
		{"version", "print the version", cmdVersion},
		{"simulate", "simulate SCENARIO: play a scenario on a running demo's simulated devices", cmdSimulate},
		{"patrol", "patrol report [--date YYYY-MM-DD]: the day's electronic patrol report", cmdPatrol},
		{"policelink", "policelink test [--periodic]: send a test report to each police receiver, print the answers", cmdPoliceLink},
		{"passwd", "read a password on stdin, print its bcrypt hash for console.users", cmdPasswd},
		{"rules", "rules test FILE...: run operator rule tests (timed events in, expected alarms out)", cmdRules},
		{"config", "config init DIR: write a production config skeleton; config addresses: the peers for IPAddressAllow=", cmdConfig},
		{"gpio", "gpio list: the GPIO chips and lines; gpio watch PIN: print a line's debounced events live", cmdGPIO},
		{"mqtt", "mqtt watch MAPPING: print the events a mapping makes of live messages, and why one is rejected", cmdMQTT},
	}
}

func main() {
	os.Exit(realMain(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

func realMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		// No subcommand: run the demo, the first thing a new user tries.
		return cmdRun(ctx, nil, stdout, stderr)
	}
	name := args[0]
	for _, c := range commands {
		if c.name == name {
			return c.run(ctx, args[1:], stdout, stderr)
		}
	}
	if name == "help" || name == "-h" || name == "--help" {
		usage(stdout)
		return 0
	}
	fmt.Fprintf(stderr, "campusguard: unknown command %q\n\n", name)
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: campusguard COMMAND [flags]")
	fmt.Fprintln(w, "\ncommands:")
	sorted := append([]command(nil), commands...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].name < sorted[j].name })
	for _, c := range sorted {
		fmt.Fprintf(w, "  %-18s %s\n", c.name, c.usage)
	}
	fmt.Fprintln(w, "\nRun 'campusguard COMMAND -h' for a command's flags.")
}

// DemoStateDir is where the demo keeps its journal and spool between runs.
func demoStateDir() string {
	return filepath.Join(os.TempDir(), "campusguard-demo")
}

// source picks the config: a file, or the embedded demo.
func source(path string) config.Source {
	if path == "" {
		return config.Source{FS: configs.Demo(), Main: "campusguard.yaml", Prefix: "embedded:configs/demo/", Demo: true}
	}
	return config.DiskSource(path)
}

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "main config file (default: the embedded demo campus)")
	demo := fs.Bool("demo", false, "run the embedded demo campus (the default without --config)")
	stateDir := fs.String("state-dir", "", "override state_dir")
	listen := fs.String("http", "", "override http.listen (host:port)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	opts := daemon.Options{StateDir: *stateDir, HTTP: *listen}
	if *cfgPath == "" || *demo {
		if *cfgPath != "" {
			fmt.Fprintln(stderr, "campusguard run: --demo and --config exclude each other")
			return 2
		}
		opts.Demo = true
		if opts.StateDir == "" {
			opts.StateDir = demoStateDir()
		}
		fmt.Fprintf(stderr, "campusguard %s: running the demo campus (state in %s); Ctrl-C stops it\n", version, opts.StateDir)
	}
	opts.Source = source(*cfgPath)
	if err := daemon.Run(ctx, opts); err != nil {
		return failure(stderr, "campusguard", "campusguard: the config has ", err)
	}
	return 0
}

func cmdCheck(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "main config file (default: the embedded demo campus)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	src := source(*cfgPath)
	// check also checks the config against this machine (GPIO chips), as run does on a
	// gateway.
	cfg, code := loadConfig("check", src, config.Options{Gateway: true}, stderr)
	if cfg == nil {
		return code
	}
	for _, n := range cfg.Notes.Errs {
		fmt.Fprintf(stdout, "note: %s\n", n)
	}
	fmt.Fprintf(stdout, "ok: site %s (%s), %d devices, files: %s\n", cfg.Site.ID, cfg.Site.Name, len(cfg.Devices), strings.Join(cfg.Files, ", "))
	return 0
}

func cmdVersion(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	v := version
	if bi, ok := debug.ReadBuildInfo(); ok && v == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		v = bi.Main.Version
	}
	fmt.Fprintf(stdout, "campusguard %s\n", v)
	return 0
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(s, "\n", "\n  ")
}
