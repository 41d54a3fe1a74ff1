package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/campusguard/campusguard/cfgerr"
	"github.com/campusguard/campusguard/internal/config"
)

// subcommand returns the flag set of "cmd sub" when args start with sub; otherwise
// it prints usage and returns nil (exit code 2).
func subcommand(cmd, sub string, args []string, usage string, stderr io.Writer) *flag.FlagSet {
	if len(args) == 0 || args[0] != sub {
		fmt.Fprintln(stderr, usage)
		return nil
	}
	fs := flag.NewFlagSet(cmd+" "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parseArgs parses args and wants exactly n arguments besides the flags, printing
// the usage when they are not there. False means exit code 2.
func parseArgs(fs *flag.FlagSet, args []string, n int) bool {
	if err := fs.Parse(args); err != nil {
		return false
	}
	if fs.NArg() != n {
		fs.Usage()
		return false
	}
	return true
}

// toolConfigFlags adds the --config and --state-dir flags of a tool that reads the
// gateway's state (loadToolConfig).
func toolConfigFlags(fs *flag.FlagSet) (cfgPath, stateDir *string) {
	cfgPath = fs.String("config", "", "main config file (default: the embedded demo campus)")
	stateDir = fs.String("state-dir", "", "override state_dir")
	return cfgPath, stateDir
}

// loadConfig loads the config for the command name. On failure it has said why and
// returns the exit code (failure).
func loadConfig(name string, src config.Source, opts config.Options, stderr io.Writer) (*config.Config, int) {
	cfg, err := config.Load(src, opts)
	if err != nil {
		return nil, failure(stderr, "campusguard "+name, "", err)
	}
	return cfg, 0
}

// failure says why err stopped a command and returns its exit code: 3 for the
// config's problems (listed after header), 1 for anything else (after "prefix: ").
func failure(stderr io.Writer, prefix, header string, err error) int {
	var l *cfgerr.List
	if errors.As(err, &l) {
		fmt.Fprintf(stderr, "%s%d problem(s):\n%s\n", header, l.Len(), indent(l.Error()))
		return 3
	}
	fmt.Fprintf(stderr, "%s: %v\n", prefix, err)
	return 1
}

// askDaemon sends a request to a running daemon's loopback tools at addr and
// returns its answer and the answer's body. The answer is nil when the daemon did
// not answer; an error with an answer is a body cut short.
func askDaemon(ctx context.Context, method, addr, path string, timeout time.Duration) (*http.Response, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, method, "http://"+addr+path, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

// getFromDaemon is askDaemon's GET that wants 200 OK: any other answer is an error.
func getFromDaemon(ctx context.Context, addr, path string, timeout time.Duration) ([]byte, error) {
	resp, b, err := askDaemon(ctx, http.MethodGet, addr, path, timeout)
	if resp == nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	return b, err
}
