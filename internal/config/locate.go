package config

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/campusguard/campusguard/cfgerr"
)

// loc is where a key was written.
type loc struct {
	file string
	line int
}

// index maps key paths ("devices[3].zone", lower-case as viper sees them) to the file
// and line that set them, across the main file and conf.d files (list items appended
// by later files continue the numbering of earlier ones).
type index struct {
	at     map[string]loc
	counts map[string]int // items seen so far per list path
}

func newIndex() *index { return &index{at: map[string]loc{}, counts: map[string]int{}} }

// add walks one file's document.
func (ix *index) add(file string, doc *yaml.Node) {
	if doc == nil {
		return
	}
	n := doc
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	local := map[string]int{}
	ix.walk(file, "", n, local)
	for k, v := range local {
		ix.counts[k] += v
	}
}

func (ix *index) walk(file, path string, n *yaml.Node, local map[string]int) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := cfgerr.Join(path, strings.ToLower(k.Value))
			if _, ok := ix.at[p]; !ok {
				ix.at[p] = loc{file, k.Line}
			}
			ix.walk(file, p, v, local)
		}
	case yaml.SequenceNode:
		base := ix.counts[path]
		for i, c := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, base+i)
			ix.at[p] = loc{file, c.Line}
			ix.walk(file, p, c, local)
		}
		local[path] = len(n.Content)
	case yaml.AliasNode:
		if n.Alias != nil {
			ix.walk(file, path, n.Alias, local)
		}
	}
}

// locate finds the file and line of key, or of its nearest written parent.
func (ix *index) locate(key string) (loc, bool) {
	k := strings.ToLower(key)
	for k != "" {
		if l, ok := ix.at[k]; ok {
			return l, true
		}
		i := strings.LastIndexAny(k, ".[")
		if i < 0 {
			break
		}
		k = k[:i]
	}
	return loc{}, false
}

// fill sets File and Line on every error that has none; errors for keys that no
// file wrote are placed in the main file.
func (ix *index) fill(errs *cfgerr.List, mainFile string) {
	for _, e := range errs.Errs {
		if e.File != "" {
			continue
		}
		if l, ok := ix.locate(e.Key); ok {
			e.File, e.Line = l.file, l.line
		} else {
			e.File = mainFile
		}
	}
	errs.Sort()
}
