package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"regexp"

	"github.com/campusguard/campusguard/rules/ruletest"
)

// cmdRules: campusguard rules test FILE...
func cmdRules(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := subcommand("rules", "test", args, "usage: campusguard rules test [-run REGEXP] [-v] FILE...", stderr)
	if fs == nil {
		return 2
	}
	run := fs.String("run", "", "run only tests whose name matches this regular expression")
	verbose := fs.Bool("v", false, "list every test, passing ones too")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	files := fs.Args()
	if len(files) == 0 {
		fmt.Fprintln(stderr, "campusguard rules test: name at least one test file (e.g. /etc/campusguard/rules/tests/*.yaml)")
		return 2
	}
	var expanded []string
	for _, f := range files {
		m, err := filepath.Glob(f)
		if err != nil || len(m) == 0 {
			expanded = append(expanded, f) // let the runner report the missing file
			continue
		}
		expanded = append(expanded, m...)
	}
	opts := ruletest.Options{Verbose: *verbose}
	if *run != "" {
		re, err := regexp.Compile(*run)
		if err != nil {
			fmt.Fprintf(stderr, "campusguard rules test: -run: %v\n", err)
			return 2
		}
		opts.Run = re
	}
	failed, err := ruletest.Run(stdout, expanded, opts)
	if err != nil {
		fmt.Fprintf(stderr, "campusguard rules test: %v\n", err)
		return 1
	}
	if failed > 0 {
		return 1
	}
	return 0
}
