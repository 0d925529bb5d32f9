// Package brand is the configuration of the brands one user pool sends as:
// each app client (Cognito's callerContext.clientId) may have its own sender,
// look, templates and provider order, and a default brand serves every other
// client. The same document, YAML or JSON, is read from a file
// (`cogmail local --brands`), from COGMAIL_BRANDS, or from the "brands" key
// of the SSM routing parameter; docs/brands.md describes it.
package brand

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/cogmail/cogmail/pkg/provider/registry"
	"github.com/cogmail/cogmail/pkg/recipient"
	"github.com/cogmail/cogmail/pkg/render"
)

// Providers dispatch knows; kept here so that a misspelt provider order is a
// start-up error in ingest too (routing.Known() holds the same names and
// a test keeps them equal).
var knownProviders = []string{"sendgrid", "mailgun", "ses", "smtp"}

// maxDocument bounds a brand document (an SSM advanced parameter holds 8 KiB;
// a file may be larger, but never megabytes).
const maxDocument = 1 << 20

// Address is an email address with an optional display name.
type Address struct {
	Address string `json:"address" yaml:"address"`
	Name    string `json:"name,omitempty" yaml:"name,omitempty"`
}

// Colors are the brand's colours, CSS hex (#rgb or #rrggbb). Empty ones keep
// the built-in layout's colours.
type Colors struct {
	Accent     string `json:"accent,omitempty" yaml:"accent,omitempty"`         // buttons and links
	Background string `json:"background,omitempty" yaml:"background,omitempty"` // the page around the card
	Text       string `json:"text,omitempty" yaml:"text,omitempty"`             // body text and headings
}

// Brand is how one group of app clients' emails look and who sends them.
type Brand struct {
	// Name is the product name the templates show, and the brand's key in
	// the queue message, the inbox and the logs. Unique.
	Name      string   `json:"name" yaml:"name"`
	ClientIDs []string `json:"clientIds,omitempty" yaml:"clientIds,omitempty"`
	From      Address  `json:"from" yaml:"from"`
	ReplyTo   Address  `json:"replyTo,omitzero" yaml:"replyTo,omitempty"`
	LogoURL   string   `json:"logoUrl,omitempty" yaml:"logoUrl,omitempty"`
	// ProductURL is where the logo or product name in the header links to.
	ProductURL string `json:"productUrl,omitempty" yaml:"productUrl,omitempty"`
	SupportURL string `json:"supportUrl,omitempty" yaml:"supportUrl,omitempty"`
	Colors     Colors `json:"colors,omitzero" yaml:"colors,omitempty"`
	// Locale is the brand's default locale (default: COGMAIL_DEFAULT_LOCALE).
	Locale string `json:"locale,omitempty" yaml:"locale,omitempty"`
	// Templates is a directory of template files that replace the built-in
	// ones file for file (en/SignUp.html, layout.html, ...); any file it
	// lacks falls back to the built-in one. Relative paths are relative to
	// the brand file's directory.
	Templates string `json:"templates,omitempty" yaml:"templates,omitempty"`
	// Providers, when set, is the order dispatch tries providers in for this
	// brand's messages (failover), instead of the routing's.
	Providers []string `json:"providers,omitempty" yaml:"providers,omitempty"`
	// OriginDomain is the host of the brand's web app ("app.example.com"):
	// its text messages with a code end with "@app.example.com #123456",
	// for one-tap autofill (WebOTP, iOS and Android).
	OriginDomain string `json:"originDomain,omitempty" yaml:"originDomain,omitempty"`
	// SMSSegments is the most segments one of the brand's text messages may
	// take in the worst case (render.DefaultSMSSegments, 1, when 0); a
	// template that could take more is a start-up error.
	SMSSegments int `json:"smsSegments,omitempty" yaml:"smsSegments,omitempty"`
}

// Document is the configuration's serialized form.
type Document struct {
	// Default names the brand for unknown or absent client ids; it may be
	// omitted when there is exactly one brand.
	Default string  `json:"default,omitempty" yaml:"default,omitempty"`
	Brands  []Brand `json:"brands" yaml:"brands"`
}

// Set is a validated Document, ready for lookups. It is read-only and safe
// for concurrent use.
type Set struct {
	doc      Document
	def      int
	byClient map[string]int
	byName   map[string]int
}

// Parse reads a YAML or JSON document (JSON is YAML) and validates it,
// reporting every problem at once in an *Error, each with its line and path
// ("line 7: brands[1].from.address: ..."). Unknown keys are problems, with
// the known keys and the nearest one: a misspelt key would otherwise be
// ignored without a word.
func Parse(b []byte, checks ...Check) (*Set, error) {
	if len(b) > maxDocument {
		return nil, &Error{Problems: []Problem{{Message: fmt.Sprintf("the document of %d bytes is over the %d byte limit", len(b), maxDocument)}}}
	}
	d, pos, probs, ok := decode(b)
	if !ok {
		return nil, &Error{Problems: probs}
	}
	return build(d, pos, probs, checks)
}

// ReadFile parses the document in a file; a relative Templates directory is
// taken relative to the file's directory, and must be a directory. Its
// problems name the file and line ("brands.yaml:7: brands[1].from.address: ...").
func ReadFile(name string, checks ...Check) (*Set, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("brand file: %w", err)
	}
	if len(b) > maxDocument {
		return nil, &Error{Problems: []Problem{{File: name, Message: fmt.Sprintf("the document of %d bytes is over the %d byte limit", len(b), maxDocument)}}}
	}
	d, pos, probs, ok := decode(b)
	if !ok {
		for i := range probs {
			probs[i].File = name
		}
		return nil, &Error{Problems: probs}
	}
	dir := filepath.Dir(name)
	for i := range d.Brands {
		t := d.Brands[i].Templates
		if t == "" {
			continue
		}
		if !filepath.IsAbs(t) {
			t = filepath.Join(dir, t)
			d.Brands[i].Templates = t
		}
		if fi, err := os.Stat(t); err != nil || !fi.IsDir() {
			p := fmt.Sprintf("brands[%d].templates", i)
			probs = append(probs, Problem{Line: pos.line(p), Path: p, Message: fmt.Sprintf("%s is not a directory (a relative path is taken from the brand file's directory)", t)})
		}
	}
	s, err := build(d, pos, probs, checks)
	var e *Error
	if errors.As(err, &e) {
		for i := range e.Problems {
			e.Problems[i].File = name
		}
	}
	return s, err
}

// New validates d and returns its Set; its problems are an *Error.
func New(d Document, checks ...Check) (*Set, error) { return build(d, nil, nil, checks) }

// Check is a check of a brand beyond its document: its templates
// (ingest.CheckTemplates), which this package does not render. It is run
// on each brand; bare is true when the brand's entry has problems of its
// own, so that the check can leave out what is reported already. Each line
// of its error is a problem of the brand's "templates" key, or, for a brand
// without one (whose built-in SMS texts can only be too long for its name,
// origin domain and segment limit), of its "smsSegments" key if set, else
// its "name".
type Check func(b Brand, bare bool) error

// build validates d and returns its Set, or an *Error with the problems
// found before (probs), those of d's values and those of the checks, in the
// document's order. A value under a key already reported (of the wrong
// kind, say) is not reported again.
func build(d Document, pos positions, probs []Problem, checks []Check) (*Set, error) {
	s, vals := validate(d)
	for _, v := range vals {
		if slices.ContainsFunc(probs, func(p Problem) bool { return within(v.Path, p.Path) || within(v.Path, p.covers) }) {
			continue
		}
		v.Line, v.column = pos.at(v.Path)
		probs = append(probs, v)
	}
	for i, b := range d.Brands {
		path := fmt.Sprintf("brands[%d].templates", i)
		switch {
		case b.Templates != "":
		case b.SMSSegments != 0:
			path = fmt.Sprintf("brands[%d].smsSegments", i)
		default:
			path = fmt.Sprintf("brands[%d].name", i)
		}
		if len(checks) == 0 || slices.ContainsFunc(probs, func(p Problem) bool { return within(path, p.Path) }) {
			continue
		}
		bare := slices.ContainsFunc(probs, func(p Problem) bool { return p.Brand() == i })
		for _, check := range checks {
			err := check(b, bare)
			if err == nil {
				continue
			}
			line, col := pos.at(path)
			for _, msg := range strings.Split(err.Error(), "\n") {
				probs = append(probs, Problem{Line: line, column: col, Path: path, Message: msg})
			}
		}
	}
	if len(probs) > 0 {
		sortProblems(probs)
		return nil, &Error{Problems: probs, Document: d}
	}
	return s, nil
}

// within reports whether path is parent or under it.
func within(path, parent string) bool {
	return parent != "" && (path == parent || strings.HasPrefix(path, parent+".") || strings.HasPrefix(path, parent+"["))
}

// validate checks d's values; the problems have no line.
func validate(d Document) (*Set, []Problem) {
	var errs []Problem
	fail := func(path, format string, args ...any) {
		errs = append(errs, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	address := func(path, v string) {
		switch err := recipient.ValidateAddress(v); {
		case err == nil:
		case v == "":
			fail(path, "is required")
		default:
			// The recipient package's reasons read "the address has no
			// domain"; here the address is the user's own configuration.
			var re *recipient.Error
			why := err.Error()
			if errors.As(err, &re) {
				why = strings.TrimPrefix(re.Reason, "the address ")
			}
			fail(path, "%q %s", v, why)
		}
	}
	s := &Set{doc: d, def: -1, byClient: map[string]int{}, byName: map[string]int{}}
	if len(d.Brands) == 0 {
		fail("brands", "names no brand")
	}
	for i, b := range d.Brands {
		p := fmt.Sprintf("brands[%d]", i)
		switch {
		case strings.TrimSpace(b.Name) == "":
			fail(p+".name", "is required")
		case strings.ContainsAny(b.Name, "\r\n\t") || len(b.Name) > 80:
			fail(p+".name", "must be one line of at most 80 bytes")
		default:
			if j, dup := s.byName[b.Name]; dup {
				fail(p+".name", "%q is also the name of brands[%d]", b.Name, j)
			}
			s.byName[b.Name] = i
		}
		for k, id := range b.ClientIDs {
			switch j, dup := s.byClient[id]; {
			case strings.TrimSpace(id) == "" || strings.ContainsAny(id, " \r\n\t") || len(id) > 128:
				fail(fmt.Sprintf("%s.clientIds[%d]", p, k), "%q is not an app client id", id)
			case dup:
				fail(fmt.Sprintf("%s.clientIds[%d]", p, k), "%q is also a client of brands[%d]", id, j)
			default:
				s.byClient[id] = i
			}
		}
		address(p+".from.address", b.From.Address)
		if strings.ContainsAny(b.From.Name, "\r\n") {
			fail(p+".from.name", "contains a line break")
		}
		if b.ReplyTo != (Address{}) {
			address(p+".replyTo.address", b.ReplyTo.Address)
			if strings.ContainsAny(b.ReplyTo.Name, "\r\n") {
				fail(p+".replyTo.name", "contains a line break")
			}
		}
		// In the document's order of keys, so the problems read the same
		// every run.
		for _, f := range []struct{ key, v string }{{"logoUrl", b.LogoURL}, {"productUrl", b.ProductURL}, {"supportUrl", b.SupportURL}} {
			if f.v == "" {
				continue
			}
			if u, err := url.Parse(f.v); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				fail(p+"."+f.key, "%q is not an absolute http(s) URL", f.v)
			}
		}
		for _, f := range []struct{ key, v string }{{"accent", b.Colors.Accent}, {"background", b.Colors.Background}, {"text", b.Colors.Text}} {
			if f.v != "" && !hexColor().MatchString(f.v) {
				fail(p+".colors."+f.key, "%q is not a hex colour (#rgb or #rrggbb)", f.v)
			}
		}
		if b.Locale != "" && !localeTag().MatchString(b.Locale) {
			fail(p+".locale", "%q is not a locale (en, de, pt-BR)", b.Locale)
		}
		if b.OriginDomain != "" && !render.ValidOriginDomain(b.OriginDomain) {
			fail(p+".originDomain", "%q is not a host name (app.example.com, without scheme, port or path)", b.OriginDomain)
		}
		if b.SMSSegments < 0 || b.SMSSegments > render.MaxSMSSegments {
			fail(p+".smsSegments", "%d is not between 1 and %d", b.SMSSegments, render.MaxSMSSegments)
		}
		seen := map[string]bool{}
		// The registry's names, so that a misspelt provider order is a
		// start-up error in ingest too.
		known := registry.Names(registry.Email)
		for k, name := range b.Providers {
			switch {
			case !slices.Contains(known, name):
				fail(fmt.Sprintf("%s.providers[%d]", p, k), "%q is not a provider (want %s)", name, strings.Join(known, ", "))
			case seen[name]:
				fail(fmt.Sprintf("%s.providers[%d]", p, k), "%q is listed twice", name)
			}
			seen[name] = true
		}
	}
	switch i, ok := s.byName[d.Default]; {
	case len(d.Brands) == 0: // reported above
	case d.Default == "" && len(d.Brands) == 1:
		s.def = 0
	case d.Default == "" && len(d.Brands) > 1:
		fail("default", "is required with more than one brand (name the brand for unknown client ids)")
	case !ok:
		names := make([]string, 0, len(d.Brands))
		for _, b := range d.Brands {
			names = append(names, strconv.Quote(b.Name))
		}
		fail("default", "%q is not the name of a brand (the brands: %s)", d.Default, strings.Join(names, ", "))
	default:
		s.def = i
	}
	return s, errs
}

// The patterns are compiled on first use, not at every cold start: most
// pools have no brand document.
var (
	hexColor  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$`) })
	localeTag = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-zA-Z]{2,3}(?:[-_][a-zA-Z0-9]{2,8})*$`) })
)

// For returns the brand of an app client id: its own, or the default.
func (s *Set) For(clientID string) Brand {
	if i, ok := s.byClient[clientID]; ok {
		return s.doc.Brands[i]
	}
	return s.doc.Brands[s.def]
}

// Named returns the brand with that name.
func (s *Set) Named(name string) (Brand, bool) {
	i, ok := s.byName[name]
	if !ok {
		return Brand{}, false
	}
	return s.doc.Brands[i], true
}

// Default returns the default brand.
func (s *Set) Default() Brand { return s.doc.Brands[s.def] }

// Brands returns every brand, in the document's order.
func (s *Set) Brands() []Brand { return slices.Clone(s.doc.Brands) }

// Document returns the set's document (with Default filled in).
func (s *Set) Document() Document {
	d := s.doc
	d.Brands = slices.Clone(d.Brands)
	d.Default = d.Brands[s.def].Name
	return d
}

// MarshalJSON writes the document, so a Set can sit in a JSON configuration.
func (s *Set) MarshalJSON() ([]byte, error) { return json.Marshal(s.Document()) }

// UnmarshalJSON reads and validates a document.
func (s *Set) UnmarshalJSON(b []byte) error {
	n, err := Parse(b)
	if err != nil {
		return err
	}
	*s = *n
	return nil
}
