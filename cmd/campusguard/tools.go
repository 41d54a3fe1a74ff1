package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/campusguard/campusguard/alerting/journal"
	"github.com/campusguard/campusguard/alerting/policelink"
	"github.com/campusguard/campusguard/console"
	"github.com/campusguard/campusguard/drivers/sim"
	"github.com/campusguard/campusguard/internal/config"
	"github.com/campusguard/campusguard/patrol/report"
)

// cmdSimulate: campusguard simulate SCENARIO — asks a running daemon (the demo, or one
// with simulator.enabled) to play a scenario through its simulated devices.
func cmdSimulate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("http", "127.0.0.1:9810", "the running daemon's http.listen address")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: campusguard simulate [--http ADDR] SCENARIO\n\nscenarios:")
		for _, n := range sim.ScenarioNames() {
			fmt.Fprintf(stderr, "  %-15s %s\n", n, sim.Scenarios[n])
		}
		fs.PrintDefaults()
	}
	if !parseArgs(fs, args, 1) {
		return 2
	}
	resp, body, err := askDaemon(ctx, http.MethodPost, *addr, "/-/simulate/"+fs.Arg(0), 10*time.Second)
	if resp == nil {
		fmt.Fprintf(stderr, "campusguard simulate: is the daemon running on %s? %v\n", *addr, err)
		return 1
	}
	switch resp.StatusCode {
	case http.StatusAccepted:
		fmt.Fprint(stdout, string(body))
		return 0
	case http.StatusNotFound, http.StatusMethodNotAllowed:
		if len(body) == 0 || strings.Contains(string(body), "404 page not found") {
			fmt.Fprintln(stderr, "campusguard simulate: the daemon runs no simulator (run the demo, or set simulator.enabled)")
		} else {
			fmt.Fprint(stderr, string(body))
		}
		return 1
	default:
		fmt.Fprintf(stderr, "campusguard simulate: %s: %s", resp.Status, body)
		return 1
	}
}

// cmdPatrol: campusguard patrol report --date YYYY-MM-DD — the day's patrol report from
// the journal. The daemon holds the journal open, so on a running gateway the same
// report comes from GET /api/patrol/report.
func cmdPatrol(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := subcommand("patrol", "report", args, "usage: campusguard patrol report [--config FILE] [--date YYYY-MM-DD] [--format text|json|csv]", stderr)
	if fs == nil {
		return 2
	}
	cfgPath, stateDir := toolConfigFlags(fs)
	date := fs.String("date", "", "the day (default: today in the site's time zone)")
	format := fs.String("format", "text", "text, json, or csv")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	cfg, code := loadToolConfig("patrol report", *cfgPath, *stateDir, stderr)
	if cfg == nil {
		return code
	}
	loc := cfg.Site.Location()
	if *date == "" {
		*date = time.Now().In(loc).Format("2006-01-02")
	}
	if *format != "text" && *format != "json" && *format != "csv" {
		fmt.Fprintf(stderr, "campusguard patrol report: unknown format %q\n", *format)
		return 2
	}
	// A running daemon holds the journal: ask it first; read the file when it is down.
	r, err := reportFromDaemon(ctx, cfg.HTTP.Listen, *date)
	if err != nil {
		j, code := openToolJournal("patrol report", cfg, err, stderr)
		if j == nil {
			return code
		}
		defer j.Close()
		r, err = report.Load(j, *date)
	}
	if err == nil {
		switch *format {
		case "text":
			err = r.WriteText(stdout)
		case "json":
			err = r.WriteJSON(stdout)
		case "csv":
			err = r.WriteCSV(stdout, "runs")
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "campusguard patrol report: %v\n", err)
		return 1
	}
	return 0
}

func reportFromDaemon(ctx context.Context, addr, date string) (*report.Report, error) {
	b, err := getFromDaemon(ctx, addr, "/-/patrol/report?format=json&date="+date, 5*time.Second)
	if err != nil {
		return nil, err
	}
	var r report.Report
	if err := json.NewDecoder(bytes.NewReader(b)).Decode(&r); err != nil {
		return nil, err
	}
	return &r, nil
}

// cmdPoliceLink: campusguard policelink test — sends a test report (Contact ID 601, or
// 602 with --periodic) to every configured receiver and prints each one's answer: what
// an installer runs with the receiving centre on the phone.
func cmdPoliceLink(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := subcommand("policelink", "test", args, "usage: campusguard policelink test [--config FILE] [--periodic] [--zone N]", stderr)
	if fs == nil {
		return 2
	}
	cfgPath := fs.String("config", "/etc/campusguard/campusguard.yaml", "main config file")
	periodic := fs.Bool("periodic", false, "send the periodic test (602) instead of the manual test (601)")
	zone := fs.Int("zone", 0, "zone number in the report")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	cfg, code := loadConfig("policelink test", source(*cfgPath), config.Options{}, stderr)
	if cfg == nil {
		return code
	}
	if !cfg.PoliceLink.Enabled {
		fmt.Fprintln(stderr, "campusguard policelink test: policelink.enabled is false in the config")
		return 1
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	return policeLinkTest(ctx, cfg, policelink.TestOptions{Periodic: *periodic, Zone: *zone}, stdout, stderr)
}

// cmdPasswd: campusguard passwd — reads a password on standard input and prints its
// bcrypt hash for console.users[].password_hash.
func cmdPasswd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintln(stderr, "usage: campusguard passwd < password-file   (or type it and press Enter)")
		return 2
	}
	line, err := readLine(os.Stdin)
	if err != nil || line == "" {
		fmt.Fprintln(stderr, "campusguard passwd: no password on standard input")
		return 2
	}
	h, err := console.HashPassword(line)
	if err != nil {
		fmt.Fprintf(stderr, "campusguard passwd: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, h)
	return 0
}

func readLine(r io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, 1024)).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// loadToolConfig loads the config for a tool that reads the gateway's state (the
// embedded demo's state dir when no config is named). On failure it has said why and
// returns the exit code (3: the config's problems, 1: anything else).
func loadToolConfig(name, cfgPath, stateDir string, stderr io.Writer) (*config.Config, int) {
	sd := stateDir
	if cfgPath == "" && sd == "" {
		sd = demoStateDir()
	}
	return loadConfig(name, source(cfgPath), config.Options{StateDir: sd}, stderr)
}

// openToolJournal opens the journal file when the daemon that holds it did not answer
// (daemonErr). On failure it has said why and returns exit code 1.
func openToolJournal(name string, cfg *config.Config, daemonErr error, stderr io.Writer) (*journal.Journal, int) {
	path := filepath.Join(cfg.StateDir, "journal.db")
	if _, err := os.Stat(path); err != nil {
		fmt.Fprintf(stderr, "campusguard %s: no daemon on %s (%v) and no journal at %s\n", name, cfg.HTTP.Listen, daemonErr, path)
		return nil, 1
	}
	j, err := journal.Open(path, journal.Options{})
	if err != nil {
		fmt.Fprintf(stderr, "campusguard %s: %v\n", name, err)
		return nil, 1
	}
	return j, 0
}
