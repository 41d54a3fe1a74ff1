// Package ruletest runs operators' rule unit tests, in the spirit of `promtool test
// rules`: a YAML file names rule files and devices, then lists tests, each a timed
// series of input events and the alarm changes expected (firing, re-notified,
// resolved) with their times, keys and labels. `campusguard rules test FILE...` calls
// Run.
//
// A test file:
//
//	rule_files: [../panic.yaml]        # relative to the test file
//	site_file: site.yaml               # optional: a YAML with site: and devices:
//	devices:                           # optional: more devices, inline
//	  - {id: panic-x, kind: panic, zone: gate, location: 门卫室, driver: gpio}
//	tests:
//	  - name: a press fires at once and latches until reset
//	    start: 2026-11-20T10:00:00+08:00
//	    events:
//	      - {at: 0s, device: panic-gate, type: pressed}
//	      - {at: 5m, device: panic-gate, type: reset}
//	    until: 1h                        # run timers to start+until (default: last event)
//	    expect:
//	      - {at: 0s, rule: builtin-panic, key: panic-gate, state: firing, labels: {class: panic}}
//	      - {at: 5m, rule: builtin-panic, key: panic-gate, state: resolved}
//
// Every change the engine emits must be expected and every expectation must happen:
// a test fails on a missing alarm and on an unexpected one. Expected labels are a
// subset of the actual ones; message and reason are checked when given (message
// exactly, message_contains and reason as substrings).
package ruletest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/campusguard/campusguard/cfgerr"
	"github.com/campusguard/campusguard/event"
	"github.com/campusguard/campusguard/rules"
	"github.com/campusguard/campusguard/site"
)

// Options tune a run.
type Options struct {
	// Run selects tests whose name matches (nil: all).
	Run *regexp.Regexp
	// Verbose prints every change of passing tests too.
	Verbose bool
}

// File is one test file.
type File struct {
	RuleFiles []string      `yaml:"rule_files"`
	SiteFile  string        `yaml:"site_file"`
	Site      *site.Site    `yaml:"site"`
	Devices   []site.Device `yaml:"devices"`
	Tests     []Test        `yaml:"tests"`
}

// Test is one test case.
type Test struct {
	Name   string        `yaml:"name"`
	Start  time.Time     `yaml:"start"`
	Events []Event       `yaml:"events"`
	Until  time.Duration `yaml:"until"`
	Expect []Expect      `yaml:"expect"`
}

// Event is one input event at an offset from the test's start.
type Event struct {
	At     time.Duration  `yaml:"at"`
	Device string         `yaml:"device"`
	Type   string         `yaml:"type"`
	Fields map[string]any `yaml:"fields"`
	// Kind is for devices the site does not list: events of synthetic devices such as
	// the patrol tracker's "patrol:<plan>" (kind patrol).
	Kind event.Kind `yaml:"kind"`
}

// Expect is one expected change.
type Expect struct {
	At              time.Duration     `yaml:"at"`
	Rule            string            `yaml:"rule"`
	Key             string            `yaml:"key"`
	State           string            `yaml:"state"` // firing, occurrence, renotify, resolved
	Labels          map[string]string `yaml:"labels"`
	Message         string            `yaml:"message"`
	MessageContains string            `yaml:"message_contains"`
	Reason          string            `yaml:"reason"`
	line            int
}

type siteFile struct {
	Site    site.Site     `yaml:"site"`
	Devices []site.Device `yaml:"devices"`
}

// Result is the outcome of one test.
type Result struct {
	File, Name string
	Passed     bool
	Problems   []string // missing and unexpected changes, errors
	Got        []string // every change, formatted
}

// Run runs the test files, writes a report to w and returns how many tests failed (a
// file that cannot be read or whose rules do not load counts as one failure). err is
// only for a failure to write the report.
func Run(w io.Writer, files []string, opts Options) (failed int, err error) {
	var out bytes.Buffer
	passed := 0
	for _, f := range files {
		results, ferr := RunFile(f, opts)
		if ferr != nil {
			failed++
			fmt.Fprintf(&out, "FAIL  %s\n      %s\n", f, strings.ReplaceAll(ferr.Error(), "\n", "\n      "))
			continue
		}
		for _, r := range results {
			if r.Passed {
				passed++
				fmt.Fprintf(&out, "ok    %s: %s\n", f, r.Name)
				if opts.Verbose {
					for _, g := range r.Got {
						fmt.Fprintf(&out, "        %s\n", g)
					}
				}
				continue
			}
			failed++
			fmt.Fprintf(&out, "FAIL  %s: %s\n", f, r.Name)
			for _, p := range r.Problems {
				fmt.Fprintf(&out, "      %s\n", p)
			}
			fmt.Fprintf(&out, "      got:\n")
			if len(r.Got) == 0 {
				fmt.Fprintf(&out, "        (no changes)\n")
			}
			for _, g := range r.Got {
				fmt.Fprintf(&out, "        %s\n", g)
			}
		}
	}
	fmt.Fprintf(&out, "%d passed, %d failed\n", passed, failed)
	_, err = w.Write(out.Bytes())
	return failed, err
}

// RunFile runs one test file.
func RunFile(name string, opts Options) ([]Result, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	var f File
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var root yaml.Node
	_ = yaml.Unmarshal(data, &root)
	expectLines(&root, &f)
	base := filepath.Dir(name)
	rel := func(p string) string {
		if filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(base, p)
	}
	st := &site.Site{ID: "test", Timezone: site.DefaultTimezone}
	var devs []site.Device
	if f.SiteFile != "" {
		sd, err := os.ReadFile(rel(f.SiteFile))
		if err != nil {
			return nil, fmt.Errorf("site_file: %w", err)
		}
		var sf siteFile
		dec := yaml.NewDecoder(bytes.NewReader(sd))
		dec.KnownFields(true)
		if err := dec.Decode(&sf); err != nil {
			return nil, fmt.Errorf("%s: %w", rel(f.SiteFile), err)
		}
		st, devs = &sf.Site, sf.Devices
	}
	if f.Site != nil {
		st = f.Site
	}
	devs = append(devs, f.Devices...)
	errs := &cfgerr.List{}
	st.Validate(errs)
	site.ValidateDevices(st, devs, errs)
	if errs.Len() > 0 {
		return nil, fmt.Errorf("site and devices: %w", errs)
	}
	dir := site.NewDirectory(st, devs)
	if len(f.RuleFiles) == 0 {
		return nil, fmt.Errorf("%s: rule_files is empty", name)
	}
	var rfiles []string
	for _, rf := range f.RuleFiles {
		rfiles = append(rfiles, rel(rf))
	}
	rs, err := rules.Load(rfiles, rules.Options{Directory: dir})
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	var out []Result
	for i, t := range f.Tests {
		if opts.Run != nil && !opts.Run.MatchString(t.Name) {
			continue
		}
		r := runTest(rs, dir, st.Location(), t)
		r.File = name
		if r.Name == "" {
			r.Name = fmt.Sprintf("tests[%d]", i)
		}
		out = append(out, r)
	}
	return out, nil
}

// expectLines records the line of each expectation, for the report.
func expectLines(root *yaml.Node, f *File) {
	if len(root.Content) == 0 {
		return
	}
	tests := mapValue(root.Content[0], "tests")
	if tests == nil || tests.Kind != yaml.SequenceNode {
		return
	}
	for i, tn := range tests.Content {
		if i >= len(f.Tests) {
			return
		}
		ex := mapValue(tn, "expect")
		if ex == nil || ex.Kind != yaml.SequenceNode {
			continue
		}
		for j, en := range ex.Content {
			if j < len(f.Tests[i].Expect) {
				f.Tests[i].Expect[j].line = en.Line
			}
		}
	}
}

func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

type got struct {
	at     time.Duration
	c      rules.Change
	state  string
	used   bool
	string string
}

// runTest runs test t on a fresh engine and compares its changes with t.Expect.
func runTest(rs *rules.RuleSet, dir *site.Directory, loc *time.Location, t Test) Result {
	res := Result{Name: t.Name}
	if t.Start.IsZero() {
		res.Problems = append(res.Problems, "start is required (e.g. 2026-11-20T10:00:00+08:00)")
		return res
	}
	gots, end := replay(rs, dir, loc, t, &res)
	for _, g := range gots {
		res.Got = append(res.Got, g.string)
	}
	for i, x := range t.Expect {
		res.Problems = append(res.Problems, expect(gots, x, i, end.Sub(t.Start))...)
	}
	for _, g := range gots {
		if !g.used {
			res.Problems = append(res.Problems, "unexpected: "+g.string)
		}
	}
	res.Passed = len(res.Problems) == 0
	return res
}

// replay runs the test's events through a fresh engine, with its timers in between,
// and returns the changes it made and when the test ended (until, or the last event).
// Problems with the events go to res.
func replay(rs *rules.RuleSet, dir *site.Directory, loc *time.Location, t Test, res *Result) (gots []*got, end time.Time) {
	evs := append([]Event(nil), t.Events...)
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].At < evs[j].At })
	e := rules.New(rs, dir, loc)
	rec := func(chs []rules.Change) {
		for _, c := range chs {
			gots = append(gots, newGot(c, t.Start))
		}
	}
	runTimers := func(until time.Time) {
		for {
			d, ok := e.NextDeadline()
			if !ok || d.After(until) {
				return
			}
			rec(e.Tick(d))
		}
	}
	rec(e.Tick(t.Start))
	end = t.Start.Add(t.Until)
	for i, ev := range evs {
		now := t.Start.Add(ev.At)
		runTimers(now)
		d := dir.Device(ev.Device)
		if d == nil {
			if ev.Kind == "" {
				res.Problems = append(res.Problems, fmt.Sprintf("events[%d]: unknown device %q (give kind: for a device the site does not list)", i, ev.Device))
				continue
			}
			d = &site.Device{ID: ev.Device, Kind: ev.Kind}
		}
		fields := event.Fields{}
		for k, v := range ev.Fields {
			if err := fields.Set(k, v); err != nil {
				res.Problems = append(res.Problems, fmt.Sprintf("events[%d]: %v", i, err))
			}
		}
		if ev.Type == "" {
			res.Problems = append(res.Problems, fmt.Sprintf("events[%d]: type is required", i))
		}
		rec(e.Process(now, event.Event{Seq: uint64(i + 1), Site: dir.Site.ID, DeviceID: ev.Device, Kind: d.Kind, Type: ev.Type, Fields: fields, ReceivedAt: now, Source: "ruletest"}))
		if now.After(end) {
			end = now
		}
	}
	runTimers(end)
	return gots, end
}

// newGot is change c of a test that started at start.
func newGot(c rules.Change, start time.Time) *got {
	g := &got{at: c.At.Sub(start), c: c, state: "resolved"}
	if c.Firing {
		g.state = "firing"
		if c.Renotify {
			g.state = "renotify"
		}
		if c.Occurrence {
			g.state = "occurrence"
		}
	}
	g.string = fmt.Sprintf("%-8s %s[%s] %s labels=%s message=%q", "+"+fmtDur(g.at), c.Rule, c.Key, g.state, fmtLabels(c.Labels), c.Message)
	if c.Reason != "" {
		g.string += fmt.Sprintf(" reason=%q", c.Reason)
	}
	return g
}

// expect marks the change that meets expectation i (x) used, or returns why none does;
// length is how long the test ran.
func expect(gots []*got, x Expect, i int, length time.Duration) []string {
	where := fmt.Sprintf("expect[%d]", i)
	if x.line > 0 {
		where = fmt.Sprintf("line %d", x.line)
	}
	switch x.State {
	case "firing", "occurrence", "renotify", "resolved":
	default:
		return []string{fmt.Sprintf("%s: state %q: want firing, occurrence, renotify or resolved", where, x.State)}
	}
	var problems []string
	if x.At > length {
		problems = append(problems, fmt.Sprintf("%s: at +%s is after the end of the test (+%s): set until", where, fmtDur(x.At), fmtDur(length)))
	}
	match, near := find(gots, x)
	if match != nil {
		match.used = true
		return problems
	}
	p := fmt.Sprintf("missing:    %-8s %s[%s] %s (%s)", "+"+fmtDur(x.At), x.Rule, x.Key, x.State, where)
	if len(x.Labels) > 0 {
		p += " labels⊇" + fmtLabels(x.Labels)
	}
	if near != nil {
		p += "\n        closest: " + near.string
		if near.at != x.At {
			p += fmt.Sprintf("\n        differs: at +%s, want +%s", fmtDur(near.at), fmtDur(x.At))
		} else if d := compare(near, x); d != "" {
			p += "\n        differs: " + d
		}
	}
	return append(problems, p)
}

// find returns the first unused change that meets x, else the first of the same rule,
// key and state (near) to show beside the miss.
func find(gots []*got, x Expect) (match, near *got) {
	for _, g := range gots {
		if g.used || g.c.Rule != x.Rule || g.c.Key != x.Key || g.state != x.State {
			continue
		}
		if g.at != x.At || compare(g, x) != "" {
			if near == nil {
				near = g
			}
			continue
		}
		return g, near
	}
	return nil, near
}

func compare(g *got, x Expect) string {
	var diffs []string
	for k, v := range x.Labels {
		if av, ok := g.c.Labels[k]; !ok || av != v {
			diffs = append(diffs, fmt.Sprintf("label %s=%q, want %q", k, g.c.Labels[k], v))
		}
	}
	if x.Message != "" && g.c.Message != x.Message {
		diffs = append(diffs, fmt.Sprintf("message %q, want %q", g.c.Message, x.Message))
	}
	if x.MessageContains != "" && !strings.Contains(g.c.Message, x.MessageContains) {
		diffs = append(diffs, fmt.Sprintf("message %q does not contain %q", g.c.Message, x.MessageContains))
	}
	if x.Reason != "" && !strings.Contains(g.c.Reason, x.Reason) {
		diffs = append(diffs, fmt.Sprintf("reason %q does not contain %q", g.c.Reason, x.Reason))
	}
	return strings.Join(diffs, "; ")
}

func fmtLabels(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + m[k]
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func fmtDur(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
