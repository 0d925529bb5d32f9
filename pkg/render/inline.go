package render

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"text/template/parse"

	"golang.org/x/net/html"
)

// CSS inlining happens once, in New, on the template source rather than on
// every rendered email. inlineStyles parses its input as an HTML5 document, and
// the HTML5 tree builder rewrites what it does not like: text between table
// rows is moved in front of the table, characters are re-escaped, and so on.
// Template actions ({{if .X}}, {{.Code}}) are not HTML and would be mangled, so
// inlineCSS:
//
//  1. finds every action with text/template's own parser (so "}}" inside a
//     string literal cannot fool it) and swaps each for an inert token,
//  2. classifies each token with the HTML tokenizer: in an attribute value it
//     stays a bare alphanumeric word; in element content it becomes an HTML
//     comment, which the tree builder leaves in place everywhere (tables
//     included); in a tag or attribute name, a <style> block or a doctype it
//     is rejected,
//  3. runs inlineStyles (css.go), then swaps the tokens back and checks that every one
//     came back exactly once and in its original order.

// tokenPrefix starts every placeholder; a template that contains it is refused.
const tokenPrefix = "cogmailtpl"

// tokenLen is len(token(i)): the prefix, six digits and a closing "x".
const tokenLen = len(tokenPrefix) + 7

func token(i int) string { return fmt.Sprintf("%s%06dx", tokenPrefix, i) }

// Where a placeholder sits in the HTML.
const (
	inContent = iota + 1 // element content: becomes a comment
	inValue              // attribute value, comment, or raw text (<title>): stays a word
)

// inlineCSS returns src with the rules of its <style> blocks moved into style
// attributes (rules that cannot be inlined, like @media, stay in a <style> in
// the head). name labels errors.
func inlineCSS(name, src string) (string, error) {
	if strings.Contains(src, tokenPrefix) {
		return "", fmt.Errorf("%s: contains the reserved word %q", name, tokenPrefix)
	}
	spans, err := actionSpans(name, src)
	if err != nil {
		return "", err
	}
	if len(spans) >= 1e6 {
		return "", fmt.Errorf("%s: too many template actions", name)
	}
	var b strings.Builder
	prev := 0
	for i, sp := range spans {
		b.WriteString(src[prev:sp[0]])
		b.WriteString(token(i))
		prev = sp[1]
	}
	b.WriteString(src[prev:])
	tokenized := b.String()

	where, err := classify(name, tokenized, spans, src)
	if err != nil {
		return "", err
	}
	b.Reset()
	prev = 0
	for i, sp := range tokenIndexes(tokenized) {
		b.WriteString(tokenized[prev:sp])
		if where[i] == inContent {
			b.WriteString("<!--" + token(i) + "-->")
		} else {
			b.WriteString(token(i))
		}
		prev = sp + tokenLen
	}
	b.WriteString(tokenized[prev:])

	out, err := inlineStyles(b.String())
	if err != nil {
		return "", fmt.Errorf("%s: inline CSS: %w", name, err)
	}
	return restore(name, out, spans, src, where)
}

// actionSpans returns the byte ranges of src that are template actions: the
// complement of the template's text nodes. Adjacent actions form one range.
func actionSpans(name, src string) ([][2]int, error) {
	trees := map[string]*parse.Tree{}
	t := parse.New(name)
	t.Mode = parse.ParseComments | parse.SkipFuncCheck
	if _, err := t.Parse(src, "", "", trees); err != nil {
		return nil, err
	}
	var text [][2]int
	var walk func(parse.Node)
	walk = func(n parse.Node) {
		switch n := n.(type) {
		case *parse.ListNode:
			if n == nil {
				return
			}
			for _, c := range n.Nodes {
				walk(c)
			}
		case *parse.TextNode:
			text = append(text, [2]int{int(n.Pos), int(n.Pos) + len(n.Text)})
		case *parse.IfNode:
			walk(n.List)
			walk(n.ElseList)
		case *parse.RangeNode:
			walk(n.List)
			walk(n.ElseList)
		case *parse.WithNode:
			walk(n.List)
			walk(n.ElseList)
		}
	}
	seen := map[*parse.Tree]bool{}
	for _, tr := range append([]*parse.Tree{t}, mapValues(trees)...) {
		if !seen[tr] && tr.Root != nil {
			seen[tr] = true
			walk(tr.Root)
		}
	}
	slices.SortFunc(text, func(a, b [2]int) int { return a[0] - b[0] })
	var spans [][2]int
	prev := 0
	for _, tx := range text {
		if tx[0] < prev || tx[1] > len(src) {
			return nil, fmt.Errorf("%s: cannot locate the template's text", name)
		}
		if tx[0] > prev {
			spans = append(spans, [2]int{prev, tx[0]})
		}
		prev = tx[1]
	}
	if prev < len(src) {
		spans = append(spans, [2]int{prev, len(src)})
	}
	return spans, nil
}

func mapValues(m map[string]*parse.Tree) []*parse.Tree {
	out := make([]*parse.Tree, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// tokenIndexes returns the offsets of the placeholders in s, in order.
func tokenIndexes(s string) []int {
	var out []int
	for i := 0; ; {
		j := strings.Index(s[i:], tokenPrefix)
		if j < 0 {
			return out
		}
		out = append(out, i+j)
		i = min(i+j+tokenLen, len(s))
	}
}

// tokenIDs returns the numbers of the placeholders in s.
func tokenIDs(s string) []int {
	var ids []int
	for _, at := range tokenIndexes(s) {
		if at+tokenLen > len(s) {
			break
		}
		n, err := strconv.Atoi(s[at+len(tokenPrefix) : at+tokenLen-1])
		if err == nil {
			ids = append(ids, n)
		}
	}
	return ids
}

// rawText elements: the tokenizer reads their content as text, not markup.
var rawText = []string{"iframe", "noembed", "noframes", "noscript", "plaintext", "script", "textarea", "title", "xmp"}

// classify says, for each placeholder, whether it sits in element content or
// in a value, and rejects the places an action cannot survive the HTML parser.
func classify(name, tokenized string, spans [][2]int, src string) ([]int, error) {
	where := make([]int, len(spans))
	var errs []error
	bad := func(ids []int, why string) {
		for _, id := range ids {
			errs = append(errs, fmt.Errorf("%s: template action %s %s", name, quoteAction(src, spans[id]), why))
		}
	}
	mark := func(ids []int, w int) {
		for _, id := range ids {
			if id < len(where) {
				where[id] = w
			}
		}
	}
	z := html.NewTokenizer(strings.NewReader(tokenized))
	lastStart := "" // the start tag just read, if the token before this one was one
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			break
		}
		inRaw := lastStart
		lastStart = ""
		switch tt {
		case html.TextToken:
			ids := tokenIDs(string(z.Text()))
			switch {
			case inRaw == "style":
				bad(ids, "is inside <style>; the CSS is inlined when the templates load, so it must be static")
			case slices.Contains(rawText, inRaw):
				mark(ids, inValue)
			default:
				mark(ids, inContent)
			}
		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
			tag, more := z.TagName()
			bad(tokenIDs(string(tag)), "is in a tag name")
			if tt == html.StartTagToken {
				lastStart = string(tag)
			}
			for more {
				var key, val []byte
				key, val, more = z.TagAttr()
				bad(tokenIDs(string(key)), "is in a tag, outside an attribute value (write attr=\"{{...}}\", or put the {{if}} around the whole tag)")
				mark(tokenIDs(string(val)), inValue)
			}
		case html.CommentToken:
			mark(tokenIDs(string(z.Text())), inValue)
		case html.DoctypeToken:
			bad(tokenIDs(string(z.Text())), "is in the doctype")
		}
	}
	for i, w := range where {
		if w == 0 && len(errs) == 0 {
			bad([]int{i}, "could not be placed in the HTML")
		}
	}
	return where, errors.Join(errs...)
}

// restore swaps the placeholders in the inlined output back for the actions,
// checking that each comes back once, in order, in the form it was given.
func restore(name, out string, spans [][2]int, src string, where []int) (string, error) {
	var b strings.Builder
	b.Grow(len(out) + len(src)/2)
	next, prev := 0, 0
	for _, at := range tokenIndexes(out) {
		id := -1
		if at+tokenLen <= len(out) && out[at+tokenLen-1] == 'x' {
			if n, err := strconv.Atoi(out[at+len(tokenPrefix) : at+tokenLen-1]); err == nil {
				id = n
			}
		}
		if id != next {
			if id >= 0 && id < len(spans) {
				return "", fmt.Errorf("%s: the HTML parser moved template action %s (is it outside the element it belongs to?)", name, quoteAction(src, spans[id]))
			}
			return "", fmt.Errorf("%s: the HTML parser garbled a template action", name)
		}
		start, end := at, at+tokenLen
		if where[id] == inContent {
			if !strings.HasSuffix(out[:at], "<!--") || !strings.HasPrefix(out[end:], "-->") {
				return "", fmt.Errorf("%s: the HTML parser moved template action %s", name, quoteAction(src, spans[id]))
			}
			start, end = at-len("<!--"), end+len("-->")
		}
		b.WriteString(out[prev:start])
		b.WriteString(src[spans[id][0]:spans[id][1]])
		prev, next = end, next+1
	}
	if next != len(spans) {
		return "", fmt.Errorf("%s: the HTML parser dropped template action %s", name, quoteAction(src, spans[next]))
	}
	b.WriteString(out[prev:])
	return b.String(), nil
}

// quoteAction shows an action in an error, shortened and with its line number.
func quoteAction(src string, sp [2]int) string {
	a := bytes.TrimSpace([]byte(src[sp[0]:sp[1]]))
	s := string(a)
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return fmt.Sprintf("%q (line %d)", s, 1+strings.Count(src[:sp[0]], "\n"))
}
