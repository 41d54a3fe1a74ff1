package payload

import (
	"encoding/json"
	"errors"
	"strconv"
)

// A hand-rolled JSON scanner for device payloads: one pass over the bytes validates
// the document as encoding/json would and keeps only the values at the mapping's
// paths, without building a map of everything. Semantics follow json.Unmarshal into
// map[string]any: the top level must be an object; the last of duplicate keys wins;
// numbers are float64 (out of range is an error); strings are unescaped (invalid
// surrogates become U+FFFD); null counts as absent; objects and arrays are not scalars.

// maxDepth is encoding/json's nesting limit.
const maxDepth = 10000

// errSyntax is any malformed document; Decode reports it as ErrNotJSON.
var errSyntax = errors.New("json syntax")

// nonScalar stands for an object or array found at a path.
type nonScalar struct{}

// scanPaths are the dotted paths a decoder reads, compiled for the scanner.
type scanPaths struct {
	paths [][]string
}

// add registers path and returns its index.
func (sp *scanPaths) add(path []string) int {
	for i, p := range sp.paths {
		if equalPath(p, path) {
			return i
		}
	}
	sp.paths = append(sp.paths, path)
	return len(sp.paths) - 1
}

func equalPath(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// scanned holds the values found at the paths of one document.
type scanned struct {
	vals  []any
	found []bool
}

// get returns the value at path index i; null and missing are absent.
func (s *scanned) get(i int) (any, bool) {
	if i < 0 || !s.found[i] {
		return nil, false
	}
	return s.vals[i], s.vals[i] != nil
}

type scanner struct {
	b     []byte
	i     int
	paths [][]string
	out   *scanned
	// cur is the key path of the value being scanned (kept only while it leads to a
	// wanted path; values off every path are only validated).
	cur []string
}

// scanDoc validates payload and collects the values at sp's paths.
func scanDoc(payload []byte, sp *scanPaths, out *scanned) error {
	n := len(sp.paths)
	if cap(out.vals) < n {
		out.vals, out.found = make([]any, n), make([]bool, n)
	}
	out.vals, out.found = out.vals[:n], out.found[:n]
	s := scanner{b: payload, paths: sp.paths, out: out}
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != '{' {
		return errSyntax
	}
	// An empty path names the document itself.
	for i, p := range sp.paths {
		if len(p) == 0 {
			out.vals[i], out.found[i] = nonScalar{}, true
		}
	}
	if err := s.value(0, true); err != nil {
		return err
	}
	s.ws()
	if s.i != len(s.b) {
		return errSyntax
	}
	return nil
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// match returns the paths equal to the current key path and whether it is a proper
// prefix of some path.
func (s *scanner) match() (exact []int, prefix bool) {
	for i, p := range s.paths {
		if len(p) < len(s.cur) || len(p) == 0 {
			continue
		}
		if !equalPath(p[:len(s.cur)], s.cur) {
			continue
		}
		if len(p) == len(s.cur) {
			exact = append(exact, i)
		} else {
			prefix = true
		}
	}
	return exact, prefix
}

// clearUnder forgets the values found under the current key path: a later
// duplicate key replaces the whole earlier value, as in encoding/json.
func (s *scanner) clearUnder() {
	for i, p := range s.paths {
		if len(p) >= len(s.cur) && len(p) > 0 && equalPath(p[:len(s.cur)], s.cur) {
			s.out.vals[i], s.out.found[i] = nil, false
		}
	}
}

// value scans one value; track says the current key path leads to a path.
func (s *scanner) value(depth int, track bool) error {
	if depth > maxDepth {
		return errSyntax
	}
	s.ws()
	if s.i >= len(s.b) {
		return errSyntax
	}
	var exact []int
	prefix := false
	if track && len(s.cur) > 0 {
		exact, prefix = s.match()
	} else if track {
		prefix = true // the document itself
	}
	switch c := s.b[s.i]; {
	case c == '{':
		return s.object(depth, exact, prefix)
	case c == '[':
		return s.array(depth, exact)
	case c == '"':
		if len(exact) == 0 {
			return s.skipStr()
		}
		v, err := s.str()
		if err != nil {
			return err
		}
		s.put(exact, v)
		return nil
	case c == 't':
		return s.lit("true", exact, true)
	case c == 'f':
		return s.lit("false", exact, false)
	case c == 'n':
		return s.lit("null", exact, nil)
	case c == '-' || (c >= '0' && c <= '9'):
		return s.num(exact)
	}
	return errSyntax
}

// object scans an object at s.i (its opening brace); with prefix its keys are read and
// followed down the paths.
func (s *scanner) object(depth int, exact []int, prefix bool) error {
	return s.container(exact, '}', func() error { return s.member(depth, prefix) })
}

// container scans the members or elements of an object or array at s.i (its opening
// byte) up to closing, each with item; the container itself is not a scalar.
func (s *scanner) container(exact []int, closing byte, item func() error) error {
	s.i++
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == closing {
		s.i++
		s.put(exact, nonScalar{})
		return nil
	}
	for {
		if err := item(); err != nil {
			return err
		}
		more, err := s.next(closing)
		if err != nil {
			return err
		}
		if !more {
			break
		}
	}
	s.put(exact, nonScalar{})
	return nil
}

// member scans one "key": value pair of an object.
func (s *scanner) member(depth int, prefix bool) error {
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return errSyntax
	}
	var key string
	var err error
	if prefix {
		key, err = s.str()
	} else {
		err = s.skipStr()
	}
	if err != nil {
		return err
	}
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != ':' {
		return errSyntax
	}
	s.i++
	if !prefix {
		return s.value(depth+1, false)
	}
	s.cur = append(s.cur, key)
	s.clearUnder()
	err = s.value(depth+1, true)
	s.cur = s.cur[:len(s.cur)-1]
	return err
}

// array scans an array at s.i (its opening bracket); nothing in it is on a path.
func (s *scanner) array(depth int, exact []int) error {
	return s.container(exact, ']', func() error { return s.value(depth+1, false) })
}

// next steps over the comma (more follows) or the closing byte after a member or
// element.
func (s *scanner) next(closing byte) (more bool, err error) {
	s.ws()
	if s.i >= len(s.b) {
		return false, errSyntax
	}
	switch s.b[s.i] {
	case ',':
		s.i++
		return true, nil
	case closing:
		s.i++
		return false, nil
	}
	return false, errSyntax
}

func (s *scanner) put(idx []int, v any) {
	for _, i := range idx {
		s.out.vals[i], s.out.found[i] = v, true
	}
}

func (s *scanner) lit(word string, exact []int, v any) error {
	if len(s.b)-s.i < len(word) || string(s.b[s.i:s.i+len(word)]) != word {
		return errSyntax
	}
	s.i += len(word)
	s.put(exact, v)
	return nil
}

// num scans a number by the JSON grammar; its float64 is parsed when a path wants it
// or when it could be out of range (encoding/json fails the document then).
func (s *scanner) num(exact []int) error {
	start := s.i
	if s.b[s.i] == '-' {
		s.i++
	}
	if s.i >= len(s.b) {
		return errSyntax
	}
	switch {
	case s.b[s.i] == '0':
		s.i++
	case s.b[s.i] >= '1' && s.b[s.i] <= '9':
		for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
			s.i++
		}
	default:
		return errSyntax
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		d := s.i
		for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
			s.i++
		}
		if s.i == d {
			return errSyntax
		}
	}
	exp := false
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		exp = true
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		d := s.i
		for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
			s.i++
		}
		if s.i == d {
			return errSyntax
		}
	}
	raw := s.b[start:s.i]
	if len(exact) == 0 && !exp && len(raw) < 300 {
		return nil // cannot be out of range
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil {
		return errSyntax
	}
	s.put(exact, f)
	return nil
}

// skipStr scans a string it does not need.
func (s *scanner) skipStr() error {
	s.i++ // opening quote
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return nil
		case c == '\\':
			if err := s.escape(); err != nil {
				return err
			}
		case c < 0x20:
			return errSyntax
		default:
			s.i++
		}
	}
	return errSyntax
}

// escape checks the escape sequence at s.i (a backslash) and steps over it.
func (s *scanner) escape() error {
	if s.i+1 >= len(s.b) {
		return errSyntax
	}
	switch s.b[s.i+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		s.i += 2
		return nil
	case 'u':
		if s.i+6 > len(s.b) {
			return errSyntax
		}
		for _, h := range s.b[s.i+2 : s.i+6] {
			if !isHex(h) {
				return errSyntax
			}
		}
		s.i += 6
		return nil
	}
	return errSyntax
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// str scans a string and returns its value; one with escapes is unescaped by
// encoding/json itself (rare in device payloads), so the result is the same.
func (s *scanner) str() (string, error) {
	start := s.i
	s.i++
	escaped := false
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			if !escaped {
				return string(s.b[start+1 : s.i-1]), nil
			}
			var v string
			if err := json.Unmarshal(s.b[start:s.i], &v); err != nil {
				return "", errSyntax
			}
			return v, nil
		case c == '\\':
			escaped = true
			if err := s.escape(); err != nil {
				return "", err
			}
		case c < 0x20:
			return "", errSyntax
		default:
			s.i++
		}
	}
	return "", errSyntax
}
