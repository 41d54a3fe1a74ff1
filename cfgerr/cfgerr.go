// Package cfgerr is the error type every config validator in campusguard returns: a
// problem located by file, line and key path, so an installer can find and fix it.
//
// Validators know key paths ("devices[3].gpio.pin"); the config loader knows files and
// lines and fills them in (Locate) before the errors reach the operator.
package cfgerr

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Error is one config problem.
type Error struct {
	File string // file the key is in ("" until located)
	Line int    // 1-based line of the key (0 when unknown)
	Key  string // key path: "devices[2].zone", "rules[0].for"
	Msg  string // what is wrong, for a person
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
		b.WriteString(": ")
	}
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// List collects problems; a validator keeps going after the first one so an operator
// sees every mistake in one run of `campusguard check`.
type List struct {
	Errs []*Error
}

// Add records a problem at key.
func (l *List) Add(key, format string, args ...any) {
	l.Errs = append(l.Errs, &Error{Key: key, Msg: fmt.Sprintf(format, args...)})
}

// AddAt records a problem at a known file and line.
func (l *List) AddAt(file string, line int, key, format string, args ...any) {
	l.Errs = append(l.Errs, &Error{File: file, Line: line, Key: key, Msg: fmt.Sprintf(format, args...)})
}

// Merge appends other's problems, prefixing their keys with prefix (when not empty).
func (l *List) Merge(prefix string, other *List) {
	if other == nil {
		return
	}
	for _, e := range other.Errs {
		c := *e
		c.Key = Join(prefix, c.Key)
		l.Errs = append(l.Errs, &c)
	}
}

// Len is the number of problems.
func (l *List) Len() int { return len(l.Errs) }

// Err returns nil when there are no problems, else the list as an error.
func (l *List) Err() error {
	if l == nil || len(l.Errs) == 0 {
		return nil
	}
	return l
}

// Sort orders problems by file, line and key.
func (l *List) Sort() {
	sort.SliceStable(l.Errs, func(i, j int) bool {
		a, b := l.Errs[i], l.Errs[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Key < b.Key
	})
}

func (l *List) Error() string {
	lines := make([]string, len(l.Errs))
	for i, e := range l.Errs {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap exposes the individual problems to errors.Is / errors.As.
func (l *List) Unwrap() []error {
	out := make([]error, len(l.Errs))
	for i, e := range l.Errs {
		out[i] = e
	}
	return out
}

// Join builds a key path: Join("devices[2]", "zone") = "devices[2].zone".
func Join(prefix, key string) string {
	switch {
	case prefix == "":
		return key
	case key == "":
		return prefix
	case strings.HasPrefix(key, "["):
		return prefix + key
	}
	return prefix + "." + key
}

// Index builds "key[i]".
func Index(key string, i int) string { return fmt.Sprintf("%s[%d]", key, i) }

// As returns the list inside err, or a one-item list holding err.
func As(err error) *List {
	var l *List
	if errors.As(err, &l) {
		return l
	}
	var e *Error
	if errors.As(err, &e) {
		return &List{Errs: []*Error{e}}
	}
	return &List{Errs: []*Error{{Msg: err.Error()}}}
}
