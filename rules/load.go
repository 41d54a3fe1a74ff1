package rules

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/campusguard/campusguard/cfgerr"
	"github.com/campusguard/campusguard/event"
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

// fileSpec is one rule file.
type fileSpec struct {
	Schedules map[string]schedule.Schedule `yaml:"schedules"`
	Rules     []ruleSpec                   `yaml:"rules"`
}

// ruleSpec is one rule as written. Its JSON encoding is the rule's content hash.
type ruleSpec struct {
	Name         string            `yaml:"name" json:"name"`
	Description  string            `yaml:"description" json:"description,omitempty"`
	Severity     string            `yaml:"severity" json:"severity"`
	Labels       map[string]string `yaml:"labels" json:"labels,omitempty"`
	Select       selectSpec        `yaml:"select" json:"select"`
	When         string            `yaml:"when" json:"when,omitempty"`
	For          time.Duration     `yaml:"for" json:"for,omitempty"`
	Count        *countSpec        `yaml:"count" json:"count,omitempty"`
	Absence      *absenceSpec      `yaml:"absence" json:"absence,omitempty"`
	Resolve      string            `yaml:"resolve" json:"resolve,omitempty"`
	ResolveAfter time.Duration     `yaml:"resolve_after" json:"resolve_after,omitempty"`
	GroupBy      []string          `yaml:"group_by" json:"group_by,omitempty"`
	Schedule     string            `yaml:"schedule" json:"schedule,omitempty"`
	Renotify     time.Duration     `yaml:"renotify" json:"renotify,omitempty"`
	Latch        *bool             `yaml:"latch" json:"latch,omitempty"`
	Message      string            `yaml:"message" json:"message,omitempty"`
}

type selectSpec struct {
	Devices []string          `yaml:"devices" json:"devices,omitempty"`
	Kinds   []string          `yaml:"kinds" json:"kinds,omitempty"`
	Zones   []string          `yaml:"zones" json:"zones,omitempty"`
	Labels  map[string]string `yaml:"labels" json:"labels,omitempty"`
	Types   []string          `yaml:"types" json:"types,omitempty"`
}

type countSpec struct {
	Threshold int           `yaml:"threshold" json:"threshold"`
	Window    time.Duration `yaml:"window" json:"window"`
}

type absenceSpec struct {
	Period   time.Duration `yaml:"period" json:"period,omitempty"`
	Deadline string        `yaml:"deadline" json:"deadline,omitempty"`
	From     string        `yaml:"from" json:"from,omitempty"`
}

// maxThreshold bounds count.threshold (the engine keeps that many timestamps per key).
const maxThreshold = 10000

// maxFileSize bounds a rule file (a typo'd path to a log file must not eat memory).
const maxFileSize = 4 << 20

// LoadDir loads every *.yaml and *.yml file directly in dir (not subdirectories, so
// tests/ beside the rules is not read as rules), in name order.
func LoadDir(dir string, opts Options) (*RuleSet, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("rules dir %s: %w", dir, err)
	}
	var files []string
	for _, e := range ents {
		n := e.Name()
		if e.IsDir() || strings.HasPrefix(n, ".") {
			continue
		}
		if strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".yml") {
			files = append(files, filepath.Join(dir, n))
		}
	}
	sort.Strings(files)
	return Load(files, opts)
}

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
		var root yaml.Node
		if err := yaml.Unmarshal(src.Data, &root); err != nil {
			errs.AddAt(src.Name, yamlErrLine(err), "", "%s", yamlErrMsg(err))
			continue
		}
		if len(root.Content) == 0 {
			continue // empty file
		}
		doc := root.Content[0]
		lines := map[string]int{}
		fe := &cfgerr.List{}
		strictWalk(doc, reflect.TypeOf(fileSpec{}), "", lines, fe, 0)
		// Decode even after unknown keys (they are ignored) and type errors (yaml.v3
		// decodes the rest), so one run of check shows every mistake.
		var fs fileSpec
		if err := doc.Decode(&fs); err != nil {
			var te *yaml.TypeError
			if !errors.As(err, &te) {
				fe.AddAt(src.Name, yamlErrLine(err), "", "%s", yamlErrMsg(err))
				locate(fe, src.Name, lines)
				errs.Errs = append(errs.Errs, fe.Errs...)
				continue
			}
			for _, m := range te.Errors {
				fe.AddAt(src.Name, yamlErrLine(errors.New(m)), "", "%s", yamlErrMsg(errors.New(m)))
			}
		}
		locate(fe, src.Name, lines)
		errs.Errs = append(errs.Errs, fe.Errs...)
		for name, s := range fs.Schedules {
			key := "schedules." + name
			where := fmt.Sprintf("%s:%d", src.Name, lines[key])
			if prev, dup := schedFile[name]; dup {
				errs.AddAt(src.Name, lines[key], key, "schedule %q is already defined at %s", name, prev)
				continue
			}
			if _, dup := opts.Schedules[name]; dup {
				errs.AddAt(src.Name, lines[key], key, "schedule %q is already defined in the main config", name)
				continue
			}
			schedFile[name] = where
			rs.Schedules[name] = s
		}
		files = append(files, parsedFile{src: src, spec: fs, lines: lines})
	}
	// Schedules: validate all together (includes may cross files).
	if len(rs.Schedules) > 0 {
		if _, err := schedule.Compile(rs.Schedules, time.UTC); err != nil {
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
	}
	names := map[string]string{}
	if !opts.NoBuiltins {
		for _, r := range builtinRules() {
			names[r.Name] = "the built-in rules"
			rs.Rules = append(rs.Rules, r)
		}
	}
	for _, f := range files {
		for i := range f.spec.Rules {
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
	}
	if errs.Len() > 0 {
		errs.Sort()
		return nil, errs
	}
	return rs, nil
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

var labelRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// checkRule validates one rule and compiles it; problems go to errs with keys under key.
func checkRule(spec *ruleSpec, key string, dir *site.Directory, cfg schedule.Config, errs *cfgerr.List) *Rule {
	k := func(s string) string { return cfgerr.Join(key, s) }
	switch {
	case spec.Name == "":
		errs.Add(k("name"), "is required")
	case !site.ValidID(spec.Name):
		errs.Add(k("name"), "%q is not a valid rule name (letters, digits, _ . - only)", spec.Name)
	}
	sev := Severity(spec.Severity)
	if !sev.Valid() {
		errs.Add(k("severity"), "%q is not a severity (want critical, major, minor or info)", spec.Severity)
	}
	for n := range spec.Labels {
		if !labelRe.MatchString(n) {
			errs.Add(k("labels."+n), "label name %q is not valid (letters, digits, _)", n)
		}
	}
	form := FormMatch
	nforms := 0
	if spec.For != 0 {
		form, nforms = FormFor, nforms+1
		if spec.For < 0 {
			errs.Add(k("for"), "must be positive")
		}
	}
	if spec.Count != nil {
		form, nforms = FormCount, nforms+1
		if spec.Count.Threshold < 1 {
			errs.Add(k("count.threshold"), "must be at least 1")
		}
		if spec.Count.Window < time.Second {
			errs.Add(k("count.window"), "must be at least 1s (10m)")
		}
		if spec.Count.Threshold > maxThreshold {
			errs.Add(k("count.threshold"), "%d is more than the %d allowed", spec.Count.Threshold, maxThreshold)
		}
	}
	var ab absence
	if spec.Absence != nil {
		form, nforms = FormAbsence, nforms+1
		a := spec.Absence
		switch {
		case a.Period > 0 && a.Deadline != "":
			errs.Add(k("absence"), "set period or deadline, not both")
		case a.Period < 0 || (a.Period > 0 && a.Period < time.Second):
			errs.Add(k("absence.period"), "must be at least 1s")
		case a.Period == 0 && a.Deadline == "":
			errs.Add(k("absence"), "needs period (5m) or deadline (\"21:30\")")
		}
		ab.period = a.Period
		if a.Deadline != "" {
			m, err := schedule.ParseClock(a.Deadline)
			if err != nil {
				errs.Add(k("absence.deadline"), "%v", err)
			}
			ab.deadline, ab.hasDeadline = m, true
			if a.From != "" {
				f, err := schedule.ParseClock(a.From)
				if err != nil {
					errs.Add(k("absence.from"), "%v", err)
				}
				if f == m {
					errs.Add(k("absence.from"), "from equals the deadline: the window is empty")
				}
				ab.from = f
			}
		} else if a.From != "" {
			errs.Add(k("absence.from"), "only applies with a deadline")
		}
		if spec.Resolve != "" {
			errs.Add(k("resolve"), "absence rules resolve when a matching event arrives; remove resolve")
		}
		if spec.ResolveAfter != 0 {
			errs.Add(k("resolve_after"), "does not apply to absence rules")
		}
	}
	if nforms > 1 {
		errs.Add(key, "set at most one of for, count and absence")
	}
	if spec.When == "" && form != FormAbsence {
		errs.Add(k("when"), "is required (the condition, e.g. type == \"pressed\")")
	}
	switch form {
	case FormFor:
		if spec.Resolve == "" {
			errs.Add(k("resolve"), "a for rule needs resolve: the event that ends the condition (zone clear, door closed)")
		}
		if spec.ResolveAfter != 0 {
			errs.Add(k("resolve_after"), "does not apply to for rules (they resolve on resolve)")
		}
	case FormMatch:
		if spec.Resolve == "" && spec.ResolveAfter == 0 {
			errs.Add(key, "a match rule needs resolve or resolve_after, or it can fire only once")
		}
	}
	if spec.ResolveAfter < 0 {
		errs.Add(k("resolve_after"), "must be positive")
	}
	if spec.Renotify < 0 {
		errs.Add(k("renotify"), "must be positive")
	} else if spec.Renotify > 0 && spec.Renotify < time.Minute {
		errs.Add(k("renotify"), "%v is shorter than the 1m minimum", spec.Renotify)
	}
	if spec.Schedule != "" {
		if _, ok := cfg[spec.Schedule]; !ok {
			errs.Add(k("schedule"), "unknown schedule %q", spec.Schedule)
		}
	}
	sel := checkSelect(spec, key, dir, errs)
	if spec.Schedule != "" && sel.mayPanic {
		errs.Add(k("schedule"), "selects panic buttons: emergency zones are never disarmable (GB 50394), a panic rule must not have a schedule")
	}
	groups := checkGroupBy(spec, key, dir, sel, errs)
	c := compileRule(spec, key, form, errs)
	if errs.Len() > 0 || c == nil {
		return nil
	}
	c.sel, c.groupBy, c.absence = sel, groups, ab
	if form == FormCount && spec.Resolve == "" && spec.ResolveAfter == 0 {
		c.resolveAfter = spec.Count.Window
	} else {
		c.resolveAfter = spec.ResolveAfter
	}
	h := sha256.New()
	_ = json.NewEncoder(h).Encode(spec)
	return &Rule{
		Name: spec.Name, Description: spec.Description, Severity: sev, Labels: spec.Labels,
		Form: form, Schedule: spec.Schedule, Renotify: spec.Renotify, Latch: spec.Latch,
		Hash: hex.EncodeToString(h.Sum(nil))[:16], spec: *spec, c: c,
	}
}

// selector is a compiled select section.
type selector struct {
	devices, kinds, zones map[string]bool
	labels                map[string]string
	types                 map[string]bool // explicit select.types
	mayPanic              bool            // may select a panic button
}

func (s *selector) matchDevice(d *site.Device) bool {
	if s.devices != nil && !s.devices[d.ID] {
		return false
	}
	if s.kinds != nil && !s.kinds[string(d.Kind)] {
		return false
	}
	if s.zones != nil && !s.zones[d.Zone] {
		return false
	}
	for k, v := range s.labels {
		if d.Labels[k] != v {
			return false
		}
	}
	return true
}

func set(list []string) map[string]bool {
	if len(list) == 0 {
		return nil
	}
	m := make(map[string]bool, len(list))
	for _, s := range list {
		m[s] = true
	}
	return m
}

func checkSelect(spec *ruleSpec, key string, dir *site.Directory, errs *cfgerr.List) *selector {
	s := &selector{devices: set(spec.Select.Devices), kinds: set(spec.Select.Kinds), zones: set(spec.Select.Zones), labels: spec.Select.Labels, types: set(spec.Select.Types)}
	k := func(s string) string { return cfgerr.Join(key, "select."+s) }
	for i, kd := range spec.Select.Kinds {
		if !event.Kind(kd).Valid() {
			errs.Add(k(cfgerr.Index("kinds", i)), "unknown device kind %q (want one of %v)", kd, event.Kinds)
		}
	}
	for i, t := range spec.Select.Types {
		if t == "" || strings.ToLower(t) != t || strings.ContainsAny(t, " \t") {
			errs.Add(k(cfgerr.Index("types", i)), "event type %q is not valid (a lower-case word)", t)
		}
	}
	if dir == nil {
		// Without the site, only an explicit kind or an unrestricted selector is known to
		// reach panic buttons.
		s.mayPanic = s.kinds[string(event.KindPanic)] || (s.kinds == nil && s.devices == nil)
		return s
	}
	for i, id := range spec.Select.Devices {
		if dir.Device(id) == nil {
			errs.Add(k(cfgerr.Index("devices", i)), "unknown device %q", id)
		}
	}
	if dir.Site != nil {
		for i, z := range spec.Select.Zones {
			if dir.Site.Zone(z) == nil {
				errs.Add(k(cfgerr.Index("zones", i)), "unknown zone %q", z)
			}
		}
	}
	for name, v := range spec.Select.Labels {
		known, value := false, false
		for _, d := range dir.Devices() {
			if lv, ok := d.Labels[name]; ok {
				known = true
				value = value || lv == v
			}
		}
		switch {
		case !known:
			errs.Add(k("labels."+name), "no device has a label %q", name)
		case !value:
			errs.Add(k("labels."+name), "no device has %s=%q", name, v)
		}
	}
	n := 0
	for _, d := range dir.Devices() {
		if s.matchDevice(&d) {
			n++
			s.mayPanic = s.mayPanic || d.Kind == event.KindPanic
		}
	}
	if n == 0 && len(dir.Devices()) > 0 && errs.Len() == 0 {
		errs.Add(cfgerr.Join(key, "select"), "selects no device of the site")
	}
	return s
}

// groupKey is one element of group_by.
type groupKey struct {
	what  string // device, zone, kind, site, label
	label string
}

func checkGroupBy(spec *ruleSpec, key string, dir *site.Directory, sel *selector, errs *cfgerr.List) []groupKey {
	if spec.GroupBy == nil {
		return []groupKey{{what: "device"}}
	}
	out := make([]groupKey, 0, len(spec.GroupBy))
	for i, g := range spec.GroupBy {
		k := cfgerr.Join(key, cfgerr.Index("group_by", i))
		switch {
		case g == "device" || g == "zone" || g == "kind" || g == "site":
			out = append(out, groupKey{what: g})
		case strings.HasPrefix(g, "labels."):
			l := strings.TrimPrefix(g, "labels.")
			if dir != nil {
				found := false
				for _, d := range dir.Devices() {
					if _, ok := d.Labels[l]; ok && sel.matchDevice(&d) {
						found = true
						break
					}
				}
				if !found {
					errs.Add(k, "no selected device has a label %q", l)
				}
			}
			out = append(out, groupKey{what: "label", label: l})
		default:
			errs.Add(k, "%q: group by device, zone, kind, site or labels.NAME", g)
		}
	}
	return out
}

// strictWalk records the line of every key path and reports keys that t does not have.
func strictWalk(n *yaml.Node, t reflect.Type, path string, lines map[string]int, errs *cfgerr.List, depth int) {
	if n == nil || depth > 64 {
		return
	}
	if n.Kind == yaml.AliasNode {
		if depth > 16 {
			errs.AddAt("", n.Line, path, "aliases nested too deep")
			return
		}
		n = n.Alias
		if n == nil {
			return
		}
	}
	if _, ok := lines[path]; !ok {
		lines[path] = n.Line
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		if t == reflect.TypeOf(time.Time{}) || n.Kind != yaml.MappingNode {
			return
		}
		fields := map[string]reflect.Type{}
		var names []string
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if tag == "" || tag == "-" {
				continue
			}
			fields[tag] = f.Type
			names = append(names, tag)
		}
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			kn, vn := n.Content[i], n.Content[i+1]
			kp := cfgerr.Join(path, kn.Value)
			if seen[kn.Value] {
				errs.AddAt("", kn.Line, kp, "key %q is given twice", kn.Value)
			}
			seen[kn.Value] = true
			ft, ok := fields[kn.Value]
			if !ok {
				errs.AddAt("", kn.Line, kp, "unknown field %q (known: %s)", kn.Value, strings.Join(names, ", "))
				continue
			}
			lines[kp] = kn.Line
			strictWalk(vn, ft, kp, lines, errs, depth+1)
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return
		}
		for i, c := range n.Content {
			strictWalk(c, t.Elem(), cfgerr.Index(path, i), lines, errs, depth+1)
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			kn := n.Content[i]
			kp := cfgerr.Join(path, kn.Value)
			lines[kp] = kn.Line
			strictWalk(n.Content[i+1], t.Elem(), kp, lines, errs, depth+1)
		}
	}
}

// locate fills File and Line of errs from the key-path line table.
func locate(errs *cfgerr.List, file string, lines map[string]int) {
	for _, e := range errs.Errs {
		if e.File == "" {
			e.File = file
		}
		if e.Line == 0 {
			e.Line = lookupLine(lines, e.Key)
		}
	}
}

// lookupLine returns the line of key or of its nearest ancestor.
func lookupLine(lines map[string]int, key string) int {
	for key != "" {
		if l, ok := lines[key]; ok {
			return l
		}
		i := strings.LastIndexAny(key, ".[")
		if i < 0 {
			break
		}
		key = key[:i]
	}
	return lines[""]
}

var yamlLineRe = regexp.MustCompile(`line (\d+):?\s*`)

func yamlErrLine(err error) int {
	m := yamlLineRe.FindStringSubmatch(err.Error())
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

func yamlErrMsg(err error) string {
	s := strings.TrimPrefix(err.Error(), "yaml: ")
	return yamlLineRe.ReplaceAllString(s, "")
}
