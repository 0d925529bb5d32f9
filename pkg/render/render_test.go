package render_test

import (
	"errors"
	"flag"
	"html"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cogmail/cogmail/internal/testkit/fixtures"
	"github.com/cogmail/cogmail/pkg/cognito"
	"github.com/cogmail/cogmail/pkg/render"
	"github.com/cogmail/cogmail/pkg/secret"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

var brand = render.Brand{
	ProductName: "Acme",
	SenderName:  "Acme Security",
	SupportURL:  "https://acme.example/help",
	LogoURL:     "https://acme.example/logo.png",
}

// unknownTrigger stands for a source Cognito may add after this version.
const unknownTrigger = cognito.Trigger("CustomEmailSender_SomethingNew")

// names pairs every template with a trigger that selects it.
var names = []struct {
	name    string
	trigger cognito.Trigger
}{
	{"SignUp", cognito.SignUp},
	{"ResendCode", cognito.ResendCode},
	{"ForgotPassword", cognito.ForgotPassword},
	{"UpdateUserAttribute", cognito.UpdateUserAttribute},
	{"VerifyUserAttribute", cognito.VerifyUserAttribute},
	{"AdminCreateUser", cognito.AdminCreateUser},
	{"Authentication", cognito.Authentication},
	{"AccountTakeOverNotification", cognito.AccountTakeOverNotification},
	{render.Generic, unknownTrigger},
}

var locales = []string{"de", "en", "es", "fr", "pt"}

var atoAttrs = map[string]string{
	cognito.AttrLoginTime:           "Nov 24, 2026 8:08:51 PM",
	cognito.AttrCity:                "Lisbon",
	cognito.AttrCountry:             "Portugal",
	cognito.AttrIPAddress:           "203.0.113.7",
	cognito.AttrDeviceName:          "Chrome, Linux",
	cognito.AttrEventResponse:       "BLOCK",
	cognito.AttrOneClickLinkValid:   "https://example.com/valid?token=a&b=1",
	cognito.AttrOneClickLinkInvalid: "https://example.com/invalid?token=a&b=2",
}

const (
	testCode     = "042195"
	testPassword = `Tmp<9x529202>&"'`
)

// fullInput is the fixed input of the golden files: every optional value set.
func fullInput(trigger cognito.Trigger, locale string) render.Input {
	attrs := map[string]string{"name": "José <b>&", "email": "jose@example.com"}
	code, valid := testCode, 24*time.Hour
	switch trigger {
	case cognito.AdminCreateUser:
		code, valid = testPassword, 7*24*time.Hour
	case cognito.ForgotPassword:
		valid = time.Hour
	case cognito.Authentication:
		valid = 3 * time.Minute
	case cognito.AccountTakeOverNotification:
		code, valid = "", 0
		for k, v := range atoAttrs {
			attrs[k] = v
		}
	}
	return render.Input{Trigger: trigger, Locale: locale, Code: secret.New(code), UserName: "jose",
		Attributes: attrs, ValidFor: valid}
}

func newRenderer(t testing.TB, o render.Options) *render.Renderer {
	t.Helper()
	if o.Brand == (render.Brand{}) {
		o.Brand = brand
	}
	r, err := render.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestGolden(t *testing.T) {
	r := newRenderer(t, render.Options{})
	for _, loc := range locales {
		for _, n := range names {
			t.Run(loc+"/"+n.name, func(t *testing.T) {
				e, err := r.Render(fullInput(n.trigger, loc))
				if err != nil {
					t.Fatal(err)
				}
				if e.Locale != loc || e.Template != n.name {
					t.Fatalf("used %s/%s, want %s/%s", e.Locale, e.Template, loc, n.name)
				}
				golden(t, filepath.Join("testdata", "golden", loc, n.name+".html"), e.HTML+"\n")
				golden(t, filepath.Join("testdata", "golden", loc, n.name+".txt"), "Subject: "+e.Subject+"\n\n"+e.Text+"\n")
			})
		}
	}
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./pkg/render -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the rendered output (run go test ./pkg/render -update and review the diff)\ngot:\n%s", path, got)
	}
}

func TestEveryTemplateShowsWhatItIsFor(t *testing.T) {
	r := newRenderer(t, render.Options{})
	for _, loc := range locales {
		for _, n := range names {
			t.Run(loc+"/"+n.name, func(t *testing.T) {
				in := fullInput(n.trigger, loc)
				e, err := r.Render(in)
				if err != nil {
					t.Fatal(err)
				}
				var wantHTML, wantText []string
				if n.trigger == cognito.AccountTakeOverNotification {
					for _, k := range []string{cognito.AttrLoginTime, cognito.AttrCity, cognito.AttrCountry, cognito.AttrIPAddress, cognito.AttrDeviceName} {
						wantHTML = append(wantHTML, html.EscapeString(atoAttrs[k]))
						wantText = append(wantText, atoAttrs[k])
					}
					for _, k := range []string{cognito.AttrOneClickLinkValid, cognito.AttrOneClickLinkInvalid} {
						wantHTML = append(wantHTML, `href="`+html.EscapeString(atoAttrs[k])+`"`)
						wantText = append(wantText, atoAttrs[k])
					}
				} else {
					code := in.Code.Reveal()
					wantHTML = append(wantHTML, htmlEscaped(code), render.FormatDurationForTest(loc, in.ValidFor))
					wantText = append(wantText, code, render.FormatDurationForTest(loc, in.ValidFor))
					if n.trigger == cognito.AdminCreateUser {
						wantHTML = append(wantHTML, ">jose<")
						wantText = append(wantText, ": jose\n")
					}
				}
				for _, w := range wantHTML {
					if !strings.Contains(e.HTML, w) {
						t.Errorf("HTML does not contain %q", w)
					}
				}
				for _, w := range wantText {
					if !strings.Contains(e.Text, w) {
						t.Errorf("text does not contain %q", w)
					}
				}
				if e.Subject == "" || !strings.Contains(e.Subject, brand.ProductName) {
					t.Errorf("subject %q does not name the product", e.Subject)
				}
			})
		}
	}
}

// htmlEscaped is how html/template prints s in element content.
func htmlEscaped(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;").Replace(s)
}

func TestNothingIsMissing(t *testing.T) {
	r := newRenderer(t, render.Options{Brand: render.Brand{ProductName: "Acme"}})
	for _, loc := range locales {
		for _, n := range names {
			for _, full := range []bool{true, false} {
				in := fullInput(n.trigger, loc)
				if !full { // no name, no attributes, no validity, no brand extras
					in = render.Input{Trigger: n.trigger, Locale: loc, Code: in.Code}
				}
				e, err := r.Render(in)
				if err != nil {
					t.Fatalf("%s/%s: %v", loc, n.name, err)
				}
				for part, s := range map[string]string{"subject": e.Subject, "html": e.HTML, "text": e.Text} {
					for _, bad := range []string{"<no value>", "{{", "}}", "%!", "cogmailtpl"} {
						if strings.Contains(s, bad) {
							t.Errorf("%s/%s full=%v: %s contains %q", loc, n.name, full, part, bad)
						}
					}
				}
				if !full && strings.Contains(e.HTML, "<img") {
					t.Errorf("%s/%s: logo shown without a LogoURL", loc, n.name)
				}
			}
		}
	}
}

func TestInlineStyles(t *testing.T) {
	r := newRenderer(t, render.Options{})
	styled := regexp.MustCompile(`<(body|h1|p|td|a|table)\b[^>]*\bstyle="[^"]+"`)
	ruleLeft := regexp.MustCompile(`(?s)<style[^>]*>.*\.code\s*\{`)
	for _, loc := range locales {
		for _, n := range names {
			e, err := r.Render(fullInput(n.trigger, loc))
			if err != nil {
				t.Fatal(err)
			}
			tags := map[string]bool{}
			for _, m := range styled.FindAllStringSubmatch(e.HTML, -1) {
				tags[m[1]] = true
			}
			for _, tag := range []string{"body", "h1", "p", "td", "table"} {
				if !tags[tag] {
					t.Errorf("%s/%s: no <%s> has an inline style", loc, n.name, tag)
				}
			}
			if ruleLeft.MatchString(e.HTML) {
				t.Errorf("%s/%s: inlinable rules were left in <style>", loc, n.name)
			}
			if !strings.Contains(e.HTML, `@media (max-width: 600px)`) {
				t.Errorf("%s/%s: the responsive @media rules were dropped", loc, n.name)
			}
		}
	}
}

func TestEscaping(t *testing.T) {
	r := newRenderer(t, render.Options{})
	cases := []struct {
		name      string
		in        render.Input
		html      []string // must appear in the HTML
		notHTML   []string // must not
		text      []string // must appear in the text
		notInSubj string
	}{
		{
			name:    "name is text, not markup",
			in:      render.Input{Trigger: cognito.SignUp, Locale: "en", Code: secret.New("1"), Attributes: map[string]string{"name": `José <b>&</b><script>x()</script>`}},
			html:    []string{"Hi José &lt;b&gt;&amp;&lt;/b&gt;&lt;script&gt;x()&lt;/script&gt;,"},
			notHTML: []string{"<b>", "<script>x"},
			text:    []string{"Hi José <b>&</b><script>x()</script>,"},
		},
		{
			name:    "unescaped temporary password reaches the reader verbatim",
			in:      render.Input{Trigger: cognito.AdminCreateUser, Locale: "en", Code: secret.New(`Tmp<9x529202>&"'`), UserName: `a<b`},
			html:    []string{`Tmp&lt;9x529202&gt;&amp;&#34;&#39;`, `a&lt;b`},
			notHTML: []string{"Tmp<9x", "&amp;lt;"},
			text:    []string{"Tmp<9x529202>&\"'", ": a<b\n"},
		},
		{
			name:    "unsafe one-click link is neutralised",
			in:      render.Input{Trigger: cognito.AccountTakeOverNotification, Locale: "en", Attributes: map[string]string{cognito.AttrOneClickLinkValid: "javascript:alert(1)", cognito.AttrCity: `"><img src=x>`}},
			html:    []string{`href="#ZgotmplZ"`, "&#34;&gt;&lt;img src=x&gt;"},
			notHTML: []string{"javascript:", `<img src=x>`},
		},
		{
			name:      "line breaks and control characters in values are folded",
			in:        render.Input{Trigger: cognito.SignUp, Locale: "en", Code: secret.New("1"), Attributes: map[string]string{"name": "Ana\r\n\r\nClick evil.example\x00\x1b[31m\u202e"}},
			html:      []string{"Hi Ana Click evil.example[31m,"},
			text:      []string{"Hi Ana Click evil.example[31m,"},
			notInSubj: "\n",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, err := r.Render(c.in)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range c.html {
				if !strings.Contains(e.HTML, w) {
					t.Errorf("HTML lacks %q", w)
				}
			}
			for _, w := range c.notHTML {
				if strings.Contains(e.HTML, w) {
					t.Errorf("HTML contains %q", w)
				}
			}
			for _, w := range c.text {
				if !strings.Contains(e.Text, w) {
					t.Errorf("text lacks %q:\n%s", w, e.Text)
				}
			}
			if strings.ContainsAny(e.Subject, "\r\n") {
				t.Errorf("subject has a line break: %q", e.Subject)
			}
		})
	}
}

// writeOverrides creates an override directory holding files.
func writeOverrides(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestSubjectIsOneHeaderLine(t *testing.T) {
	dir := writeOverrides(t, map[string]string{
		"en/SignUp.subject.txt": "Welcome {{.Name}}\r\nBcc: victim@example.com\n\n{{.Code}}\t\x00end\n",
	})
	r := newRenderer(t, render.Options{OverrideDir: dir})
	cases := []struct {
		name, attr, want string
	}{
		{"CRLF in the template", "Ana", "Welcome Ana Bcc: victim@example.com 7 end"},
		{"CRLF in the attribute", "Ana\r\nBcc: x@evil.example", "Welcome Ana Bcc: x@evil.example Bcc: victim@example.com 7 end"},
		{"Unicode line separators", "Ana\u2028\u2029\u0085X-Evil: 1", "Welcome Ana X-Evil: 1 Bcc: victim@example.com 7 end"},
		{"overlong", strings.Repeat("a", 400), "Welcome " + strings.Repeat("a", 99) + "… Bcc: victim@example.com 7 end"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, err := r.Render(render.Input{Trigger: cognito.SignUp, Locale: "en", Code: secret.New("7\r\n"), Attributes: map[string]string{"name": c.attr}})
			if err != nil {
				t.Fatal(err)
			}
			if e.Subject != c.want {
				t.Errorf("subject = %q, want %q", e.Subject, c.want)
			}
			for _, r := range e.Subject {
				if r < 0x20 || r == 0x7f || r == '\u2028' || r == '\u2029' || r == '\u0085' {
					t.Errorf("subject holds control character %U", r)
				}
			}
		})
	}
}

func TestOverrideReplacesOneTemplate(t *testing.T) {
	dir := writeOverrides(t, map[string]string{
		"en/SignUp.html":        `<p class="code">{{.Code}}</p><p class="muted">Custom sign-up for {{.Name}}</p>`,
		"en/SignUp.txt":         "Custom text {{.Code}} {{.Attr \"custom:company\"}}\n",
		"en/SignUp.subject.txt": "Custom subject\n",
		".DS_Store":             "ignored",
		".git/config":           "ignored",
	})
	r := newRenderer(t, render.Options{OverrideDir: dir})
	def := newRenderer(t, render.Options{})
	cases := []struct {
		name       string
		in         render.Input
		overridden bool
	}{
		{"replaced", render.Input{Trigger: cognito.SignUp, Locale: "en", Code: secret.New("555"), Attributes: map[string]string{"name": "<Ana>", "custom:company": "Acme\r\nCorp"}}, true},
		{"other locale untouched", render.Input{Trigger: cognito.SignUp, Locale: "es", Code: secret.New("555")}, false},
		{"other trigger untouched", render.Input{Trigger: cognito.ResendCode, Locale: "en", Code: secret.New("555")}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := r.Render(c.in)
			if err != nil {
				t.Fatal(err)
			}
			want, err := def.Render(c.in)
			if err != nil {
				t.Fatal(err)
			}
			if !c.overridden {
				if got != want {
					t.Errorf("override changed an email it does not cover")
				}
				return
			}
			if got.Subject != "Custom subject" || got.Text != "Custom text 555 Acme Corp\n\n-- \n"+footerText(t, want.Text) {
				t.Errorf("subject %q, text %q", got.Subject, got.Text)
			}
			for _, w := range []string{"Custom sign-up for &lt;Ana&gt;", `<p class="code" style="`, `<p class="muted" style="`, "Acme Security"} {
				if !strings.Contains(got.HTML, w) {
					t.Errorf("HTML lacks %q:\n%s", w, got.HTML)
				}
			}
		})
	}
}

// footerText is what follows the signature separator in a text body.
func footerText(t *testing.T, text string) string {
	t.Helper()
	_, f, ok := strings.Cut(text, "\n-- \n")
	if !ok {
		t.Fatalf("no signature separator in %q", text)
	}
	return f
}

func TestOverrideErrors(t *testing.T) {
	cases := []struct {
		name  string
		files map[string]string
		want  []string // each must appear in the error
	}{
		{"syntax error names the file", map[string]string{"en/SignUp.html": "<p>{{if .Code}}</p>"}, []string{filepath.Join("en", "SignUp.html"), "unexpected EOF"}},
		{"every broken file is reported", map[string]string{"de/SignUp.txt": "{{.Code", "fr/ResendCode.subject.txt": "{{end}}"}, []string{filepath.Join("de", "SignUp.txt"), filepath.Join("fr", "ResendCode.subject.txt")}},
		{"unknown field fails at start-up", map[string]string{"es/Generic.html": "<p>{{.Cdoe}}</p>"}, []string{filepath.Join("es", "Generic.html"), "Cdoe"}},
		{"misspelt file name", map[string]string{"en/Signup.html": "<p>x</p>"}, []string{filepath.Join("en", "Signup.html"), "not a template cogmail uses"}},
		{"all problems at once", map[string]string{"en/Signup.html": "<p>x</p>", "en/SignUp.txt": "{{.Code"}, []string{filepath.Join("en", "Signup.html"), filepath.Join("en", "SignUp.txt")}},
		{"new locale", map[string]string{"it/SignUp.html": "<p>x</p>"}, []string{filepath.Join("it", "SignUp.html")}},
		{"action inside style", map[string]string{"layout.html": `<html><head><style>p { color: {{.Brand.ProductName}}; }</style></head><body>{{template "content" .}}</body></html>`}, []string{"layout.html", "inside <style>"}},
		{"action in an attribute name", map[string]string{"en/SignUp.html": `<p {{if .Name}}class="muted"{{end}}>{{.Code}}</p>`}, []string{filepath.Join("en", "SignUp.html"), "outside an attribute value"}},
		{"layout without content", map[string]string{"layout.html": "<html><body>nothing</body></html>"}, []string{"layout.html", `{{template "content" .}}`}},
		{"empty subject", map[string]string{"pt/SignUp.subject.txt": "{{if false}}x{{end}}\n"}, []string{filepath.Join("pt", "SignUp.subject.txt"), "empty"}},
		{"body without the code", map[string]string{"fr/Authentication.html": "<p>Bonjour</p>"}, []string{filepath.Join("fr", "Authentication.html"), "does not show the code"}},
		{"text layout without the content", map[string]string{"layout.txt": "{{template \"footer\" .}}"}, []string{"layout.txt", "does not show the code"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := writeOverrides(t, c.files)
			_, err := render.New(render.Options{Brand: brand, OverrideDir: dir})
			if err == nil {
				t.Fatal("New accepted a broken override")
			}
			for _, w := range append(c.want, dir) { // the override's full path
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	cases := []struct {
		name string
		o    render.Options
		want []string
	}{
		{"bad URLs", render.Options{Brand: render.Brand{ProductName: "A", SupportURL: "javascript:x", LogoURL: "/logo.png", ProductURL: "acme.example"}}, []string{"SupportURL", "LogoURL", "ProductURL"}},
		{"bad colours", render.Options{Brand: render.Brand{ProductName: "A", Colors: render.Colors{Accent: "red;}", Text: "#12"}}}, []string{"Colors.Accent", "Colors.Text"}},
		{"unsupported default locale", render.Options{Brand: brand, DefaultLocale: "it"}, []string{`"it"`, "de, en, es, fr, pt"}},
		{"missing override dir", render.Options{Brand: brand, OverrideDir: filepath.Join(t.TempDir(), "nope")}, []string{"nope", "not a readable directory"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := render.New(c.o)
			if err == nil {
				t.Fatal("New accepted bad options")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestBrandDefaults(t *testing.T) {
	for _, c := range []struct {
		name string
		in   render.Brand
		want render.Brand
	}{
		{"nothing set", render.Brand{}, render.Brand{ProductName: render.DefaultProductName, SenderName: render.DefaultProductName}},
		{"product only", render.Brand{ProductName: "Acme"}, render.Brand{ProductName: "Acme", SenderName: "Acme"}},
		{"both", render.Brand{ProductName: "Acme", SenderName: "Acme Security"}, render.Brand{ProductName: "Acme", SenderName: "Acme Security"}},
		{"blank product", render.Brand{ProductName: "  "}, render.Brand{ProductName: render.DefaultProductName, SenderName: render.DefaultProductName}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, err := render.New(render.Options{Brand: c.in})
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Brand(); got != c.want {
				t.Errorf("Brand() = %+v, want %+v", got, c.want)
			}
			e, err := r.Render(render.Input{Trigger: cognito.SignUp, Locale: "en", Code: secret.New("123456")})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(e.Subject, c.want.ProductName) {
				t.Errorf("subject %q does not name %q", e.Subject, c.want.ProductName)
			}
		})
	}
}

func TestTriggers(t *testing.T) {
	r := newRenderer(t, render.Options{DefaultLocale: "pt-BR"})
	cases := []struct {
		name         string
		in           render.Input
		wantTemplate string
		wantLocale   string
		fallback     bool
		wantErr      error
	}{
		{"known", render.Input{Trigger: cognito.ForgotPassword, Locale: "de_AT", Code: secret.New("1")}, "ForgotPassword", "de", false, nil},
		{"unknown source uses Generic", render.Input{Trigger: unknownTrigger, Locale: "fr-CA", Code: secret.New("1")}, render.Generic, "fr", true, nil},
		{"default locale via its chain", render.Input{Trigger: cognito.SignUp, Locale: "ja", Code: secret.New("1")}, "SignUp", "pt", false, nil},
		{"account takeover needs no code", render.Input{Trigger: cognito.AccountTakeOverNotification, Locale: "en"}, "AccountTakeOverNotification", "en", false, nil},
		{"a code trigger without a code", render.Input{Trigger: cognito.SignUp, Locale: "en"}, "", "", false, render.ErrNoCode},
		{"an unknown trigger without a code", render.Input{Trigger: unknownTrigger, Locale: "en"}, "", "", false, render.ErrNoCode},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, err := r.Render(c.in)
			if !errors.Is(err, c.wantErr) {
				t.Fatalf("err = %v, want %v", err, c.wantErr)
			}
			if e.Template != c.wantTemplate || e.Locale != c.wantLocale || e.Fallback != c.fallback {
				t.Errorf("got %s/%s fallback=%v, want %s/%s fallback=%v", e.Locale, e.Template, e.Fallback, c.wantLocale, c.wantTemplate, c.fallback)
			}
		})
	}
}

// TestFixtureEvents renders the shared events the way the ingest function
// will: locale from the event, the AdminCreateUser password HTML-unescaped.
func TestFixtureEvents(t *testing.T) {
	r := newRenderer(t, render.Options{})
	wantLocale := map[string]string{"en": "en", "es": "es", "de-DE": "de"}
	n := 0
	for _, c := range fixtures.MustLoadEvents().Cases {
		if !c.Deliver() {
			continue
		}
		n++
		t.Run(c.Name, func(t *testing.T) {
			ev, err := cognito.Parse(c.Event)
			if err != nil {
				t.Fatal(err)
			}
			plain := html.UnescapeString(c.Secret)
			e, err := r.Render(render.Input{Trigger: ev.TriggerSource, Locale: r.Locales().ForEvent(ev),
				Code: secret.New(plain), UserName: ev.UserName, Attributes: ev.Request.UserAttributes, ValidFor: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			if want := wantLocale[ev.Attr("locale")]; e.Locale != want {
				t.Errorf("locale %s, want %s", e.Locale, want)
			}
			if plain != "" && (!strings.Contains(e.Text, plain) || !strings.Contains(e.HTML, htmlEscaped(plain))) {
				t.Errorf("the secret is not shown as %q", plain)
			}
			if strings.Contains(e.HTML, "<b>") || strings.Contains(e.HTML, "&amp;lt;") {
				t.Error("HTML holds markup from an attribute or a double-escaped value")
			}
		})
	}
	if n == 0 {
		t.Fatal("no deliverable fixture events")
	}
}

func TestConcurrentRender(t *testing.T) {
	r := newRenderer(t, render.Options{})
	want, err := r.Render(fullInput(cognito.SignUp, "fr"))
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			for range 50 {
				got, err := r.Render(fullInput(cognito.SignUp, "fr"))
				if err == nil && got != want {
					err = errors.New("concurrent render differs")
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

func BenchmarkRender(b *testing.B) {
	r := newRenderer(b, render.Options{})
	cases := []struct {
		name string
		in   render.Input
	}{
		{"SignUp", fullInput(cognito.SignUp, "de-DE")},
		{"AccountTakeOver", fullInput(cognito.AccountTakeOverNotification, "es")},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := r.Render(c.in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestLazyAndEagerAgree: the cold-start path (templates inlined on first use)
// renders exactly what the checked-at-start path renders, for every template
// and locale, and concurrent first uses are safe (run with -race).
func TestLazyAndEagerAgree(t *testing.T) {
	eager := newRenderer(t, render.Options{CheckAll: true})
	lazy := newRenderer(t, render.Options{})
	triggers := append(append([]cognito.Trigger{}, cognito.Triggers...), "CustomEmailSender_Future")
	var wg sync.WaitGroup
	for _, loc := range []string{"en", "es", "de", "fr", "pt"} {
		for _, tr := range triggers {
			for range 3 {
				wg.Go(func() {
					in := fullInput(tr, loc)
					want, err1 := eager.Render(in)
					got, err2 := lazy.Render(in)
					if err1 != nil || err2 != nil {
						t.Errorf("%s/%s: %v / %v", loc, tr.Short(), err1, err2)
						return
					}
					if got != want {
						t.Errorf("%s/%s: lazy and eager renders differ", loc, tr.Short())
					}
				})
			}
		}
	}
	wg.Wait()
}

// BenchmarkNew is the cold-start cost (lazy: templates are inlined on first use).
func BenchmarkNew(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := render.New(render.Options{Brand: brand}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNewCheckAll builds and trial-renders every template, as New does
// with an override directory.
func BenchmarkNewCheckAll(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := render.New(render.Options{Brand: brand, CheckAll: true}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFirstRender is New plus the first event's render: what a cold
// start pays for templates.
func BenchmarkFirstRender(b *testing.B) {
	in := fullInput(cognito.SignUp, "en")
	b.ReportAllocs()
	for b.Loop() {
		r, err := render.New(render.Options{Brand: brand})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := r.Render(in); err != nil {
			b.Fatal(err)
		}
	}
}
