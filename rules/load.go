package rules

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/campusguard/campusguard/cfgerr"
	"github.com/campusguard/campusguard/rules/schedule"
	"github.com/campusguard/campusguard/site"
)

// Options says what a rule set is checked against.
type Options struct {
	// Directory is the site's devices. When set, selectors naming unknown devices,
	// zones or labels are errors, and so is a rule that selects no device. When nil,
	// those checks are skipped.
	Directory *site.Directory
	// Schedules are schedules defined outside the rule files (the main config's
	// schedules section). Rule files may define more; a name defined twice is an error.
	Schedules schedule.Config
	// NoBuiltins leaves out the built-in rules (builtin.yaml): for tests of the engine
	// alone. Every configured rule set has them.
	NoBuiltins bool
}

// maxFileSize bounds a rule file (a typo'd path to a log file must not eat memory).
const maxFileSize = 4 << 20

// Load reads, checks and compiles the rule files as one set. Any problem rejects the
// whole set: the error is a *cfgerr.List with File and Line filled in.
func Load(files []string, opts Options) (*RuleSet, error) {
	srcs := make([]Source, 0, len(files))
	errs := &cfgerr.List{}
	for _, f := range files {
		data, err := readLimited(f)
		if err != nil {
			errs.AddAt(f, 0, "", "%v", err)
			continue
		}
		srcs = append(srcs, Source{Name: f, Data: data})
	}
	if errs.Len() > 0 {
		return nil, errs
	}
	return Parse(srcs, opts)
}

func readLimited(name string) ([]byte, error) {
	st, err := os.Stat(name)
	if err != nil {
		return nil, err
	}
	if st.Size() > maxFileSize {
		return nil, fmt.Errorf("file is %d bytes, more than the %d allowed for a rule file", st.Size(), maxFileSize)
	}
	return os.ReadFile(name)
}

// Source is one rule file's name and content.
type Source struct {
	Name string
	Data []byte
}

// Parse checks and compiles rule sources as one set (Load without the file system).
func Parse(srcs []Source, opts Options) (*RuleSet, error) {
	errs := &cfgerr.List{}
	rs := &RuleSet{Schedules: schedule.Config{}}
	for n, s := range opts.Schedules {
		rs.Schedules[n] = s
	}
	var files []parsedFile
	schedFile := map[string]string{} // schedule name -> "file:line"
	for _, src := range srcs {
		rs.Files = append(rs.Files, src.Name)
		f, ok := parseSource(src, errs)
		if !ok {
			continue
		}
		addSchedules(rs, f, opts, schedFile, errs)
		files = append(files, f)
	}
	// Schedules: validate all together (includes may cross files).
	checkSchedules(rs, files, schedFile, errs)
	names := map[string]string{}
	if !opts.NoBuiltins {
		for _, r := range builtinRules() {
			names[r.Name] = "the built-in rules"
			rs.Rules = append(rs.Rules, r)
		}
	}
	for _, f := range files {
		for i := range f.spec.Rules {
			addRule(rs, f, i, opts, names, errs)
		}
	}
	if errs.Len() > 0 {
		errs.Sort()
		return nil, errs
	}
	return rs, nil
}

// addSchedules adds the schedules of file f to rs; a name defined twice is an error.
func addSchedules(rs *RuleSet, f parsedFile, opts Options, schedFile map[string]string, errs *cfgerr.List) {
	for name, s := range f.spec.Schedules {
		key := "schedules." + name
		where := fmt.Sprintf("%s:%d", f.src.Name, f.lines[key])
		if prev, dup := schedFile[name]; dup {
			errs.AddAt(f.src.Name, f.lines[key], key, "schedule %q is already defined at %s", name, prev)
			continue
		}
		if _, dup := opts.Schedules[name]; dup {
			errs.AddAt(f.src.Name, f.lines[key], key, "schedule %q is already defined in the main config", name)
			continue
		}
		schedFile[name] = where
		rs.Schedules[name] = s
	}
}

// checkSchedules compiles rs's schedules and reports their errors at the file and line
// that defined them.
func checkSchedules(rs *RuleSet, files []parsedFile, schedFile map[string]string, errs *cfgerr.List) {
	if len(rs.Schedules) == 0 {
		return
	}
	_, err := schedule.Compile(rs.Schedules, time.UTC)
	if err == nil {
		return
	}
	for _, e := range cfgerr.As(err).Errs {
		c := *e
		c.Key = cfgerr.Join("schedules", c.Key)
		name, _, _ := strings.Cut(strings.TrimPrefix(c.Key, "schedules."), ".")
		if w, ok := schedFile[name]; ok {
			file, line, _ := strings.Cut(w, ":")
			c.File = file
			c.Line = lookupLine(linesFor(files, file), c.Key)
			if c.Line == 0 {
				c.Line, _ = strconv.Atoi(line)
			}
		}
		errs.Errs = append(errs.Errs, &c)
	}
}

// addRule checks rule i of file f and adds it to rs; names maps the rule names seen to
// where they were defined.
func addRule(rs *RuleSet, f parsedFile, i int, opts Options, names map[string]string, errs *cfgerr.List) {
	key := cfgerr.Index("rules", i)
	spec := f.spec.Rules[i]
	re := &cfgerr.List{}
	r := checkRule(&spec, key, opts.Directory, rs.Schedules, re)
	if spec.Name != "" {
		if prev, dup := names[spec.Name]; dup {
			re.Add(key+".name", "rule %q is already defined at %s", spec.Name, prev)
		} else {
			names[spec.Name] = fmt.Sprintf("%s:%d", f.src.Name, lookupLine(f.lines, key+".name"))
		}
	}
	if r != nil && re.Len() == 0 && !opts.NoBuiltins {
		checkPanicShadow(r, key, opts.Directory, re)
	}
	locate(re, f.src.Name, f.lines)
	errs.Errs = append(errs.Errs, re.Errs...)
	if r != nil && re.Len() == 0 {
		r.File, r.Line = f.src.Name, lookupLine(f.lines, key)
		rs.Rules = append(rs.Rules, r)
	}
}

type parsedFile struct {
	src   Source
	spec  fileSpec
	lines map[string]int
}

func linesFor(files []parsedFile, name string) map[string]int {
	for _, f := range files {
		if f.src.Name == name {
			return f.lines
		}
	}
	return nil
}
