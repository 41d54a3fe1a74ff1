// Package fastexpr runs rule expressions of the common shapes as Go closures over the
// unboxed event, without expr's VM and without allocating. Compile returns nil for an
// expression of any other shape; the rule engine runs those on the VM. Each shape keeps
// the meaning expr gives it with the rule engine's functions has, num and str (the rules
// package's tests compare the two on events carrying every field type).
package fastexpr

import (
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"

	"github.com/campusguard/campusguard/event"
	"github.com/campusguard/campusguard/site"
)

// In is what a fast expression reads: the event and its device, unboxed.
type In struct {
	Event  event.Event
	Device *site.Device
	Kind   string // the device's kind, else the event's
}

// Expr evaluates an expression of a common shape directly in Go, with the VM's
// result and without allocating; nil when the expression has another shape (the VM
// runs it).
type Expr func(in *In) bool

// Compile compiles code into an Expr when every part of it is one of: and, or,
// not; == and != between a string of the event or device (type, kind, site, source,
// device.id/kind/zone/location/name, device.labels.x, str(...)), fields.x and
// literals; in [literals]; <, <=, >, >= between num(...) and number literals; has(...).
// Each part keeps expr's meaning (runtime.Equal for ==: numbers compare across int and
// float, other types only with their own type; a missing field is nil).
func Compile(code string) Expr {
	tree, err := parser.Parse(code)
	if err != nil {
		return nil
	}
	return fastBool(tree.Node)
}

func fastBool(n ast.Node) Expr {
	switch x := n.(type) {
	case *ast.BoolNode:
		v := x.Value
		return func(*In) bool { return v }
	case *ast.UnaryNode:
		if x.Operator != "not" && x.Operator != "!" {
			return nil
		}
		f := fastBool(x.Node)
		if f == nil {
			return nil
		}
		return func(in *In) bool { return !f(in) }
	case *ast.CallNode:
		id, ok := x.Callee.(*ast.IdentifierNode)
		if !ok || id.Value != "has" || len(x.Arguments) != 1 {
			return nil
		}
		if v := fastAny(x.Arguments[0]); v != nil {
			return func(in *In) bool { return v(in) != nil }
		}
		if s := fastString(x.Arguments[0]); s != nil {
			return func(*In) bool { return true } // a string is never nil
		}
		return nil
	case *ast.BinaryNode:
		return fastBinary(x)
	}
	return nil
}

// fastEqual compiles a == lit, where lit is a literal: nil when the pair is another
// shape.
func fastEqual(a, lit ast.Node) Expr {
	switch l := lit.(type) {
	case *ast.StringNode:
		want := l.Value
		if s := fastString(a); s != nil {
			return func(in *In) bool { return s(in) == want }
		}
		if v := fastAny(a); v != nil {
			return func(in *In) bool { got, ok := v(in).(string); return ok && got == want }
		}
	case *ast.BoolNode:
		want := l.Value
		if v := fastAny(a); v != nil {
			return func(in *In) bool { got, ok := v(in).(bool); return ok && got == want }
		}
	case *ast.NilNode:
		if v := fastAny(a); v != nil {
			return func(in *In) bool { return v(in) == nil }
		}
		if s := fastString(a); s != nil {
			return func(*In) bool { return false }
		}
	case *ast.IntegerNode, *ast.FloatNode:
		want := numLit(l)
		if v := fastAny(a); v != nil {
			return func(in *In) bool { f, ok := number(v(in)); return ok && f == want }
		}
	default:
		// string == string of the event or device
		if sa, sb := fastString(a), fastString(lit); sa != nil && sb != nil {
			return func(in *In) bool { return sa(in) == sb(in) }
		}
	}
	return nil
}

func numLit(n ast.Node) float64 {
	switch x := n.(type) {
	case *ast.IntegerNode:
		return float64(x.Value)
	case *ast.FloatNode:
		return x.Value
	}
	return 0
}

// number is a numeric field value as float64 (the types events carry).
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int64:
		return float64(x), true
	case int:
		return float64(x), true
	}
	return 0, false
}

// fastString compiles a node whose value is a string of the event or the device.
func fastString(n ast.Node) func(*In) string {
	switch x := n.(type) {
	case *ast.IdentifierNode:
		switch x.Value {
		case "type":
			return func(in *In) string { return in.Event.Type }
		case "kind":
			return func(in *In) string { return in.Kind }
		case "site":
			return func(in *In) string { return in.Event.Site }
		case "source":
			return func(in *In) string { return in.Event.Source }
		}
	case *ast.MemberNode:
		base, ok := x.Node.(*ast.IdentifierNode)
		prop, pok := x.Property.(*ast.StringNode)
		if pok && ok && base.Value == "device" && !x.Optional {
			switch prop.Value {
			case "id":
				return func(in *In) string { return in.Device.ID }
			case "kind":
				return func(in *In) string { return string(in.Device.Kind) }
			case "zone":
				return func(in *In) string { return in.Device.Zone }
			case "location":
				return func(in *In) string { return in.Device.Location }
			case "name":
				return func(in *In) string { return in.Device.Name }
			}
		}
		// device.labels.x: a missing label is "" (the map's zero value).
		if inner, ok := x.Node.(*ast.MemberNode); ok && pok && !x.Optional && !inner.Optional {
			b, bok := inner.Node.(*ast.IdentifierNode)
			p, ppok := inner.Property.(*ast.StringNode)
			if bok && ppok && b.Value == "device" && p.Value == "labels" {
				key := prop.Value
				return func(in *In) string { return in.Device.Labels[key] }
			}
		}
	case *ast.CallNode:
		if id, ok := x.Callee.(*ast.IdentifierNode); ok && id.Value == "str" && len(x.Arguments) == 1 {
			if v := fastAny(x.Arguments[0]); v != nil {
				return func(in *In) string { s, _ := v(in).(string); return s }
			}
			if s := fastString(x.Arguments[0]); s != nil {
				return s
			}
		}
	}
	return nil
}

// fastAny compiles fields.x (or fields["x"]): the field's value, nil when absent.
func fastAny(n ast.Node) func(*In) any {
	m, ok := n.(*ast.MemberNode)
	if !ok || m.Optional {
		return nil
	}
	base, bok := m.Node.(*ast.IdentifierNode)
	prop, pok := m.Property.(*ast.StringNode)
	if !bok || !pok || base.Value != "fields" {
		return nil
	}
	key := prop.Value
	return func(in *In) any { return in.Event.Fields[key] }
}

// fastNum compiles num(fields.x[, default]) and number literals.
func fastNum(n ast.Node) func(*In) float64 {
	switch x := n.(type) {
	case *ast.IntegerNode, *ast.FloatNode:
		v := numLit(x)
		return func(*In) float64 { return v }
	case *ast.UnaryNode:
		if x.Operator != "-" {
			return nil
		}
		if f := fastNum(x.Node); f != nil {
			return func(in *In) float64 { return -f(in) }
		}
	case *ast.CallNode:
		id, ok := x.Callee.(*ast.IdentifierNode)
		if !ok || id.Value != "num" || len(x.Arguments) < 1 || len(x.Arguments) > 2 {
			return nil
		}
		v := fastAny(x.Arguments[0])
		if v == nil {
			return nil
		}
		def := 0.0
		if len(x.Arguments) == 2 {
			switch d := x.Arguments[1].(type) {
			case *ast.IntegerNode, *ast.FloatNode:
				def = numLit(d)
			default:
				return nil
			}
		}
		return func(in *In) float64 {
			if f, ok := number(v(in)); ok {
				return f
			}
			return def
		}
	}
	return nil
}

// fastBinary compiles and, or, ==, !=, in [literals] and number comparisons.
func fastBinary(x *ast.BinaryNode) Expr {
	switch x.Operator {
	case "&&", "and", "||", "or":
		l, r := fastBool(x.Left), fastBool(x.Right)
		if l == nil || r == nil {
			return nil
		}
		if x.Operator == "&&" || x.Operator == "and" {
			return func(in *In) bool { return l(in) && r(in) }
		}
		return func(in *In) bool { return l(in) || r(in) }
	case "==", "!=":
		eq := fastEqual(x.Left, x.Right)
		if eq == nil {
			eq = fastEqual(x.Right, x.Left)
		}
		if eq == nil {
			return nil
		}
		if x.Operator == "!=" {
			return func(in *In) bool { return !eq(in) }
		}
		return eq
	case "in":
		arr, ok := x.Right.(*ast.ArrayNode)
		if !ok {
			return nil
		}
		var ors []Expr
		for _, el := range arr.Nodes {
			eq := fastEqual(x.Left, el)
			if eq == nil {
				return nil
			}
			ors = append(ors, eq)
		}
		return func(in *In) bool {
			for _, f := range ors {
				if f(in) {
					return true
				}
			}
			return false
		}
	case "<", "<=", ">", ">=":
		l, r := fastNum(x.Left), fastNum(x.Right)
		if l == nil || r == nil {
			return nil
		}
		switch x.Operator {
		case "<":
			return func(in *In) bool { return l(in) < r(in) }
		case "<=":
			return func(in *In) bool { return l(in) <= r(in) }
		case ">":
			return func(in *In) bool { return l(in) > r(in) }
		default:
			return func(in *In) bool { return l(in) >= r(in) }
		}
	}
	return nil
}
