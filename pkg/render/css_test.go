package render

import (
	"strings"
	"testing"
)

// doc wraps head CSS and a body in a document.
func doc(css, body string) string {
	return "<!DOCTYPE html><html><head><style>" + css + "</style></head><body>" + body + "</body></html>"
}

func TestInlineStyles(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want []string // substrings of the output, in order
		not  []string // substrings the output must not have
	}{
		{"type, class and id by specificity, then source order",
			doc(`#x { color: red; } .c { color: blue; margin: 0; } p { color: green; padding: 1px; } p { padding: 2px; }`, `<p id="x" class="c">a</p>`),
			[]string{`<p id="x" class="c" style="padding:2px;margin:0;color:red">a</p>`}, []string{"<style"}},
		{"the element's own style wins, in its own place",
			doc(`p { color: red; margin: 0; }`, `<p style="color: black">a</p>`),
			[]string{`<p style="margin:0;color:black">a</p>`}, nil},
		{"important declarations come after every normal one",
			doc(`#x { color: red; } p { color: green !important; }`, `<p id="x">a</p>`),
			[]string{`style="color:green"`}, []string{"important"}},
		{"dynamic pseudo-classes, pseudo-elements and * stay in a style, important",
			doc(`a:hover { color: red; } p::before { content: "x"; } * { margin: 0 } a { color: blue }`, `<a href="#">a</a>`),
			[]string{`<style type="text/css">a:hover {
color: red !important
}p::before {
content: "x" !important
}* {
margin: 0 !important
}</style></head>`, `<a href="#" style="color:blue">`}, nil},
		{"a selector list is split: each part inlined or kept",
			doc(`.a, .b:focus { color: red }`, `<p class="a">a</p>`),
			[]string{".b:focus {\ncolor: red !important\n}", `<p class="a" style="color:red">`}, nil},
		{"a selector the matcher cannot read is kept, not dropped",
			doc(`p:unknown-thing { color: red } p { margin: 0 }`, `<p>a</p>`),
			[]string{"p:unknown-thing {\ncolor: red !important\n}", `<p style="margin:0">`}, nil},
		{"@media kept with its rules important; other at-rules as written",
			doc(`@font-face { font-family: X; src: url(x.woff) } @media (max-width: 600px) { .a { padding: 1px; margin: 0 } } .a { padding: 2px }`, `<p class="a">a</p>`),
			[]string{"@font-face {", "font-family: X; src: url(x.woff)", "@media (max-width: 600px){\n.a {\npadding: 1px !important;\nmargin: 0 !important\n}\n}\n", `<p class="a" style="padding:2px">`}, nil},
		{"comments, and ; or } inside strings and url()",
			doc(`/* p { color: red } */ p { font-family: "a;b}c", x; background: url(data:x;y) }`, `<p>a</p>`),
			[]string{`style="font-family:&#34;a;b}c&#34;, x;background:url(data:x;y)"`}, []string{"color"}},
		{"width and height in px or 0 become attributes",
			doc(`img { width: 40px; height: 0; } td { width: 100% }`, `<table><tbody><tr><td><img src="x"></td></tr></tbody></table>`),
			[]string{`<td style="width:100%">`, `<img src="x" width="40" height="0" style="width:40px;height:0"/>`}, nil},
		{"a style marked data-premailer=ignore or for print is left alone",
			`<html><head><style data-premailer="ignore">p { color: red }</style><style media="print">p { margin: 0 }</style></head><body><p>a</p></body></html>`,
			[]string{`<style data-premailer="ignore">p { color: red }</style><style media="print">p { margin: 0 }</style>`, "<p>a</p>"}, []string{"style=\""}},
		{"two style elements: the later wins at equal specificity",
			`<html><head><style>p { color: red }</style><style>p { color: blue }</style></head><body><p>a</p></body></html>`,
			[]string{`<p style="color:blue">`}, nil},
		{"declarations without a value or a colon are skipped",
			doc(`p { color: ; margin 0; padding: 1px;; }`, `<p>a</p>`),
			[]string{`<p style="padding:1px">`}, nil},
		{"an unclosed rule still applies",
			doc(`p { color: red`, `<p>a</p>`),
			[]string{`<p style="color:red">`}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := inlineStyles(c.in)
			if err != nil {
				t.Fatal(err)
			}
			rest := out
			for _, w := range c.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("output lacks (in order) %q:\n%s", w, out)
				}
				rest = rest[i+len(w):]
			}
			for _, n := range c.not {
				if strings.Contains(out, n) {
					t.Errorf("output has %q:\n%s", n, out)
				}
			}
		})
	}
}

func FuzzInlineStyles(f *testing.F) {
	for _, s := range []string{`p { color: red }`, `@media x { a { b: c } }`, `a:hover{x:y}`, `"`, `/*`, `{}}`, `p{a:"b`, `@import "x";`} {
		f.Add(s, `<p class="a" style="x: y">t</p>`)
	}
	f.Fuzz(func(t *testing.T, css, body string) {
		out, err := inlineStyles(doc(css, body))
		if err != nil {
			return
		}
		if !strings.Contains(out, "<html") {
			t.Errorf("no document in the output: %q", out)
		}
	})
}
