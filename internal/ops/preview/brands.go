package preview

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"os"
	"path/filepath"
	"strings"

	"github.com/cogmail/cogmail/pkg/render"
)

// Brand is one brand's renderer, for WriteBrands.
type Brand struct {
	Name     string
	Renderer *render.Renderer
}

// BrandGallery is one brand's gallery, in its own directory.
type BrandGallery struct {
	Brand string
	Dir   string // relative to the top directory, slash-separated
	*Gallery
}

// Brands is what WriteBrands wrote.
type Brands struct {
	Dir       string
	Index     string // Dir/index.html: links to each brand's gallery
	Galleries []BrandGallery
}

// WriteBrands writes one gallery per brand, each in dir/<brand> (its name
// folded to lower-case letters, digits and dashes), and dir/index.html
// linking them.
func WriteBrands(dir string, brands []Brand) (*Brands, error) {
	out := &Brands{Dir: dir, Index: filepath.Join(dir, "index.html")}
	var errs []error
	seen := map[string]string{}
	for _, b := range brands {
		slug := Slug(b.Name)
		if other, dup := seen[slug]; dup {
			errs = append(errs, fmt.Errorf("preview: brands %q and %q would share the directory %s", other, b.Name, slug))
			continue
		}
		seen[slug] = b.Name
		g, err := Write(filepath.Join(dir, slug), b.Renderer)
		if err != nil {
			errs = append(errs, fmt.Errorf("brand %q: %w", b.Name, err))
			continue
		}
		out.Galleries = append(out.Galleries, BrandGallery{Brand: b.Name, Dir: slug, Gallery: g})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := brandsTemplate.Execute(&buf, indexOf(out)); err != nil {
		return nil, fmt.Errorf("preview: index.html: %w", err)
	}
	if err := os.WriteFile(out.Index, buf.Bytes(), 0o644); err != nil {
		return nil, fmt.Errorf("preview: %w", err)
	}
	return out, nil
}

// Slug folds a brand name to a directory name: "Acme Admin" is "acme-admin".
func Slug(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	s := strings.TrimSuffix(b.String(), "-")
	if s == "" {
		s = "brand"
	}
	return s
}

// brandsIndex is the brands' index: one column per brand, in the
// gallery's look, with the brand's sign-up email and a link to its gallery.
type brandsIndex struct {
	Count  int
	Brands []brandColumn
}

type brandColumn struct {
	Name, Dir string
	Emails    int
	Sample    Entry // en/SignUp, or the gallery's first email
}

func indexOf(b *Brands) brandsIndex {
	var x brandsIndex
	for _, g := range b.Galleries {
		c := brandColumn{Name: g.Brand, Dir: g.Dir, Emails: len(g.Entries)}
		for i, e := range g.Entries {
			if i == 0 || (e.Template == "SignUp" && e.Locale == render.DefaultLocale) {
				c.Sample = e
			}
		}
		x.Count += c.Emails
		x.Brands = append(x.Brands, c)
	}
	return x
}

var brandsTemplate = template.Must(template.New("brands").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>cogmail email templates by brand</title>
` + galleryStyle + `
</head>
<body>
<h1>Email templates by brand</h1>
<p class="lead">{{len .Brands}} brands, {{.Count}} emails: each brand's gallery has every template in every locale in its look. Written by <code>cogmail templates preview --brands</code>.</p>
<table>
<thead><tr><th>Brand</th>{{range .Brands}}<th><a href="{{.Dir}}/index.html">{{.Name}}</a></th>{{end}}</tr></thead>
<tbody>
<tr><th>{{range $i, $b := .Brands}}{{if eq $i 0}}{{$b.Sample.Template}} ({{$b.Sample.Locale}}){{end}}{{end}}</th>
{{- range .Brands}}
<td><p class="subject">{{.Sample.Subject}}</p><div class="frame"><iframe src="{{.Dir}}/{{.Sample.HTML}}" title="{{.Name}}: {{.Sample.Template}} ({{.Sample.Locale}})" sandbox=""></iframe></div><p class="links"><a href="{{.Dir}}/index.html">all {{.Emails}} emails</a> · <a href="{{.Dir}}/{{.Sample.Text}}">text</a></p></td>
{{- end}}
</tr>
</tbody>
</table>
</body>
</html>
`))
