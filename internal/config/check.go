package config

import (
	"net"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/campusguard/campusguard/cfgerr"
)

// Accepted forms, appended to a problem about a value of the wrong form so the
// operator sees what would be right.
const (
	durationForms = "a duration is a number with a unit: ns, us, ms, s, m, h, e.g. 90s, 5m, 1h30m"
	timezoneForms = "a time zone is an IANA name such as Asia/Shanghai"
	listenForms   = "host:port, e.g. 127.0.0.1:9810"
)

// dedupe reports every key set twice in one mapping of a file at the line of its second
// setting, and returns the tree with the later settings dropped (the first stays), so
// the rest of the file is still decoded and checked. Aliases are not followed: a
// duplicate inside an anchor is reported where the anchor is written.
func dedupe(file string, n *yaml.Node, path string, errs *cfgerr.List) *yaml.Node {
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		var out *yaml.Node
		for i, c := range n.Content {
			p := path
			if n.Kind == yaml.SequenceNode {
				p = cfgerr.Index(path, i)
			}
			if d := dedupe(file, c, p, errs); d != c {
				if out == nil {
					cp := *n
					cp.Content = append([]*yaml.Node(nil), n.Content...)
					out = &cp
				}
				out.Content[i] = d
			}
		}
		if out != nil {
			return out
		}
		return n
	case yaml.MappingNode:
		first := map[string]int{}
		changed := false
		content := make([]*yaml.Node, 0, len(n.Content))
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			name := strings.ToLower(k.Value)
			p := cfgerr.Join(path, name)
			if k.Kind == yaml.ScalarNode && k.Tag != "!!merge" {
				if line, dup := first[name]; dup {
					errs.AddAt(file, k.Line, p, "set twice in this mapping (first at line %d); keep one", line)
					changed = true
					continue
				}
				first[name] = k.Line
			}
			d := dedupe(file, v, p, errs)
			if d != v {
				changed = true
			}
			content = append(content, k, d)
		}
		if !changed {
			return n
		}
		cp := *n
		cp.Content = content
		return &cp
	}
	return n
}

// hint appends the accepted forms to a problem about a value of the wrong form.
func hint(e *cfgerr.Error) {
	m := e.Msg
	switch {
	case strings.Contains(m, "ns, us, ms, s, m, h"), strings.Contains(m, "IANA name"):
		return
	case strings.Contains(m, "unknown unit") || strings.Contains(m, "invalid duration") ||
		strings.Contains(m, "missing unit in duration") || strings.Contains(m, "a duration needs a unit"):
		e.Msg = m + "; " + durationForms
	case strings.Contains(m, "unknown time zone"):
		e.Msg = m + "; " + timezoneForms
	}
}

// checkHostPort checks an address to listen on or dial: host:port with a port from
// 1 to 65535 (0 too when listen is true: any free port).
func checkHostPort(errs *cfgerr.List, key, addr string, listen bool) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		errs.Add(key, "%q is not host:port (%s)", addr, listenForms)
		return
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		errs.Add(key, "%q: the port %q is not a number (%s)", addr, port, listenForms)
		return
	}
	lo := 1
	if listen {
		lo = 0
	}
	if n < lo || n > 65535 {
		errs.Add(key, "%q: port %d is out of range (%d to 65535)", addr, n, lo)
	}
}

// shadowed reports whether key is at or under one of the keys in set.
func shadowed(set map[string]bool, key string) bool {
	k := strings.ToLower(key)
	for k != "" {
		if set[k] {
			return true
		}
		i := strings.LastIndexAny(k, ".[")
		if i < 0 {
			return false
		}
		k = k[:i]
	}
	return false
}

// checkPortRange refuses a numeric port above 65535 in an address to dial.
func checkPortRange(errs *cfgerr.List, key, addr, port string) {
	if n, err := strconv.Atoi(port); err == nil && (n < 1 || n > 65535) {
		errs.Add(key, "%q: port %d is out of range (1 to 65535)", addr, n)
	}
}

// valueAt finds a scalar in the merged files by its key path ("devices[1].heartbeat").
func valueAt(m map[string]any, key string) (any, bool) {
	var cur any = m
	for _, part := range strings.Split(strings.ToLower(key), ".") {
		name, rest, _ := strings.Cut(part, "[")
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = mm[name]; !ok {
			return nil, false
		}
		for rest != "" {
			idx, after, ok := strings.Cut(rest, "]")
			if !ok {
				return nil, false
			}
			i, err := strconv.Atoi(idx)
			list, isList := cur.([]any)
			if err != nil || !isList || i < 0 || i >= len(list) {
				return nil, false
			}
			cur = list[i]
			rest = strings.TrimPrefix(after, "[")
		}
	}
	switch cur.(type) {
	case map[string]any, []any, nil:
		return nil, false
	}
	return cur, true
}
