package render

import (
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	texttemplate "text/template"
	"time"

	"github.com/cogmail/cogmail/pkg/cognito"
	"github.com/cogmail/cogmail/pkg/secret"
)

//go:embed templates
var embedded embed.FS

// maxTemplateBytes bounds an override file; templates are a few kilobytes.
const maxTemplateBytes = 1 << 20

// file is one template source and where it came from.
type file struct {
	origin string // "embedded:en/SignUp.html" or the override's path
	text   string
}

// New loads the templates and applies the override directory. With an
// override directory (or Options.CheckAll) it also parses every template,
// inlines the HTML layout's CSS and renders each once with sample data, so
// that any broken template is a start-up error naming its file; all problems
// are reported at once.
func New(o Options) (*Renderer, error) {
	var errs []error
	b, err := checkBrand(o.Brand)
	if err != nil {
		errs = append(errs, err)
	}
	files, locales, err := loadFiles(o.OverrideDir)
	if err != nil {
		errs = append(errs, err)
	}
	def := o.DefaultLocale
	if def == "" {
		def = DefaultLocale
	}
	lr, err := NewLocaleResolver(def, locales...)
	if err != nil {
		errs = append(errs, fmt.Errorf("render: %w", err))
	}
	r := &Renderer{brand: b, locales: lr, files: files, sets: map[setKey]*lazySet{}, sms: map[setKey]*lazySMS{}}
	for _, loc := range locales {
		for _, name := range templateNames() {
			r.sets[setKey{loc, name}] = &lazySet{}
		}
		for _, name := range smsTemplateNames() {
			r.sms[setKey{loc, name}] = &lazySMS{}
		}
	}
	smsLimit := o.SMSSegments
	switch {
	case smsLimit == 0:
		smsLimit = DefaultSMSSegments
	case smsLimit < 0 || smsLimit > MaxSMSSegments:
		errs = append(errs, fmt.Errorf("render: SMSSegments must be between 1 and %d", MaxSMSSegments))
	}
	eager := o.OverrideDir != "" || o.CheckAll
	if eager {
		if err := checkSyntax(files); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	r.smsLimit, r.eager = smsLimit, eager
	r.smsEnforced = smsEnforced(o, files)
	// Where the operator has taken charge of the SMS text (smsEnforced), its
	// worst case is held to the limit on every start, lazy or not: it
	// depends on the brand's product name and origin domain, which no
	// golden file fixes. Elsewhere the check can refuse nothing, so a cold
	// start does not pay for it; the CLI warns (SMSOverflows).
	if r.smsEnforced {
		over, err := r.checkSMS(smsLimit, eager)
		for _, o := range over {
			errs = append(errs, o)
		}
		if err != nil {
			errs = append(errs, err)
		}
		if len(errs) > 0 {
			return nil, errors.Join(errs...)
		}
	}
	if !eager {
		return r, nil
	}
	// Inlining dominates this check (the layout's CSS is parsed and matched for
	// each of the 45 templates), so the templates are built in parallel.
	keys := make([]setKey, 0, len(r.sets))
	for k := range r.sets {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b setKey) int { return strings.Compare(a.locale+"/"+a.name, b.locale+"/"+b.name) })
	errOf := make([]error, len(keys))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i, k := range keys {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			s, err := r.set(k)
			if err == nil {
				err = trial(s, b, k.locale, k.name)
			}
			errOf[i] = err
		})
	}
	wg.Wait()
	seen := map[string]bool{} // a broken layout would otherwise be reported once per template
	for _, err := range errOf {
		if err != nil && !seen[err.Error()] {
			seen[err.Error()] = true
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return r, nil
}

// checkSyntax parses every file on its own, so that a syntax error names the
// file it is in (the errors read "template: PATH:LINE: ...").
func checkSyntax(files map[string]file) error {
	keys := make([]string, 0, len(files))
	for k := range files {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var errs []error
	for _, k := range keys {
		f := files[k]
		var err error
		if strings.HasSuffix(k, ".html") {
			_, err = htmltemplate.New(f.origin).Parse(f.text)
		} else {
			_, err = texttemplate.New(f.origin).Parse(f.text)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func checkBrand(b Brand) (Brand, error) {
	var errs []error
	b.ProductName = oneLine(b.ProductName, maxName)
	if strings.TrimSpace(b.ProductName) == "" {
		b.ProductName = DefaultProductName
	}
	b.SenderName = oneLine(b.SenderName, maxName)
	if b.SenderName == "" {
		b.SenderName = b.ProductName
	}
	// In a fixed order, so that the same options fail the same way every run.
	for _, f := range []struct{ field, v string }{{"Colors.Accent", b.Colors.Accent}, {"Colors.Background", b.Colors.Background}, {"Colors.Text", b.Colors.Text}} {
		if f.v != "" && !hexColor().MatchString(f.v) {
			errs = append(errs, fmt.Errorf("render: Brand.%s must be a hex colour (#rgb or #rrggbb)", f.field))
		}
	}
	for _, f := range []struct{ field, v string }{{"SupportURL", b.SupportURL}, {"LogoURL", b.LogoURL}, {"ProductURL", b.ProductURL}} {
		if f.v == "" {
			continue
		}
		u, err := url.Parse(f.v)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			errs = append(errs, fmt.Errorf("render: Brand.%s must be an absolute http(s) URL", f.field))
		}
	}
	if b.OriginDomain != "" && !ValidOriginDomain(b.OriginDomain) {
		errs = append(errs, errors.New("render: Brand.OriginDomain must be a host name (app.example.com), without scheme, port or path"))
	}
	return b, errors.Join(errs...)
}

// ValidOriginDomain reports whether s can be Brand.OriginDomain: an ASCII
// DNS host name of two or more labels, what WebOTP's "@host" matches against
// the page's origin.
func ValidOriginDomain(s string) bool {
	if len(s) > 253 || !strings.Contains(s, ".") {
		return false
	}
	for _, l := range strings.Split(s, ".") {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// templateNames are the per-trigger templates: one per known trigger, then Generic.
func templateNames() []string {
	names := make([]string, 0, len(cognito.Triggers)+1)
	for _, t := range cognito.Triggers {
		names = append(names, t.Short())
	}
	return append(names, Generic)
}

// The files of a locale directory, besides the per-trigger ones.
const (
	layoutHTML = "layout.html"
	layoutText = "layout.txt"
	footerHTML = "footer.html"
	footerText = "footer.txt"
)

func subjectFile(name string) string { return name + ".subject.txt" }
func htmlFile(name string) string    { return name + ".html" }
func textFile(name string) string    { return name + ".txt" }

// loadFiles reads the embedded templates, then lays the override directory
// over them. Every override file must replace an embedded one: a misspelt
// name would otherwise be ignored without a word. Hidden files are skipped.
func loadFiles(dir string) (map[string]file, []string, error) {
	files := map[string]file{}
	var locales []string
	sub, err := fs.Sub(embedded, "templates")
	if err != nil {
		return nil, nil, err
	}
	err = fs.WalkDir(sub, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != "." {
				locales = append(locales, p)
			}
			return nil
		}
		b, err := fs.ReadFile(sub, p)
		files[p] = file{origin: "embedded:" + p, text: string(b)}
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("render: embedded templates: %w", err)
	}
	if dir == "" {
		return files, locales, nil
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return files, locales, fmt.Errorf("render: template override directory %s: not a readable directory", dir)
	}
	var errs []error
	err = fs.WalkDir(os.DirFS(dir), ".", func(p string, d fs.DirEntry, err error) error {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err != nil {
			errs = append(errs, fmt.Errorf("render: template override %s: %w", full, err))
			return nil
		}
		if p != "." && strings.HasPrefix(path.Base(p), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		if _, ok := files[p]; !ok {
			errs = append(errs, fmt.Errorf("render: template override %s: not a template cogmail uses (overrides replace embedded files of the same name, such as en/SignUp.html or layout.html)", full))
			return nil
		}
		b, err := readLimited(full)
		if err != nil {
			errs = append(errs, fmt.Errorf("render: template override %s: %w", full, err))
			return nil
		}
		files[p] = file{origin: full, text: b}
		return nil
	})
	if err != nil {
		errs = append(errs, fmt.Errorf("render: template override directory %s: %w", dir, err))
	}
	return files, locales, errors.Join(errs...)
}

func readLimited(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxTemplateBytes+1))
	if err != nil {
		return "", err
	}
	if len(b) > maxTemplateBytes {
		return "", fmt.Errorf("larger than %d bytes", maxTemplateBytes)
	}
	return string(b), nil
}

// build parses one trigger's templates for one locale. The HTML body is the
// layout with the locale's content and footer spliced in as source, so that
// the layout's CSS can be inlined into them before parsing.
func build(files map[string]file, loc, name string, colors Colors) (*set, error) {
	get := func(p string) file { return files[p] }
	subj := get(path.Join(loc, subjectFile(name)))
	layH, contH, footH := get(layoutHTML), get(path.Join(loc, htmlFile(name))), get(path.Join(loc, footerHTML))
	layT, contT, footT := get(layoutText), get(path.Join(loc, textFile(name))), get(path.Join(loc, footerText))

	s := &set{label: contH.origin}
	var err error
	if s.subject, err = texttemplate.New(subj.origin).Option("missingkey=zero").Parse(subj.text); err != nil {
		return nil, err
	}
	s.text = texttemplate.New(layT.origin).Option("missingkey=zero")
	if _, err := s.text.Parse(layT.text); err != nil {
		return nil, err
	}
	if _, err := s.text.New("content").Parse(contT.text); err != nil {
		return nil, err
	}
	if _, err := s.text.New("footer").Parse(footT.text); err != nil {
		return nil, err
	}

	label := layH.origin + " with " + contH.origin
	src, err := splice(layH, map[string]string{"content": contH.text, "footer": footH.text})
	if err != nil {
		return nil, err
	}
	src = themed(src, colors)
	inlined, err := inlineCSS(label, src)
	if err != nil {
		return nil, err
	}
	if s.html, err = htmltemplate.New(label).Option("missingkey=zero").Parse(inlined); err != nil {
		return nil, err
	}
	return s, nil
}

// The patterns are compiled on first use rather than at every cold start.
var (
	hexColor = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$`) })
	// colorVar matches var(--cogmail-NAME, DEFAULT) in the layout's CSS.
	colorVar = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`var\(\s*--cogmail-(accent|background|text)\s*,\s*(#[0-9a-fA-F]{3,6})\s*\)`)
	})
)

// themed replaces the layout's colour variables with the brand's colours
// (validated hex, so nothing can escape the CSS value) or their defaults.
// Mail clients do not all support CSS variables; inlined plain colours they do.
func themed(src string, c Colors) string {
	re := colorVar()
	return re.ReplaceAllStringFunc(src, func(m string) string {
		sub := re.FindStringSubmatch(m)
		v := map[string]string{"accent": c.Accent, "background": c.Background, "text": c.Text}[sub[1]]
		if v == "" {
			v = sub[2]
		}
		return v
	})
}

// includeAction matches {{template "content" .}} and {{template "footer" .}}
// in the HTML layout.
var includeAction = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`\{\{-?\s*template\s+"(content|footer)"\s*\.?\s*-?\}\}`)
})

// splice replaces the layout's includes with the parts' source.
func splice(layout file, parts map[string]string) (string, error) {
	found := map[string]int{}
	re := includeAction()
	out := re.ReplaceAllStringFunc(layout.text, func(m string) string {
		name := re.FindStringSubmatch(m)[1]
		found[name]++
		return parts[name]
	})
	if found["content"] != 1 {
		return "", fmt.Errorf("%s: must contain {{template \"content\" .}} exactly once (found %d)", layout.origin, found["content"])
	}
	return out, nil
}

// trialCode is the sample code of the trial renders: distinctive, and the
// same whether escaped or not.
const trialCode = "Trial7c1fCode"

// trial renders s with sample data, with and without every optional value, so
// that templates which parse but cannot execute (a misspelt field, an
// html/template context error), print "<no value>", have an empty subject or
// lose the code fail at start-up rather than on a user's email.
func trial(s *set, b Brand, loc, name string) error {
	trigger := cognito.Trigger(cognito.TriggerPrefix + name)
	full := Input{
		Trigger:  trigger,
		Code:     secret.New(trialCode),
		UserName: "user",
		Attributes: map[string]string{
			"name": "Name", cognito.AttrLoginTime: "time", cognito.AttrCity: "city",
			cognito.AttrCountry: "country", cognito.AttrIPAddress: "192.0.2.1", cognito.AttrDeviceName: "device",
			cognito.AttrEventResponse: "BLOCK", cognito.AttrOneClickLinkValid: "https://example.com/valid",
			cognito.AttrOneClickLinkInvalid: "https://example.com/invalid",
		},
		ValidFor: time.Hour,
	}
	bare := Input{Trigger: trigger, Code: full.Code}
	parts := []struct {
		part, file string
		t          executor
	}{
		{"subject", s.subject.Name(), s.subject},
		{"html", s.label, s.html},
		{"text", s.text.Name() + " with " + path.Join(loc, textFile(name)), s.text},
	}
	for _, in := range []Input{full, bare} {
		d := newData(b, loc, in)
		for _, p := range parts {
			var sb strings.Builder
			if err := p.t.Execute(&sb, d); err != nil {
				return fmt.Errorf("%s (%s): %w", s.label, p.part, err)
			}
			out := sb.String()
			switch {
			case strings.Contains(out, "<no value>"):
				return fmt.Errorf("%s: prints <no value>", p.file)
			case p.part == "subject" && oneLine(out, maxSubject) == "":
				return fmt.Errorf("%s: the subject is empty", p.file)
			case p.part != "subject" && trigger.RequiresCode() && !strings.Contains(out, trialCode):
				return fmt.Errorf("%s: the %s body does not show the code ({{.Code}})", p.file, p.part)
			}
		}
	}
	return nil
}
