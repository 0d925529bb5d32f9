package render

import (
	"slices"
	"strings"

	"github.com/andybalholm/cascadia"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// inlineStyles moves the rules of a document's <style> elements into the
// style attributes of the elements they match, as e-mail clients need, and
// keeps what cannot be inlined (@media and other at-rules, :hover and other
// dynamic pseudo-classes, pseudo-elements, the universal selector, selectors
// it cannot match) in one <style> at the end of <head>, each declaration
// marked !important so that it still beats the inlined styles.
//
// It follows the premailer conventions the templates were written for: a
// rule's declarations apply in order of specificity (important ones last,
// then ids, classes, attribute selectors, type selectors, then source
// order), an element's own style attribute wins over every rule, the
// result is "prop:value;prop:value" in the order each property was last
// set, a width or height in px (or 0) is also set as an HTML attribute, and
// a <style> with data-premailer="ignore" or a media attribute other than
// "all" is left alone.
//
// It is our own small inliner rather than a general library: linking one
// cost the ingest bootstrap about 2 ms of package initialisation at every
// cold start (a CSS scanner that compiles its regular expressions at init).
func inlineStyles(doc string) (string, error) {
	root, err := html.Parse(strings.NewReader(doc))
	if err != nil {
		return "", err
	}
	var sheets []*html.Node
	var head *html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.DataAtom {
			case atom.Head:
				if head == nil {
					head = n
				}
			case atom.Style:
				if media, ok := attr(n, "media"); attr0(n, "data-premailer") != "ignore" && (!ok || media == "all") {
					sheets = append(sheets, n)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(root)

	var (
		rules    []*styleRule
		leftover []string
		index    int
	)
	for set, sheet := range sheets {
		var text strings.Builder
		for c := sheet.FirstChild; c != nil; c = c.NextSibling {
			if c.Type == html.TextNode {
				text.WriteString(c.Data)
			}
		}
		sheet.Parent.RemoveChild(sheet)
		for _, it := range parseSheet(text.String()) {
			if it.raw != "" { // an at-rule
				leftover = append(leftover, it.raw)
				continue
			}
			var normal, important []decl
			for _, d := range it.decls {
				if d.important {
					important = append(important, d)
				} else {
					normal = append(normal, d)
				}
			}
			for _, sel := range strings.Split(it.selector, ",") {
				matcher, ok := inlinable(sel)
				if !ok {
					leftover = append(leftover, importantRule(strings.TrimSpace(sel), it.decls))
					continue
				}
				for i, ds := range [][]decl{normal, important} {
					if len(ds) > 0 {
						rules = append(rules, &styleRule{spec: specificityOf(sel, i, set, index), matcher: matcher, decls: ds})
						index++
					}
				}
			}
		}
	}
	slices.SortFunc(rules, func(a, b *styleRule) int { return slices.Compare(a.spec[:], b.spec[:]) })

	// Each element's rules, in order of specificity; elements in document order.
	matched := map[*html.Node][]*styleRule{}
	var order []*html.Node
	for _, r := range rules {
		for _, n := range r.matcher.MatchAll(root) {
			if _, seen := matched[n]; !seen {
				order = append(order, n)
			}
			matched[n] = append(matched[n], r)
		}
	}
	for _, n := range order {
		applyRules(n, matched[n])
	}

	if len(leftover) > 0 && head != nil {
		style := &html.Node{Type: html.ElementNode, Data: "style", DataAtom: atom.Style, Attr: []html.Attribute{{Key: "type", Val: "text/css"}}}
		style.AppendChild(&html.Node{Type: html.TextNode, Data: strings.Join(leftover, "")})
		head.AppendChild(style)
	}
	var b strings.Builder
	b.Grow(len(doc) * 2)
	for c := root.FirstChild; c != nil; c = c.NextSibling {
		if err := html.Render(&b, c); err != nil {
			return "", err
		}
	}
	return b.String(), nil
}

// styleRule is one selector of a rule with its normal or its important
// declarations.
type styleRule struct {
	spec    [7]int // important, ids, classes, attributes, types, style element, rule
	matcher cascadia.Selector
	decls   []decl
}

// decl is one declaration.
type decl struct {
	prop, value string
	important   bool
}

// item is a parsed rule: a selector list and its declarations, or an
// at-rule to keep as it is (raw).
type item struct {
	selector string
	decls    []decl
	raw      string
}

// dynamic are the pseudo-classes and pseudo-elements that an inline style
// cannot express: a selector with one stays in the <style>.
var dynamic = []string{":visited", ":active", ":hover", ":focus", ":link", ":root", ":in-range", ":invalid", ":valid",
	":after", ":before", ":selection", ":target", ":first-line", ":first-letter", ":checked", ":disabled", ":enabled", ":lang"}

// inlinable compiles sel, or says it stays in the <style>.
func inlinable(sel string) (cascadia.Selector, bool) {
	lower := strings.ToLower(sel)
	if strings.TrimSpace(sel) == "" || strings.Contains(sel, "*") || strings.Contains(sel, "::") {
		return nil, false
	}
	for _, p := range dynamic {
		if strings.Contains(lower, p) {
			return nil, false
		}
	}
	m, err := cascadia.Compile(sel)
	if err != nil {
		return nil, false
	}
	return m, true
}

// specificityOf ranks a selector as the templates expect: by counting ids,
// classes, attribute selectors and type selectors (a word after a space or
// at the start), then by source order.
func specificityOf(sel string, important, set, index int) [7]int {
	types := 0
	for i := 0; i < len(sel); i++ {
		if isWord(sel[i]) && (i == 0 || isSpace(sel[i-1])) {
			types++
		}
	}
	return [7]int{important, strings.Count(sel, "#"), strings.Count(sel, "."), strings.Count(sel, "["), types, set, index}
}

func isWord(c byte) bool {
	return c == '_' || ('0' <= c && c <= '9') || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r' }

// applyRules writes an element's style attribute: its rules' declarations
// in order, then its own style attribute's, each property where it was last
// set. A width or height in px, or 0, also becomes an attribute.
func applyRules(n *html.Node, rules []*styleRule) {
	var all []decl
	for _, r := range rules {
		all = append(all, r.decls...)
	}
	if own, _ := attr(n, "style"); own != "" {
		all = append(all, parseDecls(own)...)
	}
	last := map[string]int{}
	for i, d := range all {
		last[d.prop] = i
	}
	var parts []string
	for i, d := range all {
		if last[d.prop] != i {
			continue
		}
		parts = append(parts, d.prop+":"+d.value)
		if d.prop == "width" || d.prop == "height" {
			if v, ok := strings.CutSuffix(d.value, "px"); ok {
				setAttr(n, d.prop, v)
			} else if d.value == "0" {
				setAttr(n, d.prop, d.value)
			}
		}
	}
	if len(parts) > 0 {
		setAttr(n, "style", strings.Join(parts, ";"))
	}
}

// importantRule prints a rule that stays in the <style>, every declaration
// !important.
func importantRule(selector string, decls []decl) string {
	lines := make([]string, len(decls))
	for i, d := range decls {
		lines[i] = d.prop + ": " + d.value + " !important"
	}
	return selector + " {\n" + strings.Join(lines, ";\n") + "\n}"
}

// parseSheet reads a style sheet's rules. @media blocks are kept with their
// rules' declarations made !important; other at-rules are kept as written.
func parseSheet(css string) []item {
	css = stripComments(css)
	var out []item
	for i := 0; i < len(css); {
		for i < len(css) && (isSpace(css[i]) || css[i] == ';') {
			i++
		}
		if i >= len(css) {
			break
		}
		start := i
		open := scanTo(css, i, "{;")
		if open >= len(css) || css[open] == ';' { // @import, @charset, or a stray fragment
			if css[start] == '@' {
				out = append(out, item{raw: strings.TrimSpace(css[start:min(open+1, len(css))]) + "\n"})
			}
			i = open + 1
			continue
		}
		end := matchBrace(css, open)
		prelude, body := strings.TrimSpace(css[start:open]), css[open+1:min(end, len(css))]
		i = end + 1
		switch {
		case strings.HasPrefix(strings.ToLower(prelude), "@media"):
			var inner []string
			for _, r := range parseSheet(body) {
				if r.raw != "" {
					inner = append(inner, strings.TrimSpace(r.raw))
				} else {
					inner = append(inner, importantRule(r.selector, r.decls))
				}
			}
			out = append(out, item{raw: prelude + "{\n" + strings.Join(inner, "\n") + "\n}\n"})
		case strings.HasPrefix(prelude, "@"):
			out = append(out, item{raw: prelude + " {" + body + "}\n"})
		default:
			out = append(out, item{selector: prelude, decls: parseDecls(body)})
		}
	}
	return out
}

// parseDecls reads "prop: value; prop: value !important".
func parseDecls(block string) []decl {
	var out []decl
	for i := 0; i <= len(block); {
		end := scanTo(block, i, ";")
		part := block[i:min(end, len(block))]
		i = end + 1
		prop, value, ok := strings.Cut(part, ":")
		prop, value = strings.TrimSpace(prop), strings.TrimSpace(value)
		if !ok || prop == "" || value == "" {
			continue
		}
		d := decl{prop: prop, value: value}
		if at := strings.LastIndexByte(value, '!'); at >= 0 && strings.EqualFold(strings.TrimSpace(value[at+1:]), "important") {
			d.value, d.important = strings.TrimSpace(value[:at]), true
		}
		out = append(out, d)
	}
	return out
}

// scanTo returns the index of the first byte of stops in s from i, outside
// strings, parentheses and brackets; len(s) if there is none.
func scanTo(s string, i int, stops string) int {
	depth := 0
	for ; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\'':
			i = endOfString(s, i)
		case c == '\\':
			i++
		case c == '(' || c == '[':
			depth++
		case (c == ')' || c == ']') && depth > 0:
			depth--
		case depth == 0 && strings.IndexByte(stops, c) >= 0:
			return i
		}
	}
	return len(s)
}

// matchBrace returns the index of the '}' that closes the '{' at open,
// len(s) when the sheet ends first.
func matchBrace(s string, open int) int {
	depth := 0
	for i := open; i < len(s); i++ {
		switch s[i] {
		case '"', '\'':
			i = endOfString(s, i)
		case '\\':
			i++
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return len(s)
}

// endOfString returns the index of the quote that closes the string at i.
func endOfString(s string, i int) int {
	q := s[i]
	for i++; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case q, '\n':
			return i
		}
	}
	return len(s)
}

// stripComments removes /* ... */ outside strings.
func stripComments(s string) string {
	if !strings.Contains(s, "/*") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '"' || s[i] == '\'':
			end := min(endOfString(s, i), len(s)-1)
			b.WriteString(s[i : end+1])
			i = end
		case strings.HasPrefix(s[i:], "/*"):
			end := strings.Index(s[i+2:], "*/")
			if end < 0 {
				return b.String()
			}
			i += end + 3
			b.WriteByte(' ')
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Namespace == "" && a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

func attr0(n *html.Node, key string) string { v, _ := attr(n, key); return v }

// setAttr replaces an attribute's value in place, or appends it.
func setAttr(n *html.Node, key, val string) {
	for i, a := range n.Attr {
		if a.Namespace == "" && a.Key == key {
			n.Attr[i].Val = val
			return
		}
	}
	n.Attr = append(n.Attr, html.Attribute{Key: key, Val: val})
}
