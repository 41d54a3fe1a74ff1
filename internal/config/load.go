package config

import (
	"errors"
	"fmt"
	"github.com/campusguard/campusguard/event"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"
	"gopkg.in/yaml.v3"

	"github.com/campusguard/campusguard/cfgerr"
	"github.com/campusguard/campusguard/rules"
	"github.com/campusguard/campusguard/rules/schedule"
	"github.com/campusguard/campusguard/secret"
)

// Source is where the config files come from: a directory on disk, or the demo
// config embedded in the binary.
type Source struct {
	FS     fs.FS  // the files
	Main   string // the main file's path inside FS ("campusguard.yaml")
	Prefix string // shown before file names in errors ("/etc/campusguard/", "embedded:configs/demo/")
	// Dir is the directory relative paths in the config resolve against (rules dir,
	// key files); "" for an embedded source.
	Dir string
	// Demo marks the demo campus: the simulator may stand in for GPIO lines and the
	// demo's published secrets are allowed. Every other config is a real gateway's.
	Demo bool
}

// DiskSource reads the main file at path and its conf.d and rules directories beside it.
func DiskSource(p string) Source {
	abs, err := filepath.Abs(p)
	if err != nil {
		abs = p
	}
	dir := filepath.Dir(abs)
	return Source{FS: os.DirFS(dir), Main: filepath.Base(abs), Prefix: dir + string(filepath.Separator), Dir: dir}
}

// name is the display name of a file inside the source.
func (s Source) name(p string) string { return s.Prefix + p }

// ConfDir is the directory of extra config files, beside the main file.
const ConfDir = "conf.d"

// Options changes how Load reads the environment (tests pass their own).
type Options struct {
	// Getenv reads the variables that give secrets (nil: os.Getenv); no other key is
	// read from the environment.
	Getenv func(string) string
	// StateDir overrides state_dir (the demo and tests); "" keeps the file's.
	StateDir string
	// Gateway checks the config as a real gateway's, against this machine (check,
	// and run with the machine's own pins): GPIO lines need a GPIO chip, the
	// simulator may not stand in for them outside the demo, inputs must debounce, and
	// the rules directory must exist. Tests that bring their own pins leave it off.
	Gateway bool
	// GPIOChips lists the machine's GPIO chip devices (nil: the GPIOChips function).
	GPIOChips func() []string
}

func (o *Options) getenv(k string) string {
	if o.Getenv != nil {
		return o.Getenv(k)
	}
	return os.Getenv(k)
}

// Files lists the config files Load reads, main first then conf.d in name order.
func Files(src Source) ([]string, error) {
	files := []string{src.Main}
	dir := path.Join(path.Dir(src.Main), ConfDir)
	ents, err := fs.ReadDir(src.FS, dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", src.name(dir), err)
	}
	var extra []string
	for _, e := range ents {
		n := e.Name()
		if e.IsDir() || strings.HasPrefix(n, ".") {
			continue
		}
		if strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".yml") {
			extra = append(extra, path.Join(dir, n))
		}
	}
	sort.Strings(extra)
	return append(files, extra...), nil
}

var yamlLineRe = regexp.MustCompile(`line (\d+)`)

// Load reads, merges, decodes and validates the whole config. On any problem it
// returns a *cfgerr.List naming each problem's file, line and key, and no config.
func Load(src Source, opts Options) (*Config, error) {
	cfg, err := loadAll(src, opts)
	var l *cfgerr.List
	if errors.As(err, &l) {
		dropShadowed(l)
		for _, e := range l.Errs {
			hint(e)
		}
	}
	return cfg, err
}

// dropShadowed removes the problems of a key whose value is an unfilled placeholder:
// "not filled in yet" says all there is to say about it.
func dropShadowed(l *cfgerr.List) {
	ph := map[string]bool{}
	for _, e := range l.Errs {
		if strings.HasPrefix(e.Msg, placeholderMsg) {
			ph[e.File+"\x00"+e.Key] = true
		}
	}
	if len(ph) == 0 {
		return
	}
	out := l.Errs[:0]
	for _, e := range l.Errs {
		if ph[e.File+"\x00"+e.Key] && !strings.HasPrefix(e.Msg, placeholderMsg) {
			continue
		}
		out = append(out, e)
	}
	l.Errs = out
}

func loadAll(src Source, opts Options) (*Config, error) {
	files, err := Files(src)
	if err != nil {
		return nil, err
	}
	errs := &cfgerr.List{}
	late := &cfgerr.List{} // located problems that need not stop decoding (placeholders)
	merged, ix, err := readAll(src, files, errs, late)
	if err != nil {
		return nil, err
	}
	stop := errs.Len() > 0
	errs.Errs = append(errs.Errs, late.Errs...)
	if stop {
		errs.Sort()
		return nil, errs
	}

	cfg := Default()
	undecoded, err := decode(merged, cfg, errs)
	if err != nil {
		return nil, err
	}
	nDecode := len(errs.Errs)
	cfg.source = src
	cfg.Files = make([]string, len(files))
	for i, f := range files {
		cfg.Files[i] = src.name(f)
	}
	if opts.StateDir != "" {
		cfg.StateDir = opts.StateDir
	}
	cfg.Validate(errs)
	cfg.Resolve(errs, secret.Lookup{Getenv: opts.getenv})
	cfg.validateSafety(errs, src.Demo)
	if opts.Gateway {
		chips := opts.GPIOChips
		if chips == nil {
			chips = GPIOChips
		}
		cfg.validateHost(errs, src.Demo, chips())
	}
	if len(undecoded) > 0 {
		kept := errs.Errs[:nDecode]
		for _, e := range errs.Errs[nDecode:] {
			if !shadowed(undecoded, e.Key) {
				kept = append(kept, e)
			}
		}
		errs.Errs = kept
	}
	ix.fill(errs, src.name(src.Main))
	ix.fill(&cfg.Notes, src.name(src.Main))
	cfg.loadRuleSet(src, opts.Gateway, ix, errs)
	if errs.Len() > 0 {
		errs.Sort()
		return nil, errs
	}
	return cfg, nil
}

// readAll reads and merges the config files. A problem that stops decoding goes
// to errs, a located one that need not to late; only an unreadable main file is
// returned as an error.
func readAll(src Source, files []string, errs, late *cfgerr.List) (map[string]any, *index, error) {
	ix := newIndex()
	merged := map[string]any{}
	owner := map[string]loc{} // scalar key path -> where it was first set
	for _, f := range files {
		b, err := fs.ReadFile(src.FS, f)
		if err != nil {
			if f == src.Main {
				return nil, nil, fmt.Errorf("config %s: %w", src.name(f), err)
			}
			errs.AddAt(src.name(f), 0, "", "cannot read: %v", err)
			continue
		}
		var doc yaml.Node
		if err := yaml.Unmarshal(b, &doc); err != nil {
			line := 0
			if m := yamlLineRe.FindStringSubmatch(err.Error()); m != nil {
				line, _ = strconv.Atoi(m[1])
			}
			errs.AddAt(src.name(f), line, "", "not valid YAML: %s", strings.TrimPrefix(err.Error(), "yaml: "))
			continue
		}
		if len(doc.Content) == 0 {
			continue // empty file
		}
		root := doc.Content[0]
		if root.Kind != yaml.MappingNode {
			errs.AddAt(src.name(f), root.Line, "", "the file must be a mapping of keys (site:, devices:, ...)")
			continue
		}
		root = dedupe(src.name(f), root, "", late)
		var m map[string]any
		if err := root.Decode(&m); err != nil {
			errs.AddAt(src.name(f), root.Line, "", "cannot decode: %v", err)
			continue
		}
		placeholders(src.name(f), root, "", late)
		merge(merged, lowerKeys(m).(map[string]any), "", src.name(f), ix, owner, errs, root)
		ix.add(src.name(f), &doc)
	}
	return merged, ix, nil
}

// decode decodes the merged files into cfg, adding the decoder's problems to errs,
// and returns the keys whose values could not be decoded.
//
// Viper reads the merged files only: no key comes from the environment but the
// secrets, which Resolve reads (SecretEnv). A value of the wrong type or form does
// not stop the check: the rest of the config is decoded and validated too, and
// validation problems of a key that could not be decoded (left at its default) are
// dropped as noise.
func decode(merged map[string]any, cfg *Config, errs *cfgerr.List) (map[string]bool, error) {
	v := viper.New()
	if err := v.MergeConfigMap(merged); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	undecoded := map[string]bool{}
	if err := v.UnmarshalExact(cfg, viper.DecodeHook(DecodeHook())); err != nil {
		dl := &cfgerr.List{}
		decodeErrors(err, dl)
		for _, e := range dl.Errs {
			if !strings.HasPrefix(e.Msg, "unknown key") {
				undecoded[strings.ToLower(e.Key)] = true
				// The decoder's message leaves the value out; the operator needs it.
				if v, ok := valueAt(merged, e.Key); ok && !strings.Contains(e.Msg, fmt.Sprint(v)) {
					e.Msg = fmt.Sprintf("%s in %q", e.Msg, fmt.Sprint(v))
				}
			}
		}
		errs.Errs = append(errs.Errs, dl.Errs...)
	}
	return undecoded, nil
}

// loadRuleSet loads the rule files and compiles their schedules into the config,
// and checks the schedules other sections name. The rule files are part of the
// same transaction: a broken rule rejects the whole config, and their errors carry
// their own file and line.
func (c *Config) loadRuleSet(src Source, mustExist bool, ix *index, errs *cfgerr.List) {
	rs, err := loadRules(src, c, mustExist)
	if err != nil {
		errs.Errs = append(errs.Errs, cfgerr.As(err).Errs...)
		ix.fill(errs, src.name(src.Main))
		return
	}
	c.Rules = rs
	set, err := schedule.Compile(rs.Schedules, c.Site.Location())
	if err != nil {
		errs.Errs = append(errs.Errs, cfgerr.As(err).Errs...)
		return
	}
	c.ScheduleSet = set
	for key, name := range c.Patrol.ScheduleRefs() {
		if !set.Has(name) {
			errs.Add(cfgerr.Join("patrol", key), "unknown schedule %q", name)
		}
	}
	if c.Sinks.Siren != nil {
		l := &cfgerr.List{}
		c.Sinks.Siren.CheckSchedules(set.Has, l)
		errs.Merge("sinks.siren", l)
	}
	a := &cfgerr.List{}
	c.Alerting.CheckArming(c.zoneKinds, set.Has, a)
	errs.Merge("alerting", a)
	ix.fill(errs, src.name(src.Main))
}

// rulesSources reads the rule files of a config: every *.yaml directly in rules_dir.
// A missing directory is an error when mustExist (a gateway): without its rule files
// it would raise only the built-in alarms.
func rulesSources(src Source, cfg *Config, mustExist bool) ([]rules.Source, error) {
	dir := cfg.RulesDir
	fsys, display := src.FS, src.name
	if filepath.IsAbs(dir) {
		fsys, display = os.DirFS("/"), func(p string) string { return "/" + p }
		dir = strings.TrimPrefix(filepath.ToSlash(dir), "/")
	} else {
		dir = path.Join(path.Dir(src.Main), filepath.ToSlash(dir))
	}
	ents, err := fs.ReadDir(fsys, dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			if !mustExist {
				return nil, nil
			}
			return nil, &cfgerr.List{Errs: []*cfgerr.Error{{Key: "rules_dir",
				Msg: fmt.Sprintf("the rules directory %s does not exist (create it, or fix rules_dir)", display(dir))}}}
		}
		return nil, &cfgerr.List{Errs: []*cfgerr.Error{{File: display(dir), Key: "rules_dir", Msg: err.Error()}}}
	}
	var out []rules.Source
	for _, e := range ents {
		n := e.Name()
		if e.IsDir() || strings.HasPrefix(n, ".") || !(strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".yml")) {
			continue
		}
		p := path.Join(dir, n)
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return nil, &cfgerr.List{Errs: []*cfgerr.Error{{File: display(p), Msg: err.Error()}}}
		}
		out = append(out, rules.Source{Name: display(p), Data: b})
	}
	return out, nil
}

func loadRules(src Source, cfg *Config, mustExist bool) (*rules.RuleSet, error) {
	srcs, err := rulesSources(src, cfg, mustExist)
	if err != nil {
		return nil, err
	}
	return rules.Parse(srcs, rules.Options{Directory: cfg.Directory(), Schedules: cfg.Schedules})
}

// RulesDirPath is the rules directory on disk ("" for an embedded config), for watching.
func (c *Config) RulesDirPath() string {
	if c.source.Dir == "" {
		return ""
	}
	return c.Path(c.RulesDir)
}

// lowerKeys lower-cases map keys as viper does, so the index and the merge agree.
func lowerKeys(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[strings.ToLower(k)] = lowerKeys(e)
		}
		return out
	case []any:
		for i := range x {
			x[i] = lowerKeys(x[i])
		}
	}
	return v
}

// merge folds src into dst: maps merge, lists append, a scalar set twice is an error.
func merge(dst, src map[string]any, prefix, file string, ix *index, owner map[string]loc, errs *cfgerr.List, root *yaml.Node) {
	for k, sv := range src {
		p := cfgerr.Join(prefix, k)
		dv, exists := dst[k]
		switch s := sv.(type) {
		case map[string]any:
			if d, ok := dv.(map[string]any); ok {
				merge(d, s, p, file, ix, owner, errs, root)
				continue
			}
			if exists && dv != nil {
				errs.AddAt(file, lineOf(root, p), p, "also set in %s with a different shape", where(owner, p))
				continue
			}
			d := map[string]any{}
			dst[k] = d
			owner[p] = loc{file, lineOf(root, p)}
			merge(d, s, p, file, ix, owner, errs, root)
		case []any:
			if d, ok := dv.([]any); ok {
				dst[k] = append(d, s...)
				continue
			}
			if exists && dv != nil {
				errs.AddAt(file, lineOf(root, p), p, "also set in %s with a different shape", where(owner, p))
				continue
			}
			dst[k] = s
			owner[p] = loc{file, lineOf(root, p)}
		default:
			if exists {
				errs.AddAt(file, lineOf(root, p), p, "already set in %s; a key may be set in one file only", where(owner, p))
				continue
			}
			dst[k] = sv
			owner[p] = loc{file, lineOf(root, p)}
		}
	}
}

func where(owner map[string]loc, p string) string {
	if l, ok := owner[p]; ok {
		return fmt.Sprintf("%s:%d", l.file, l.line)
	}
	return "an earlier file"
}

// lineOf finds the line of a dotted map path (no list indexes) in one file's root.
func lineOf(root *yaml.Node, p string) int {
	n := root
	line := 0
	for _, part := range strings.Split(p, ".") {
		if n == nil || n.Kind != yaml.MappingNode {
			return line
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if strings.ToLower(n.Content[i].Value) == part {
				line = n.Content[i].Line
				next = n.Content[i+1]
				break
			}
		}
		n = next
	}
	return line
}

// DecodeHook is viper's default hooks (durations, comma lists) plus ours. Passing a
// hook to viper replaces its defaults, so they are composed back in here.
func DecodeHook() mapstructure.DecodeHookFunc {
	return mapstructure.ComposeDecodeHookFunc(
		rejectNumberAsDuration,
		mapstructure.StringToTimeDurationHookFunc(),
		mapstructure.StringToSliceHookFunc(","),
		scalarSecret,
		mapstructure.TextUnmarshallerHookFunc(),
	)
}

var secretType = reflect.TypeOf(secret.Value{})

// scalarSecret turns a secret written as a number or a bool ("password: 123456") into
// the text a string key would take from it, so secret.Value decodes it.
func scalarSecret(f reflect.Type, t reflect.Type, data any) (any, error) {
	if t != secretType {
		return data, nil
	}
	v := reflect.ValueOf(data)
	switch f.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(v.Uint(), 10), nil
	case reflect.Float32, reflect.Float64:
		return strconv.FormatFloat(v.Float(), 'f', -1, 64), nil
	case reflect.Bool:
		if v.Bool() {
			return "1", nil
		}
		return "0", nil
	}
	return data, nil
}

// rejectNumberAsDuration refuses a bare number for a duration ("timeout: 5" would be
// 5 ns, never what an installer meant).
func rejectNumberAsDuration(f reflect.Type, t reflect.Type, data any) (any, error) {
	if t.String() != "time.Duration" {
		return data, nil
	}
	switch f.Kind() {
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Float64, reflect.Float32, reflect.Uint, reflect.Uint64:
		return nil, fmt.Errorf("a duration needs a unit, e.g. \"%vs\" or \"%vms\"", data, data)
	}
	return data, nil
}

// decodeErrors turns mapstructure's joined errors into located problems.
func decodeErrors(err error, errs *cfgerr.List) {
	var walk func(error)
	walk = func(e error) {
		if e == nil {
			return
		}
		var de *mapstructure.DecodeError
		if errors.As(e, &de) && e == error(de) {
			name := de.Name()
			msg := de.Unwrap().Error()
			if strings.HasPrefix(msg, "has invalid keys: ") {
				for _, k := range strings.Split(strings.TrimPrefix(msg, "has invalid keys: "), ", ") {
					errs.Add(cfgerr.Join(name, k), "unknown key %q (misspelt, or not valid here)", k)
				}
				return
			}
			errs.Add(name, "%s", friendly(msg))
			return
		}
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, c := range j.Unwrap() {
				walk(c)
			}
			return
		}
		if u := errors.Unwrap(e); u != nil && u != e {
			walk(u)
			return
		}
		errs.Add("", "%s", friendly(e.Error()))
	}
	walk(err)
}

func friendly(msg string) string {
	msg = strings.TrimPrefix(msg, "decoding failed due to the following error(s):\n\n")
	msg = strings.ReplaceAll(msg, "time: ", "")
	return msg
}

// zoneKinds returns the kinds of the devices in zone z, and whether the site has it.
func (c *Config) zoneKinds(z string) ([]event.Kind, bool) {
	if c.Site.Zone(z) == nil {
		return nil, false
	}
	var out []event.Kind
	for _, d := range c.Devices {
		if d.Zone == z {
			out = append(out, d.Kind)
		}
	}
	return out, true
}
