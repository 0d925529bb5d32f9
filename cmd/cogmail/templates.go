package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"path/filepath"

	"github.com/cogmail/cogmail/internal/ops/preview"
	"github.com/cogmail/cogmail/pkg/ingest"
	"github.com/cogmail/cogmail/pkg/render"
)

func templatesCommand() command {
	return command{name: "templates", summary: "work with the email templates: preview", run: runTemplates}
}

const templatesExamples = `
Examples:
  cogmail templates preview --out preview && xdg-open preview/index.html
  cogmail templates preview --out preview --brands docs/brands.yaml
  cogmail templates preview --out preview --template-dir my-templates \
    --product-name Acme --logo-url https://acme.example/logo.png --support-url https://acme.example/help
`

func templatesUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: cogmail templates preview --out DIR [flags]\n\nSubcommands:\n  preview   render every trigger × locale to HTML and text, with an index.html gallery")
	fmt.Fprint(w, templatesExamples)
}

func runTemplates(ctx context.Context, e *env, args []string) int {
	return runVerb(ctx, e, "cogmail templates", []verb{{"preview", runTemplatesPreview}}, templatesUsage, args)
}

func runTemplatesPreview(_ context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("cogmail templates preview", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	out := fs.String("out", "", "directory to write the gallery to (required; created if needed)")
	dir := fs.String("template-dir", "", "templates that replace the embedded ones file for file (as COGMAIL_TEMPLATE_DIR)")
	product := fs.String("product-name", "Acme", "product name the emails show")
	logo := fs.String("logo-url", "", "http(s) URL of the logo in the header")
	support := fs.String("support-url", "", "http(s) URL of the support link in the footer")
	brandsFile := fs.String("brands", "", "brand document (docs/brands.md): one gallery per brand, each with its own look and templates")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: cogmail templates preview --out DIR [flags]\n\nRenders every trigger source × locale with sample data (code "+preview.SampleCode+", a temporary\npassword with characters HTML escapes, sample sign-in details) to DIR/<locale>/<Template>.html\nand .txt, and writes DIR/index.html, a gallery of them all. Every template is checked first:\na broken override is reported with its file name.\n\nFlags:")
		fs.PrintDefaults()
		fmt.Fprint(fs.Output(), templatesExamples)
	}
	if code, ok := parseNoOperands(e, fs, args); !ok {
		return code
	}
	if *out == "" {
		fmt.Fprintln(e.stderr, "cogmail templates preview: --out DIR is required")
		return exitUsage
	}
	for flagName, v := range map[string]string{"--logo-url": *logo, "--support-url": *support} {
		if u, err := url.Parse(v); v != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
			fmt.Fprintf(e.stderr, "cogmail templates preview: %s %q is not an http(s) URL\n", flagName, v)
			return exitUsage
		}
	}
	if *brandsFile != "" {
		return previewBrands(e, *out, *brandsFile)
	}
	r, err := render.New(render.Options{
		Brand:       render.Brand{ProductName: *product, LogoURL: *logo, SupportURL: *support},
		OverrideDir: *dir,
		CheckAll:    true,
	})
	if err != nil {
		fmt.Fprintf(e.stderr, "cogmail templates preview: %v\n", err)
		return exitFailed
	}
	g, err := preview.Write(*out, r)
	if err != nil {
		fmt.Fprintf(e.stderr, "cogmail templates preview: %v\n", err)
		return exitFailed
	}
	index, err := filepath.Abs(g.Index)
	if err != nil {
		index = g.Index
	}
	fmt.Fprintf(e.stdout, "wrote %d emails (%d templates × %d locales) to %s\nopen %s\n",
		len(g.Entries), len(g.Templates), len(g.Locales), g.Dir, (&url.URL{Scheme: "file", Path: filepath.ToSlash(index)}).String())
	return exitOK
}

// previewBrands writes one gallery per brand of the document in file.
func previewBrands(e *env, out, file string) int {
	set, ok := readBrands(e.stderr, "cogmail templates preview: --brands", file)
	if !ok {
		return exitUsage
	}
	var brands []preview.Brand
	var errs []error
	for _, b := range set.Brands() {
		o := ingest.RenderOptions(b, render.DefaultLocale)
		o.CheckAll = true
		r, err := render.New(o)
		if err != nil {
			errs = append(errs, fmt.Errorf("brand %q: %w", b.Name, err))
			continue
		}
		brands = append(brands, preview.Brand{Name: b.Name, Renderer: r})
	}
	if len(errs) > 0 {
		fmt.Fprintf(e.stderr, "cogmail templates preview: %v\n", errors.Join(errs...))
		return exitFailed
	}
	g, err := preview.WriteBrands(out, brands)
	if err != nil {
		fmt.Fprintf(e.stderr, "cogmail templates preview: %v\n", err)
		return exitFailed
	}
	index, err := filepath.Abs(g.Index)
	if err != nil {
		index = g.Index
	}
	for _, bg := range g.Galleries {
		fmt.Fprintf(e.stdout, "%s: wrote %d emails to %s\n", bg.Brand, len(bg.Entries), bg.Gallery.Dir)
	}
	fmt.Fprintf(e.stdout, "open %s\n", (&url.URL{Scheme: "file", Path: filepath.ToSlash(index)}).String())
	return exitOK
}
