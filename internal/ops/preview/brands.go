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
	if err := brandsTemplate.Execute(&buf, out); err != nil {
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

var brandsTemplate = template.Must(template.New("brands").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>cogmail email templates by brand</title>
<style>
body { margin: 24px; font-family: -apple-system, BlinkMacSystemFont, Segoe UI, Roboto, Helvetica, Arial, sans-serif; color: #111827; }
h1 { font-size: 22px; }
li { margin: 0 0 12px 0; }
.frame { width: 240px; height: 320px; overflow: hidden; border: 1px solid #e5e7eb; }
.frame iframe { width: 600px; height: 800px; border: 0; transform: scale(0.4); transform-origin: 0 0; }
</style>
</head>
<body>
<h1>Email templates by brand</h1>
<ul>
{{- range .Galleries}}
<li><a href="{{.Dir}}/index.html">{{.Brand}}</a>: {{len .Entries}} emails
<div class="frame"><iframe src="{{.Dir}}/en/SignUp.html" title="{{.Brand}}: SignUp (en)" sandbox=""></iframe></div></li>
{{- end}}
</ul>
</body>
</html>
`))
