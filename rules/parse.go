package rules

import (
	"errors"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/campusguard/campusguard/cfgerr"
	"github.com/campusguard/campusguard/rules/schedule"
)

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

// parseSource reads one rule file strictly: its errors go to errs, located; false when
// it has nothing to check (empty, or not YAML at all).
func parseSource(src Source, errs *cfgerr.List) (parsedFile, bool) {
	var root yaml.Node
	if err := yaml.Unmarshal(src.Data, &root); err != nil {
		errs.AddAt(src.Name, yamlErrLine(err), "", "%s", yamlErrMsg(err))
		return parsedFile{}, false
	}
	if len(root.Content) == 0 {
		return parsedFile{}, false // empty file
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
			return parsedFile{}, false
		}
		for _, m := range te.Errors {
			fe.AddAt(src.Name, yamlErrLine(errors.New(m)), "", "%s", yamlErrMsg(errors.New(m)))
		}
	}
	locate(fe, src.Name, lines)
	errs.Errs = append(errs.Errs, fe.Errs...)
	return parsedFile{src: src, spec: fs, lines: lines}, true
}
