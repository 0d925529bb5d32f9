// Package preview renders every email template, for every trigger source and
// locale, with fixed sample data into a directory with an index.html gallery,
// so templates (the embedded ones or a user's overrides) can be reviewed in a
// browser. `cogmail templates preview` writes it.
package preview

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"os"
	"path"
	"path/filepath"
	"time"

	"github.com/cogmail/cogmail/pkg/cognito"
	"github.com/cogmail/cogmail/pkg/ingest"
	"github.com/cogmail/cogmail/pkg/render"
	"github.com/cogmail/cogmail/pkg/secret"
)

// The sample data every preview shows. The password holds characters HTML
// must escape, so an escaping mistake shows in the gallery.
const (
	SampleCode     = "123456"
	SamplePassword = "Tmp<Pa55>&w0rd"
	SampleUserName = "jane.doe"
	SampleName     = "Jane"
)

// unknownTrigger stands for a trigger source a future Cognito may add: it
// renders the Generic template.
const unknownTrigger cognito.Trigger = cognito.TriggerPrefix + "FutureSource"

// Entry is one rendered email of a gallery.
type Entry struct {
	Template string // the trigger's short name ("SignUp") or render.Generic
	Locale   string
	Subject  string
	HTML     string // path of the HTML body, relative to the gallery, slash-separated
	Text     string // path of the text body, likewise
}

// Gallery is what Write wrote.
type Gallery struct {
	Dir       string
	Index     string   // Dir/index.html
	Locales   []string // columns, sorted
	Templates []string // rows: the trigger sources in cognito.Triggers order, then render.Generic
	Entries   []Entry  // by template, then locale
}

// Write renders every template of r in every locale it supports to
// dir/<locale>/<Template>.html and .txt, and writes dir/index.html: a table of
// templates × locales with each subject, links and a preview of each HTML
// body. dir is created if needed; files already there are overwritten.
func Write(dir string, r *render.Renderer) (*Gallery, error) {
	g := &Gallery{Dir: dir, Index: filepath.Join(dir, "index.html"), Locales: r.Locales().Supported()}
	triggers := append(append([]cognito.Trigger{}, cognito.Triggers...), unknownTrigger)
	var errs []error
	for _, t := range triggers {
		name := t.Short()
		if t == unknownTrigger {
			name = render.Generic
		}
		g.Templates = append(g.Templates, name)
		for _, loc := range g.Locales {
			ent, err := writeOne(dir, r, t, loc)
			if err != nil {
				errs = append(errs, fmt.Errorf("preview: %s/%s: %w", loc, name, err))
				continue
			}
			g.Entries = append(g.Entries, ent)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := indexTemplate.Execute(&buf, g.rows()); err != nil {
		return nil, fmt.Errorf("preview: index.html: %w", err)
	}
	if err := os.WriteFile(g.Index, buf.Bytes(), 0o644); err != nil {
		return nil, fmt.Errorf("preview: %w", err)
	}
	return g, nil
}

// sampleInput returns the sample input a preview renders for trigger t in locale.
func sampleInput(t cognito.Trigger, locale string) render.Input {
	in := render.Input{
		Trigger: t, Locale: locale, UserName: SampleUserName, Code: secret.New(SampleCode),
		Attributes: map[string]string{"email": SampleUserName + "@example.com", "given_name": SampleName},
		ValidFor:   ingest.ExpiryFor(nil, t),
	}
	switch t {
	case cognito.AdminCreateUser:
		in.Code = secret.New(SamplePassword)
	case cognito.AccountTakeOverNotification:
		in.Code = secret.Code{}
		in.Attributes = map[string]string{
			cognito.AttrLoginTime: time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC).Format("Jan 2, 2006 3:04:05 PM"),
			cognito.AttrCity:      "Lisbon", cognito.AttrCountry: "Portugal", cognito.AttrIPAddress: "203.0.113.7",
			cognito.AttrDeviceName: "Chrome, Linux", cognito.AttrEventResponse: "BLOCK",
			cognito.AttrOneClickLinkValid:   "https://example.com/cognito/valid",
			cognito.AttrOneClickLinkInvalid: "https://example.com/cognito/invalid",
		}
	}
	return in
}

func writeOne(dir string, r *render.Renderer, t cognito.Trigger, locale string) (Entry, error) {
	email, err := r.Render(sampleInput(t, locale))
	if err != nil {
		return Entry{}, err
	}
	ent := Entry{Template: email.Template, Locale: email.Locale, Subject: email.Subject,
		HTML: path.Join(email.Locale, email.Template+".html"), Text: path.Join(email.Locale, email.Template+".txt")}
	if err := os.MkdirAll(filepath.Join(dir, email.Locale), 0o755); err != nil {
		return Entry{}, err
	}
	if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(ent.HTML)), []byte(email.HTML), 0o644); err != nil {
		return Entry{}, err
	}
	if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(ent.Text)), []byte(email.Text), 0o644); err != nil {
		return Entry{}, err
	}
	return ent, nil
}

type row struct {
	Template string
	Cells    []Entry
}

type indexData struct {
	Locales []string
	Rows    []row
	Count   int
	Code    string
}

func (g *Gallery) rows() indexData {
	d := indexData{Locales: g.Locales, Count: len(g.Entries), Code: SampleCode}
	for _, name := range g.Templates {
		r := row{Template: name}
		for _, e := range g.Entries {
			if e.Template == name {
				r.Cells = append(r.Cells, e)
			}
		}
		d.Rows = append(d.Rows, r)
	}
	return d
}

// galleryStyle is the look of the gallery and of the brands' index. The
// previews are the emails at 600 px, scaled to 0.35 (210 px): the five
// locales and the template names fit a 1400 px window, long trigger names
// wrapping in their column.
const galleryStyle = `<style>
body { margin: 20px; font-family: -apple-system, BlinkMacSystemFont, Segoe UI, Roboto, Helvetica, Arial, sans-serif; color: #111827; background: #ffffff; }
h1 { font-size: 22px; margin: 0 0 4px 0; }
.lead { color: #4b5563; margin: 0 0 16px 0; }
table { border-collapse: collapse; width: max-content; }
th, td { border: 1px solid #d1d5db; padding: 7px; vertical-align: top; text-align: left; }
thead th { background: #1f2937; color: #f9fafb; position: sticky; top: 0; z-index: 1; }
thead th a { color: #f9fafb; }
tbody th { background: #f3f4f6; width: 130px; max-width: 130px; overflow-wrap: anywhere; font-size: 14px; }
.subject { font-size: 12px; font-weight: bold; width: 210px; margin: 0 0 6px 0; }
.frame { width: 210px; height: 280px; overflow: hidden; border: 1px solid #e5e7eb; background: #f3f4f6; }
.frame iframe { width: 600px; height: 800px; border: 0; transform: scale(0.35); transform-origin: 0 0; }
.links { font-size: 12px; margin: 6px 0 0 0; }
.links a { color: #2563eb; }
</style>`

// sandbox="" keeps any script an override template might hold from
// running in the gallery.
var indexTemplate = template.Must(template.New("index").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>cogmail email templates</title>
` + galleryStyle + `
</head>
<body>
<h1>Email templates</h1>
<p class="lead">{{.Count}} emails: every template in every locale, rendered with sample data (code {{.Code}}). Written by <code>cogmail templates preview</code>.</p>
<table>
<thead><tr><th>Template</th>{{range .Locales}}<th>{{.}}</th>{{end}}</tr></thead>
<tbody>
{{- range .Rows}}
<tr id="{{.Template}}"><th>{{.Template}}</th>
{{- range .Cells}}
<td><p class="subject">{{.Subject}}</p><div class="frame"><iframe src="{{.HTML}}" title="{{.Template}} ({{.Locale}})" sandbox=""></iframe></div><p class="links"><a href="{{.HTML}}">HTML</a> · <a href="{{.Text}}">text</a></p></td>
{{- end}}
</tr>
{{- end}}
</tbody>
</table>
</body>
</html>
`))
