package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"time"

	"github.com/campusguard/campusguard/alerting/records"
)

func init() {
	commands = append(commands, command{"records",
		"records export --from YYYY-MM-DD --to YYYY-MM-DD [--format csv|json]: alarms and operator records of a date range, Chinese headers",
		cmdRecords})
}

// cmdRecords: campusguard records export — the alarms fired and the operator and
// lifecycle records made over a date range, for the school's archive or an inspection.
// A running daemon holds the journal: the export comes from its loopback endpoint
// GET /-/records/export; when no daemon answers, from the journal file.
func cmdRecords(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	const usage = "usage: campusguard records export [--config FILE] --from YYYY-MM-DD --to YYYY-MM-DD [--format csv|json] [--table alarms|records] [--out FILE]"
	fs := subcommand("records", "export", args, usage, stderr)
	if fs == nil {
		return 2
	}
	cfgPath, stateDir := toolConfigFlags(fs)
	from := fs.String("from", "", "first day (YYYY-MM-DD, site time zone)")
	to := fs.String("to", "", "last day, included (default: --from)")
	format := fs.String("format", "csv", "csv or json")
	table := fs.String("table", records.TableAlarms, "for csv: alarms or records (json holds both)")
	out := fs.String("out", "", "write to FILE instead of standard output")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if *from == "" {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	if *to == "" {
		*to = *from
	}
	if *format != "csv" && *format != "json" {
		fmt.Fprintf(stderr, "campusguard records export: unknown format %q\n", *format)
		return 2
	}
	if *table != records.TableAlarms && *table != records.TableRecords {
		fmt.Fprintf(stderr, "campusguard records export: unknown table %q\n", *table)
		return 2
	}
	cfg, code := loadToolConfig("records export", *cfgPath, *stateDir, stderr)
	if cfg == nil {
		return code
	}
	loc := cfg.Site.Location()
	fromT, toT, err := records.Range(*from, *to, loc)
	if err != nil {
		fmt.Fprintf(stderr, "campusguard records export: %v\n", err)
		return 2
	}
	q := url.Values{"from": {*from}, "to": {*to}, "format": {*format}, "table": {*table}}
	body, err := exportFromDaemon(ctx, cfg.HTTP.Listen, q)
	if err != nil {
		j, code := openToolJournal("records export", cfg, err, stderr)
		if j == nil {
			return code
		}
		defer j.Close()
		e, cerr := records.Collect(j, fromT, toT, loc)
		if cerr != nil {
			fmt.Fprintf(stderr, "campusguard records export: %v\n", cerr)
			return 1
		}
		var buf bytes.Buffer
		if *format == "csv" {
			err = e.WriteCSV(&buf, *table)
		} else {
			err = e.WriteJSON(&buf)
		}
		if err != nil {
			fmt.Fprintf(stderr, "campusguard records export: %v\n", err)
			return 1
		}
		body = buf.Bytes()
	}
	w := stdout
	if *out != "" {
		if err := os.WriteFile(*out, body, 0o640); err != nil {
			fmt.Fprintf(stderr, "campusguard records export: %v\n", err)
			return 1
		}
		return 0
	}
	if _, err := w.Write(body); err != nil {
		fmt.Fprintf(stderr, "campusguard records export: %v\n", err)
		return 1
	}
	return 0
}

func exportFromDaemon(ctx context.Context, addr string, q url.Values) ([]byte, error) {
	return getFromDaemon(ctx, addr, "/-/records/export?"+q.Encode(), 30*time.Second)
}
