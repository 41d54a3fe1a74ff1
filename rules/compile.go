package rules

import (
	"fmt"
	"io"
	"strings"
	"text/template"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"

	"github.com/campusguard/campusguard/cfgerr"
	"github.com/campusguard/campusguard/rules/fastexpr"
)

// env is what an expression sees: the event and its device. Expressions are
// type-checked against it at load time.
type env struct {
	Site   string         `expr:"site"`
	Type   string         `expr:"type"`
	Kind   string         `expr:"kind"`
	Source string         `expr:"source"`
	Time   time.Time      `expr:"time"`
	Fields map[string]any `expr:"fields"`
	Device deviceEnv      `expr:"device"`
}

type deviceEnv struct {
	ID       string            `expr:"id"`
	Kind     string            `expr:"kind"`
	Zone     string            `expr:"zone"`
	Location string            `expr:"location"`
	Name     string            `expr:"name"`
	Labels   map[string]string `expr:"labels"`
}

// runEnv is env as the VM reads it at run time. The compiled programs address env's
// fields by name (expr tag) or index, so runEnv has the same fields, tags and order; each holds its
// value already boxed in an interface (strings interned per engine, a device's once),
// so reading a field hands the VM that interface instead of allocating a new one per
// evaluation (reflect's Interface of a string field allocates). Types are still
// checked against env at load time.
type runEnv struct {
	Site   any            `expr:"site"`
	Type   any            `expr:"type"`
	Kind   any            `expr:"kind"`
	Source any            `expr:"source"`
	Time   any            `expr:"time"` // set only when some rule reads time
	Fields map[string]any `expr:"fields"`
	Device *runDevice     `expr:"device"`
}

// runDevice is deviceEnv at run time (see runEnv); a pointer, which the VM follows.
type runDevice struct {
	ID       any               `expr:"id"`
	Kind     any               `expr:"kind"`
	Zone     any               `expr:"zone"`
	Location any               `expr:"location"`
	Name     any               `expr:"name"`
	Labels   map[string]string `expr:"labels"`
}

func newRunDevice(d deviceEnv) *runDevice {
	return &runDevice{ID: d.ID, Kind: d.Kind, Zone: d.Zone, Location: d.Location, Name: d.Name, Labels: d.Labels}
}

// readsTime reports whether an expression reads the event's time.
func readsTime(code string) bool {
	tree, err := parser.Parse(code)
	if err != nil {
		return true // not compiled anyway; err on the side of setting it
	}
	found := false
	ast.Find(tree.Node, func(n ast.Node) bool {
		if id, ok := n.(*ast.IdentifierNode); ok && id.Value == "time" {
			found = true
		}
		return found
	})
	return found
}

// maxExprNodes bounds an expression's size (a fuzzed or pasted monster must not hang
// the loader).
const maxExprNodes = 2000

var exprOptions = []expr.Option{
	expr.Env(env{}),
	expr.AsBool(),
	expr.MaxNodes(maxExprNodes),
	// has(fields.x): the field is present.
	expr.Function("has", func(p ...any) (any, error) { return p[0] != nil, nil }, new(func(any) bool)),
	// num(fields.x) or num(fields.x, default): the field as a number, default (0) when
	// absent or not a number.
	expr.Function("num", func(p ...any) (any, error) {
		switch x := p[0].(type) {
		case float64:
			return x, nil
		case int64:
			return float64(x), nil
		case int:
			return float64(x), nil
		}
		if len(p) > 1 {
			return p[1], nil
		}
		return 0.0, nil
	}, new(func(any) float64), new(func(any, float64) float64)),
	// str(fields.x): the field as a string, "" when absent or not a string.
	expr.Function("str", func(p ...any) (any, error) {
		s, _ := p[0].(string)
		return s, nil
	}, new(func(any) string)),
}

type absence struct {
	period      time.Duration
	hasDeadline bool
	deadline    int // minutes after midnight
	from        int // window start, minutes after midnight (0 = midnight)
}

// compiled is a rule's executable part.
type compiled struct {
	when, resolve *vm.Program // when nil: every selected event (absence)
	types         map[string]bool
	sel           *selector
	groupBy       []groupKey
	byDevice      bool // group_by is exactly [device]
	absence       absence
	forDur        time.Duration
	threshold     int
	window        time.Duration
	resolveAfter  time.Duration
	msg           *template.Template
	readsTime     bool // when or resolve reads the event's time
	// whenFast, resolveFast evaluate when/resolve without the VM when they have a
	// common shape (fastexpr.Compile); nil otherwise.
	whenFast, resolveFast fastexpr.Expr
}

func compileRule(spec *ruleSpec, key string, form Form, errs *cfgerr.List) *compiled {
	c := &compiled{forDur: spec.For}
	c.readsTime = (spec.When != "" && readsTime(spec.When)) || (spec.Resolve != "" && readsTime(spec.Resolve))
	if spec.Count != nil {
		c.threshold, c.window = spec.Count.Threshold, spec.Count.Window
	}
	var whenTypes, resolveTypes map[string]bool
	whenOK, resolveOK := spec.When == "", spec.Resolve == ""
	if spec.When != "" {
		p, err := expr.Compile(spec.When, exprOptions...)
		if err != nil {
			errs.Add(cfgerr.Join(key, "when"), "%s", exprErr(err))
		}
		c.when = p
		if err == nil {
			c.whenFast = fastexpr.Compile(spec.When)
		}
		whenTypes, whenOK = inferTypes(spec.When)
	}
	if spec.Resolve != "" {
		p, err := expr.Compile(spec.Resolve, exprOptions...)
		if err != nil {
			errs.Add(cfgerr.Join(key, "resolve"), "%s", exprErr(err))
		}
		c.resolve = p
		if err == nil {
			c.resolveFast = fastexpr.Compile(spec.Resolve)
		}
		resolveTypes, resolveOK = inferTypes(spec.Resolve)
	}
	// The event types the rule can react to, for the engine's index.
	switch {
	case len(spec.Select.Types) > 0:
		c.types = set(spec.Select.Types)
	case spec.When != "" && whenOK && resolveOK:
		c.types = map[string]bool{}
		for t := range whenTypes {
			c.types[t] = true
		}
		for t := range resolveTypes {
			c.types[t] = true
		}
	}
	msg := spec.Message
	if msg == "" {
		msg = defaultMessage
	}
	t, err := template.New(spec.Name).Funcs(templateFuncs).Option("missingkey=default").Parse(msg)
	if err != nil {
		errs.Add(cfgerr.Join(key, "message"), "%s", strings.TrimPrefix(err.Error(), "template: "))
		return nil
	}
	// Execute once with sample data so unknown names (.Devce) fail at load time.
	sample := MessageData{Rule: spec.Name, Firing: true, Fields: map[string]any{}, Labels: map[string]string{}, At: time.Unix(0, 0)}
	if err := t.Execute(io.Discard, &sample); err != nil {
		errs.Add(cfgerr.Join(key, "message"), "%s", strings.TrimPrefix(err.Error(), "template: "))
		return nil
	}
	c.msg = t
	if len(spec.GroupBy) == 0 && spec.GroupBy == nil {
		c.byDevice = true
	} else if len(spec.GroupBy) == 1 && spec.GroupBy[0] == "device" {
		c.byDevice = true
	}
	if errs.Len() > 0 {
		return nil
	}
	return c
}

func exprErr(err error) string {
	// expr's errors carry a caret drawing over several lines; keep it, indented.
	return strings.ReplaceAll(strings.TrimSpace(err.Error()), "\n", "\n    ")
}

// inferTypes finds the event types an expression can be true for, when its top-level
// conjunction constrains `type` (type == "x", type in ["x", "y"]).
func inferTypes(src string) (map[string]bool, bool) {
	tree, err := parser.Parse(src)
	if err != nil {
		return nil, false
	}
	return typesOf(tree.Node)
}

func typesOf(n ast.Node) (map[string]bool, bool) {
	b, ok := n.(*ast.BinaryNode)
	if !ok {
		return nil, false
	}
	switch b.Operator {
	case "&&", "and":
		l, lok := typesOf(b.Left)
		r, rok := typesOf(b.Right)
		switch {
		case lok && rok:
			out := map[string]bool{}
			for t := range l {
				if r[t] {
					out[t] = true
				}
			}
			return out, true
		case lok:
			return l, true
		case rok:
			return r, true
		}
	case "||", "or":
		l, lok := typesOf(b.Left)
		r, rok := typesOf(b.Right)
		if lok && rok {
			for t := range r {
				l[t] = true
			}
			return l, true
		}
	case "==":
		if isTypeIdent(b.Left) {
			if s, ok := b.Right.(*ast.StringNode); ok {
				return map[string]bool{s.Value: true}, true
			}
		}
		if isTypeIdent(b.Right) {
			if s, ok := b.Left.(*ast.StringNode); ok {
				return map[string]bool{s.Value: true}, true
			}
		}
	case "in":
		if a, ok := b.Right.(*ast.ArrayNode); ok && isTypeIdent(b.Left) {
			out := map[string]bool{}
			for _, e := range a.Nodes {
				s, ok := e.(*ast.StringNode)
				if !ok {
					return nil, false
				}
				out[s.Value] = true
			}
			return out, true
		}
	}
	return nil, false
}

func isTypeIdent(n ast.Node) bool {
	id, ok := n.(*ast.IdentifierNode)
	return ok && id.Value == "type"
}

const defaultMessage = `{{if .Description}}{{.Description}}{{else}}{{.Rule}}{{end}}{{with .Device.Location}} · {{.}}{{end}}{{with .Device.Name}} ({{.}}){{end}}`

// MessageData is what a rule's message template sees.
type MessageData struct {
	Rule        string
	Description string
	Severity    Severity
	Key         string
	Firing      bool      // false when rendering the resolve message
	Reason      string    // why it resolved
	At          time.Time // in the site's time zone
	Labels      map[string]string
	Device      MessageDevice
	Type        string         // the event type ("" for timer changes)
	Fields      map[string]any // the event's fields (empty for timer changes)
	Count       int            // count rules: events in the window when it fired
	For         time.Duration  // for rules: the hold time; absence: the silence so far
}

// MessageDevice describes the device in a message.
type MessageDevice struct {
	ID, Name, Kind, Zone, ZoneName, Location string
	Labels                                   map[string]string
}

var templateFuncs = template.FuncMap{
	// pct renders 0.91 as "91%".
	"pct": func(v any) string {
		switch x := v.(type) {
		case float64:
			return fmt.Sprintf("%.0f%%", x*100)
		case int64:
			return fmt.Sprintf("%d%%", x*100)
		}
		return fmt.Sprint(v)
	},
	// clock renders a time as 15:04:05.
	"clock": func(t time.Time) string { return t.Format("15:04:05") },
	// datetime renders a time as 2006-01-02 15:04:05.
	"datetime": func(t time.Time) string { return t.Format(time.DateTime) },
	// field returns a field or "" when absent.
	"field": func(f map[string]any, name string) any {
		if v, ok := f[name]; ok {
			return v
		}
		return ""
	},
}
