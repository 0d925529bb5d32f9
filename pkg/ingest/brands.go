package ingest

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cogmail/cogmail/pkg/brand"
	"github.com/cogmail/cogmail/pkg/render"
)

// Brand is how one app client's emails look and who sends them.
type Brand struct {
	Name     string   // the brand's name, carried in the envelope for dispatch and the logs
	Renderer Renderer // the brand's templates
	// From, FromName, ReplyTo and ReplyToName are sealed with the message;
	// an empty From leaves dispatch's configured sender in place.
	From, FromName       string
	ReplyTo, ReplyToName string
	// DefaultLocale is used when neither the client metadata nor the user
	// names a locale; empty means Options.DefaultLocale.
	DefaultLocale string
}

// Brands picks the brand of an app client id (callerContext.clientId); an
// unknown or empty id gets the default brand.
type Brands interface {
	Brand(clientID string) Brand
}

// BrandSet is the Brands of a brand document, each with its own renderer.
type BrandSet struct {
	set    *brand.Set
	byName map[string]Brand
}

// Brand returns the client's brand, or the default one.
func (s *BrandSet) Brand(clientID string) Brand { return s.byName[s.set.For(clientID).Name] }

// NewBrandSet builds one renderer per brand, at cold start. A brand with a
// template directory has every template parsed, inlined and trial-rendered
// here, so a broken one is a start-up error naming the brand and the file;
// the built-in templates are built on first use as usual. defaultLocale
// stands in for a brand without a locale.
func NewBrandSet(set *brand.Set, defaultLocale string) (*BrandSet, error) {
	s := &BrandSet{set: set, byName: map[string]Brand{}}
	var errs []error
	for _, b := range set.Brands() {
		o := RenderOptions(b, defaultLocale)
		loc := o.DefaultLocale
		r, err := render.New(o)
		if err != nil {
			errs = append(errs, fmt.Errorf("brand %q: %w", b.Name, err))
			continue
		}
		s.byName[b.Name] = Brand{
			Name: b.Name, Renderer: r, From: b.From.Address, FromName: b.From.Name,
			ReplyTo: b.ReplyTo.Address, ReplyToName: b.ReplyTo.Name, DefaultLocale: loc,
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("ingest: brands: %w", errors.Join(errs...))
	}
	return s, nil
}

// RenderOptions are the render options of a brand: its name as the product
// name, its from name as the sender, its links, colours, locale (else
// defaultLocale) and template directory.
func RenderOptions(b brand.Brand, defaultLocale string) render.Options {
	loc := b.Locale
	if loc == "" {
		loc = defaultLocale
	}
	sender := b.From.Name
	if sender == "" {
		sender = b.Name
	}
	return render.Options{
		Brand: render.Brand{
			ProductName: b.Name, SenderName: sender, SupportURL: b.SupportURL, LogoURL: b.LogoURL,
			ProductURL:   b.ProductURL,
			Colors:       render.Colors{Accent: b.Colors.Accent, Background: b.Colors.Background, Text: b.Colors.Text},
			OriginDomain: b.OriginDomain,
		},
		DefaultLocale: loc,
		OverrideDir:   b.Templates,
		SMSSegments:   b.SMSSegments,
	}
}

// single is the one brand of a pool without a brand document.
type single Brand

func (s single) Brand(string) Brand { return Brand(s) }

// CheckTemplates is the brand.Check of a brand's templates: each parsed,
// inlined and trial-rendered as NewBrandSet does at cold start, and the
// worst case of each SMS template held to the brand's segment limit where
// render.New holds it (the brand sets smsSegments, originDomain or SMS
// templates; SMSWarnings reports the others), so that
// `brand.ReadFile(name, ingest.CheckTemplates(locale))` reports a document's
// problems and its templates' in one round. For a brand whose entry has
// problems of its own (bare), the templates are checked alone: its colours
// or locale are reported already.
func CheckTemplates(defaultLocale string) brand.Check {
	return func(b brand.Brand, bare bool) error {
		o := RenderOptions(b, defaultLocale)
		if bare {
			o = render.Options{DefaultLocale: defaultLocale, OverrideDir: b.Templates}
		}
		// A brand without templates has the built-in emails, which the
		// golden tests prove: only its SMS worst case (its name and origin
		// domain against its segment limit) is left to check, and New
		// checks it where it refuses one.
		o.CheckAll = b.Templates != ""
		_, err := render.New(o)
		if err == nil {
			return nil
		}
		// The brand file's reader names the brand and its templates key;
		// the render package's own prefix says nothing more to its user.
		lines := strings.Split(err.Error(), "\n")
		for i, l := range lines {
			lines[i] = strings.TrimPrefix(l, "render: ")
		}
		return errors.New(strings.Join(lines, "\n"))
	}
}

// SMSWarnings are the warnings of the brands of set whose built-in SMS
// texts take more than the default segment limit in the worst case, where
// nothing refuses them (see SMSWarning), in the brands' order. A brand whose
// templates do not build is left out: CheckTemplates reports it.
func SMSWarnings(set *brand.Set, defaultLocale string) []string {
	var out []string
	for _, b := range set.Brands() {
		r, err := render.New(RenderOptions(b, defaultLocale))
		if err != nil {
			continue
		}
		if w := SMSWarning(r, fmt.Sprintf("brand %q", b.Name), "shorten its name or set smsSegments: %d (docs/brands.md)"); w != "" {
			out = append(out, w)
		}
	}
	return out
}

// SMSWarning is the warning of a renderer whose SMS templates' worst case is
// over its segment limit where New did not refuse them (the built-in texts
// at the default limit), or "" when there is none: such a brand's emails are
// untouched, but each of its text messages may be billed as several
// segments. who names the brand; fix is the advice, with a %d for the
// segments the longest worst case takes.
func SMSWarning(r *render.Renderer, who, fix string) string {
	if r.SMSEnforced() {
		return ""
	}
	over, err := r.SMSOverflows()
	if err != nil || len(over) == 0 {
		return ""
	}
	most := 0
	files := make([]string, 0, len(over))
	for _, o := range over {
		most = max(most, o.Segments)
		files = append(files, fmt.Sprintf("%s (%d segments, %s)", strings.TrimPrefix(o.File, "embedded:"), o.Segments, o.Encoding))
	}
	return fmt.Sprintf("%s: its SMS texts take more than the default limit of %d segment in the worst case (the longest code, name and validity): %s; "+
		"email is not affected, but each text message may be sent and billed as up to %d segments: %s",
		who, r.SMSLimit(), strings.Join(files, ", "), most, fmt.Sprintf(fix, most))
}
