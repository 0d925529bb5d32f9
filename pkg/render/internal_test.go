package render

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestFormatDuration(t *testing.T) {
	cases := []struct {
		locale string
		d      time.Duration
		want   string
	}{
		{"en", 24 * time.Hour, "24 hours"},
		{"en", time.Hour, "1 hour"},
		{"en", 90 * time.Minute, "1 hour and 30 minutes"},
		{"en", 3 * time.Minute, "3 minutes"},
		{"en", time.Minute + 59*time.Second, "1 minute"},
		{"en", 45 * time.Second, "45 seconds"},
		{"en", 500 * time.Millisecond, "1 second"},
		{"en", 7 * 24 * time.Hour, "7 days"},
		{"en", 36 * time.Hour, "36 hours"},
		{"en", 0, ""},
		{"en", -time.Hour, ""},
		{"es", 24 * time.Hour, "24 horas"},
		{"es", 7 * 24 * time.Hour, "7 días"},
		{"de", 24 * time.Hour, "24 Stunden"},
		{"de", time.Hour, "1 Stunde"},
		{"de-DE", 2*time.Hour + time.Minute, "2 Stunden und 1 Minute"},
		{"de", 7 * 24 * time.Hour, "7 Tage"},
		{"fr", 24 * time.Hour, "24 heures"},
		{"fr", 3 * time.Minute, "3 minutes"},
		{"pt", 24 * time.Hour, "24 horas"},
		{"pt", 7 * 24 * time.Hour, "7 dias"},
		{"it", time.Hour, "1 hour"},
	}
	for _, c := range cases {
		if got := formatDuration(c.locale, c.d); got != c.want {
			t.Errorf("formatDuration(%s, %v) = %q, want %q", c.locale, c.d, got, c.want)
		}
	}
}

func TestOneLine(t *testing.T) {
	cases := []struct {
		name, in string
		limit    int
		want     string
	}{
		{"clean", "Hello José", 50, "Hello José"},
		{"CRLF", "a\r\nBcc: x@example.com", 50, "a Bcc: x@example.com"},
		{"runs of whitespace", "  a \t\n\n b  ", 50, "a b"},
		{"controls dropped", "a\x00b\x1b[0m\x7fc\u0085d", 50, "ab[0mc d"},
		{"bidi overrides dropped", "abc\u202egnp.exe", 50, "abcgnp.exe"},
		{"unicode separators", "a\u2028b\u2029c", 50, "a b c"},
		{"no-break space kept", "Alerte\u00a0: x", 50, "Alerte\u00a0: x"},
		{"invalid UTF-8 dropped", "a\xffb", 50, "ab"},
		{"exactly the limit", "abcde", 5, "abcde"},
		{"over the limit", "abcdef", 5, "abcd…"},
		{"over the limit after folding", "ab\ncdef", 5, "ab c…"},
		{"empty", "", 5, ""},
		{"only whitespace", " \r\n ", 5, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := oneLine(c.in, c.limit); got != c.want {
				t.Errorf("oneLine(%q, %d) = %q, want %q", c.in, c.limit, got, c.want)
			}
		})
	}
}

func TestOneLineAllocations(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() { oneLine("Bestätigen Sie Ihre E-Mail-Adresse", maxSubject) }); n != 0 {
		t.Errorf("a clean line allocates %v times", n)
	}
}

func FuzzOneLine(f *testing.F) {
	for _, s := range []string{"a\r\nb", "  x  ", "\u2028", "\xff", "a\u00a0b", strings.Repeat("é", 30)} {
		f.Add(s, 10)
	}
	f.Fuzz(func(t *testing.T, s string, limit int) {
		if limit < 2 || limit > 1000 {
			return
		}
		got := oneLine(s, limit)
		if !utf8.ValidString(got) {
			t.Fatalf("invalid UTF-8 from %q", s)
		}
		if n := utf8.RuneCountInString(got); n > limit {
			t.Fatalf("%d characters, limit %d", n, limit)
		}
		for _, r := range got {
			if foldable(r) && r != ' ' || dropped(r) {
				t.Fatalf("oneLine(%q) kept %U", s, r)
			}
		}
		if got != strings.TrimSpace(got) && got != strings.Trim(got, " ") {
			t.Fatalf("untrimmed %q", got)
		}
		if strings.HasPrefix(got, " ") || strings.HasSuffix(got, " ") || strings.Contains(got, "  ") {
			t.Fatalf("stray spaces in %q", got)
		}
		if again := oneLine(got, limit); again != got {
			t.Fatalf("not idempotent: %q -> %q", got, again)
		}
	})
}

func TestInlineCSS(t *testing.T) {
	const style = `<style>p { color: red; } td { padding: 1px; } .x { margin: 0; }</style>`
	cases := []struct {
		name    string
		src     string
		want    []string // substrings of the result
		wantErr string
	}{
		{
			name: "actions in content and attributes survive",
			src:  `<html><head><title>{{.Subject}}</title>` + style + `</head><body><p class="x" title="{{.A}}">Hi {{.Name}}, {{"}}"}}</p></body></html>`,
			want: []string{`<title>{{.Subject}}</title>`, `<p class="x" title="{{.A}}" style="color:red;margin:0">Hi {{.Name}}, {{"}}"}}</p>`},
		},
		{
			name: "actions between table rows stay in the table",
			src:  `<html><head>` + style + `</head><body><table><tbody>{{range .Rows}}<tr><td>{{.}}</td></tr>{{end}}</tbody></table></body></html>`,
			want: []string{`<table><tbody>{{range .Rows}}<tr><td style="padding:1px">{{.}}</td></tr>{{end}}</tbody></table>`},
		},
		{
			name: "conditional element",
			src:  `<html><head>` + style + `</head><body>{{if .Logo}}<img src="{{.Logo}}">{{else}}<p>{{.Name}}</p>{{end}}</body></html>`,
			want: []string{`{{if .Logo}}<img src="{{.Logo}}"/>{{else}}<p style="color:red">{{.Name}}</p>{{end}}`},
		},
		{
			name: "trim markers and comments",
			src:  `<html><head>` + style + `</head><body><p>{{- /* note */ -}} a {{- .X}}</p></body></html>`,
			want: []string{`<p style="color:red">{{- /* note */ -}} a {{- .X}}</p>`},
		},
		{name: "action in an attribute name", src: `<p {{.Attr}}>x</p>`, wantErr: "outside an attribute value"},
		{name: "action in style", src: `<style>p { color: {{.C}}; }</style>`, wantErr: "inside <style>"},
		{name: "reserved word", src: `<p>cogmailtpl</p>`, wantErr: "reserved"},
		{name: "template syntax error", src: `<p>{{if}}</p>`, wantErr: "missing value for if"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := inlineCSS("t.html", c.src)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) || !strings.Contains(err.Error(), "t.html") {
					t.Fatalf("err = %v, want one naming t.html and saying %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range c.want {
				if !strings.Contains(got, w) {
					t.Errorf("result lacks %q:\n%s", w, got)
				}
			}
			if strings.Contains(got, tokenPrefix) {
				t.Errorf("placeholder left in %s", got)
			}
		})
	}
}

func TestRestoreDetectsMovedActions(t *testing.T) {
	src := `{{.A}}{{.B}}`
	spans := [][2]int{{0, 6}, {6, 12}}
	cases := []struct {
		name, out, want string
	}{
		{"swapped", "<!--" + token(1) + "--><!--" + token(0) + "-->", "moved"},
		{"dropped", "<!--" + token(0) + "-->", "dropped"},
		{"comment lost", token(0) + "<!--" + token(1) + "-->", "moved"},
		{"garbled", tokenPrefix + "zz", "garbled"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := restore("t.html", c.out, spans, src, []int{inContent, inContent})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want %q", err, c.want)
			}
		})
	}
}
