package brand

import (
	"cmp"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

// Problem is one thing wrong with a brand document, in the document's terms:
// the key's path and, for a document read from text, its line.
type Problem struct {
	File string // the document's file (ReadFile); empty for Parse and New
	Line int    // 1-based; 0 when unknown (a Document built in Go)
	// Path is the key, as the document spells it: "brands[1].from.address";
	// empty for the document as a whole.
	Path    string
	Message string
	// covers is the path of a key this problem accounts for: the known
	// key a misspelt one was meant to be, whose absence is not reported
	// again.
	covers string
	column int // orders problems on one line
}

func (p Problem) String() string {
	var b strings.Builder
	switch {
	case p.File != "" && p.Line > 0:
		fmt.Fprintf(&b, "%s:%d: ", p.File, p.Line)
	case p.File != "":
		b.WriteString(p.File + ": ")
	case p.Line > 0:
		fmt.Fprintf(&b, "line %d: ", p.Line)
	}
	if p.Path != "" {
		b.WriteString(p.Path + ": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// Brand returns the index of the brand the problem is in, or -1 for one
// about the document as a whole (default, brands).
func (p Problem) Brand() int {
	rest, ok := strings.CutPrefix(p.Path, "brands[")
	if !ok {
		return -1
	}
	n, _, ok := strings.Cut(rest, "]")
	if i, err := strconv.Atoi(n); ok && err == nil {
		return i
	}
	return -1
}

// Error is every problem of a brand document, in the document's order: one
// round of fixes, not one problem per run.
type Error struct {
	Problems []Problem
	// Document is as much of the document as could be read, so that a
	// caller can check what depends on it (each brand's templates) in the
	// same round. Relative template directories are resolved as ReadFile
	// resolves them.
	Document Document
}

// Error lists the problems one a line.
func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// sortProblems puts problems in the document's order (by line; those
// without a line keep their place before the first that has one), so that
// the same document always reads the same.
func sortProblems(ps []Problem) {
	slices.SortStableFunc(ps, func(a, b Problem) int { return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.column, b.column)) })
}

// positions maps each path of a parsed document to its line and column.
type positions map[string][2]int

// at returns the line and column of path, or of its nearest ancestor that
// has one (a missing key is reported where its parent is).
func (pos positions) at(path string) (int, int) {
	for {
		if l, ok := pos[path]; ok {
			return l[0], l[1]
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			l := pos[""]
			return l[0], l[1]
		}
		path = path[:i]
	}
}

func (pos positions) line(path string) int { l, _ := pos.at(path); return l }

// decode reads the YAML (or JSON) text into a Document, checking its shape
// against Document's own fields: every unknown or misspelt key and every
// value of the wrong kind is a problem, with a suggestion where a known key
// is close. What is well formed is decoded, so that the values can be
// checked in the same round.
// The document's values are checked only when ok: not when the text does
// not parse or is not a mapping.
func decode(b []byte) (_ Document, _ positions, _ []Problem, ok bool) {
	var d Document
	pos := positions{}
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		line, msg := yamlSyntax(err)
		return d, pos, []Problem{{Line: line, Message: "not YAML or JSON: " + msg}}, false
	}
	if root.Kind == 0 || len(root.Content) == 0 {
		return d, pos, []Problem{{Message: emptyDocument}}, false
	}
	doc := root.Content[0]
	pos[""] = [2]int{doc.Line, doc.Column}
	var probs []Problem
	walk(doc, reflect.TypeFor[Document](), "", pos, &probs)
	if doc.Kind != yaml.MappingNode {
		if len(probs) == 0 { // null: nothing but, say, an anchor or a comment
			probs = []Problem{{Line: doc.Line, Message: emptyDocument}}
		}
		return d, pos, probs, false
	}
	// Values of the wrong kind were reported above; the rest decodes.
	prune(doc, reflect.TypeFor[Document]())
	if err := doc.Decode(&d); err != nil && len(probs) == 0 {
		line, msg := yamlSyntax(err)
		probs = append(probs, Problem{Line: line, Message: msg})
	}
	return d, pos, probs, true
}

const emptyDocument = "the document is empty (want default: NAME and brands: [...], docs/brands.md)"

// yamlSyntax splits "yaml: line 3: did not find expected key".
func yamlSyntax(err error) (int, string) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if m := yamlLine().FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n, m[2]
	}
	return 0, msg
}

var yamlLine = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(?:unmarshal errors:\s*)?line (\d+): (.*)$`) })

// walk checks node against t (a struct, a slice or a string) and records
// each path's line.
func walk(n *yaml.Node, t reflect.Type, path string, pos positions, probs *[]Problem) {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	pos[path] = [2]int{n.Line, n.Column}
	fail := func(format string, args ...any) {
		*probs = append(*probs, Problem{Line: n.Line, column: n.Column, Path: path, Message: fmt.Sprintf(format, args...)})
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // an empty value is the zero value, as if the key were absent
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			what := "must be"
			if path == "" {
				what = "the document must be"
			}
			fail("%s a mapping (keys: %s), not %s", what, keyList(t), kindName(n))
			return
		}
		present := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			present[n.Content[i].Value] = true
		}
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Tag == "!!merge" {
				// "<<: *anchor" brings in the anchor's keys: they were
				// checked where the anchor is, and are not reported twice.
				var again []Problem
				for _, m := range mergeSources(v) {
					walk(m, t, path, positions{}, &again)
				}
				continue
			}
			kp := join(path, k.Value)
			f, ok := field(t, k.Value)
			switch {
			case !ok:
				p := Problem{Line: k.Line, column: k.Column, Path: kp, Message: "unknown key"}
				if s := suggest(k.Value, keys(t)); s != "" {
					p.Message += fmt.Sprintf("; did you mean %q?", s)
					if !present[s] {
						p.covers = join(path, s)
					}
				}
				p.Message += " (known keys: " + keyList(t) + ")"
				*probs = append(*probs, p)
				continue
			case seen[k.Value]:
				*probs = append(*probs, Problem{Line: k.Line, column: k.Column, Path: kp, Message: "is given twice"})
				continue
			}
			seen[k.Value] = true
			walk(v, f.Type, kp, pos, probs)
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			fail("must be a list, not %s", kindName(n))
			return
		}
		for i, c := range n.Content {
			walk(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i), pos, probs)
		}
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			fail("must be a single value, not %s", kindName(n))
		}
	}
}

// prune removes from node what walk reported (unknown keys, values of the
// wrong kind), so that the rest decodes.
func prune(n *yaml.Node, t reflect.Type) bool {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return true
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return false
		}
		kept := n.Content[:0]
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Tag == "!!merge" {
				for _, m := range mergeSources(v) {
					prune(m, t)
				}
				kept = append(kept, k, v)
				continue
			}
			if f, ok := field(t, k.Value); ok && !seen[k.Value] && prune(v, f.Type) {
				kept = append(kept, k, v)
			}
			seen[k.Value] = true
		}
		n.Content = kept
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return false
		}
		for _, c := range n.Content {
			if !prune(c, t.Elem()) {
				// Keep the list's indexes: an element of the wrong kind
				// becomes an empty one rather than shifting the others.
				*c = yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null"}
			}
		}
	case reflect.String:
		return n.Kind == yaml.ScalarNode
	}
	return true
}

// mergeSources are the mappings a merge key names: one alias, or a list.
func mergeSources(v *yaml.Node) []*yaml.Node {
	if v.Kind == yaml.SequenceNode {
		return v.Content
	}
	return []*yaml.Node{v}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return strconv.Quote(n.Value)
	}
	return "empty"
}

// keys are the YAML keys of struct t, in its fields' order.
func keys(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		if name := yamlName(t.Field(i)); name != "" {
			out = append(out, name)
		}
	}
	return out
}

func keyList(t reflect.Type) string { return strings.Join(keys(t), ", ") }

func field(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		if f := t.Field(i); yamlName(f) == key {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func yamlName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "-" || !f.IsExported() {
		return ""
	}
	return name
}

// suggest returns the known key closest to a misspelt one: the same but
// for case, or within two edits; "" if none is close.
func suggest(key string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		if strings.EqualFold(k, key) {
			return k
		}
		if d := distance(strings.ToLower(key), strings.ToLower(k)); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

// distance is the Levenshtein distance between a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := 1
			if a[i-1] == b[j-1] {
				c = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+c)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
