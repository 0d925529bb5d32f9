package brand_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cogmail/cogmail/pkg/brand"
	"github.com/cogmail/cogmail/pkg/provider/registry"
)

const twoBrands = `
default: Acme
brands:
  - name: Acme
    clientIds: [consumer1]
    from: {address: no-reply@acme.example, name: Acme}
    colors: {accent: "#0f766e"}
  - name: Acme Admin
    clientIds: [admin1, admin2]
    from: {address: admin@acme.example}
    replyTo: {address: sec@acme.example, name: Security}
    providers: [smtp, ses]
`

func TestLookup(t *testing.T) {
	t.Parallel()
	s, err := brand.Parse([]byte(twoBrands))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ client, want string }{
		{"consumer1", "Acme"},
		{"admin1", "Acme Admin"},
		{"admin2", "Acme Admin"},
		{"unknown", "Acme"},
		{"", "Acme"},
	} {
		if got := s.For(tc.client).Name; got != tc.want {
			t.Errorf("For(%q) = %q, want %q", tc.client, got, tc.want)
		}
	}
	if b, ok := s.Named("Acme Admin"); !ok || !slices.Equal(b.Providers, []string{"smtp", "ses"}) || b.ReplyTo.Name != "Security" {
		t.Errorf("Named(Acme Admin) = %+v, %v", b, ok)
	}
	if _, ok := s.Named("nope"); ok {
		t.Error("Named(nope) found a brand")
	}
}

func TestJSONRoundTrip(t *testing.T) {
	t.Parallel()
	s, err := brand.Parse([]byte(twoBrands))
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var back brand.Set
	if err := back.UnmarshalJSON(b); err != nil {
		t.Fatalf("JSON form %s does not parse: %v", b, err)
	}
	if back.For("admin2").From.Address != "admin@acme.example" || back.Default().Name != "Acme" {
		t.Errorf("round trip lost data: %s", b)
	}
}

func TestSingleBrandNeedsNoDefault(t *testing.T) {
	t.Parallel()
	s, err := brand.Parse([]byte(`{"brands":[{"name":"Solo","from":{"address":"a@solo.example"}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if s.For("x").Name != "Solo" {
		t.Errorf("default = %q", s.For("x").Name)
	}
}

// TestEveryProblemListed checks that one error names every problem, each
// with its path.
func TestEveryProblemListed(t *testing.T) {
	t.Parallel()
	doc := `
default: Missing
brands:
  - name: A
    clientIds: [c1, c1]
    from: {address: "not an address"}
    replyTo: {address: "x@"}
    logoUrl: ftp://logo
    colors: {accent: red}
    locale: "!!"
    providers: [ses, postmark, ses]
  - name: A
    from: {address: ok@a.example, name: "two\nlines"}
`
	_, err := brand.Parse([]byte(doc))
	if err == nil {
		t.Fatal("invalid document accepted")
	}
	for _, want := range []string{
		"brands[0].clientIds[1]", "brands[0].from.address", "brands[0].replyTo.address", "brands[0].logoUrl",
		"brands[0].colors.accent", "brands[0].locale", "brands[0].providers[1]", "brands[0].providers[2]",
		"brands[1].name", "brands[1].from.name", "default",
	} {
		if !strings.Contains(err.Error(), want+":") {
			t.Errorf("error does not name %s:\n%v", want, err)
		}
	}
}

func TestRejects(t *testing.T) {
	t.Parallel()
	for name, doc := range map[string]string{
		"empty":             ``,
		"no brands":         `brands: []`,
		"unknown key":       `{"brands":[{"name":"A","from":{"address":"a@a.example"},"colour":"#fff"}]}`,
		"two, no default":   `{"brands":[{"name":"A","from":{"address":"a@a.example"}},{"name":"B","from":{"address":"b@b.example"}}]}`,
		"from is required":  `{"brands":[{"name":"A"}]}`,
		"not a document":    `[1, 2]`,
		"client id with sp": `{"brands":[{"name":"A","clientIds":["a b"],"from":{"address":"a@a.example"}}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if _, err := brand.Parse([]byte(doc)); err == nil {
				t.Errorf("accepted %s", doc)
			}
		})
	}
}

func TestReadFileResolvesTemplatesBesideTheFile(t *testing.T) {
	t.Parallel()
	s, err := brand.ReadFile(filepath.Join("..", "..", "docs", "brands.yaml"))
	if err != nil {
		t.Fatalf("the documented example does not parse: %v", err)
	}
	admin, _ := s.Named("Acme Admin")
	want := filepath.Join("..", "..", "docs", "brands", "admin")
	if admin.Templates != want {
		t.Errorf("templates = %q, want %q", admin.Templates, want)
	}
	if fi, err := os.Stat(admin.Templates); err != nil || !fi.IsDir() {
		t.Errorf("the example's template directory is missing: %v", err)
	}
}

// TestRegistryNamesAccepted: every email provider the registry lists may
// be in a brand's provider order.
func TestRegistryNamesAccepted(t *testing.T) {
	t.Parallel()
	for _, p := range registry.Names(registry.Email) {
		doc := `{"brands":[{"name":"A","from":{"address":"a@a.example"},"providers":["` + p + `"]}]}`
		if _, err := brand.Parse([]byte(doc)); err != nil {
			t.Errorf("provider %s refused: %v", p, err)
		}
	}
}

// TestEveryProblemInOneRound: a document with problems of every kind (a
// misspelt key, a value of the wrong kind, bad values, a missing template
// directory, a broken template) reports them all in one error, in the
// file's order, each with its file, line and key, in the document's own
// terms (no Go type, no other package's prefix).
func TestEveryProblemInOneRound(t *testing.T) {
	t.Parallel()
	file := filepath.Join("testdata", "every-problem.yaml")
	var checked []string
	check := func(b brand.Brand, bare bool) error {
		checked = append(checked, fmt.Sprintf("%s bare=%v", b.Name, bare))
		if strings.HasSuffix(b.Templates, "broken") {
			return errors.New("template: broken/en/SignUp.html:1: bad character U+007D '}'\nsecond line")
		}
		return nil
	}
	_, err := brand.ReadFile(file, check)
	want := file + `:5: brands[0].fromm: unknown key; did you mean "from"? (known keys: name, clientIds, from, replyTo, logoUrl, productUrl, supportUrl, colors, locale, templates, providers, originDomain, smsSegments)
` + file + `:6: brands[0].colors.accent: "red" is not a hex colour (#rgb or #rrggbb)
` + file + `:6: brands[0].colors.backgound: unknown key; did you mean "background"? (known keys: accent, background, text)
` + file + `:7: brands[0].logoUrl: "ftp://logo" is not an absolute http(s) URL
` + file + `:9: brands[1].from.address: "admin@" has no domain
` + file + `:10: brands[1].clientIds: must be a list, not "admin1"
` + file + `:11: brands[1].templates: template: broken/en/SignUp.html:1: bad character U+007D '}'
` + file + `:11: brands[1].templates: second line
` + file + `:14: brands[2].templates: ` + filepath.Join("testdata", "missing") + ` is not a directory (a relative path is taken from the brand file's directory)`
	if err == nil || err.Error() != want {
		t.Fatalf("error:\n%v\nwant:\n%s", err, want)
	}
	// Acme and Admin have problems of their own: they are checked bare (Acme
	// has no templates: the check holds its SMS texts to its segment
	// limit). Ops's directory is missing: not checked.
	if got := strings.Join(checked, ", "); got != "Acme bare=true, Admin bare=true" {
		t.Errorf("checks run: %s", got)
	}
	var be *brand.Error
	if !errors.As(err, &be) || len(be.Document.Brands) != 3 || be.Document.Brands[1].Templates != filepath.Join("testdata", "broken") {
		t.Errorf("the error does not carry the document as read: %+v", be)
	}
	for i := 0; i < 20; i++ { // the same every run
		if _, again := brand.ReadFile(file, check); again == nil || again.Error() != want {
			t.Fatalf("run %d differs:\n%v", i, again)
		}
	}
}

// TestMisspeltKeys: an unknown key is named with the known keys and the
// nearest one, and a key it stands for is not also reported missing.
func TestMisspeltKeys(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ doc, want string }{
		{`{"brands":[{"name":"A","fromm":{"address":"a@a.example"}}]}`, `line 1: brands[0].fromm: unknown key; did you mean "from"?`},
		{`{"brands":[{"name":"A","from":{"address":"a@a.example"},"clientIDs":["x"]}]}`, `line 1: brands[0].clientIDs: unknown key; did you mean "clientIds"?`},
		{`{"brands":[{"name":"A","from":{"address":"a@a.example"},"colour":{}}]}`, `line 1: brands[0].colour: unknown key; did you mean "colors"?`},
		{`{"brand":[{"name":"A","from":{"address":"a@a.example"}}]}`, `line 1: brand: unknown key; did you mean "brands"? (known keys: default, brands)`},
		{`{"brands":[{"name":"A","from":{"address":"a@a.example"},"zzz":1}]}`, `line 1: brands[0].zzz: unknown key (known keys: name,`},
	} {
		_, err := brand.Parse([]byte(tc.doc))
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s:\n got %v\nwant %s...", tc.doc, err, tc.want)
			continue
		}
		if n := strings.Count(err.Error(), "\n"); n != 0 {
			t.Errorf("%s: %d more problems than the key: %v", tc.doc, n, err)
		}
		for _, internal := range []string{"brand.Brand", "brand.Document", "not a brand document", "field ", "yaml:"} {
			if strings.Contains(err.Error(), internal) {
				t.Errorf("%s: the error says %q: %v", tc.doc, internal, err)
			}
		}
	}
}

// TestAddressProblemsInTheDocumentsTerms: an address problem names the key
// and the address, without the recipient package's prefix.
func TestAddressProblemsInTheDocumentsTerms(t *testing.T) {
	t.Parallel()
	_, err := brand.Parse([]byte(`{"brands":[{"name":"A","from":{"address":"x@"},"replyTo":{"name":"Help"}}]}`))
	want := `line 1: brands[0].from.address: "x@" has no domain` + "\n" + `line 1: brands[0].replyTo.address: is required`
	if err == nil || err.Error() != want {
		t.Errorf("error:\n%v\nwant:\n%s", err, want)
	}
	if err != nil && (strings.Contains(err.Error(), "recipient") || strings.Contains(err.Error(), "validate")) {
		t.Errorf("an internal prefix leaks: %v", err)
	}
}

// TestShapeProblems: a document that is not a mapping, an empty one and
// one that is not YAML say so, with the line where known.
func TestShapeProblems(t *testing.T) {
	t.Parallel()
	for doc, want := range map[string]string{
		``:                     `the document is empty (want default: NAME and brands: [...], docs/brands.md)`,
		`[1, 2]`:               `line 1: the document must be a mapping (keys: default, brands), not a list`,
		"brands:\n  - name: [": `line 2: not YAML or JSON: did not find expected node content`,
		"brands: x":            `line 1: brands: must be a list, not "x"`,
		"brands:\n - name: A\n   from: a@b.example\n": `line 3: brands[0].from: must be a mapping (keys: address, name), not "a@b.example"`,
	} {
		if _, err := brand.Parse([]byte(doc)); err == nil || err.Error() != want {
			t.Errorf("%q:\n got %v\nwant %s", doc, err, want)
		}
	}
}

// TestAnchorsAndMergeKeys: brands may share settings through YAML anchors
// and merge keys; a misspelt key inside the anchor is still reported.
func TestAnchorsAndMergeKeys(t *testing.T) {
	t.Parallel()
	doc := `
default: A
brands:
  - &base
    name: A
    from: {address: a@a.example}
    colors: {accent: "#0f766e"}
  - <<: *base
    name: B
    clientIds: [b1]
`
	s, err := brand.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if b, ok := s.Named("B"); !ok || b.From.Address != "a@a.example" || b.Colors.Accent != "#0f766e" {
		t.Errorf("B = %+v", b)
	}
	_, err = brand.Parse([]byte(strings.Replace(doc, "colors:", "colours:", 1)))
	if err == nil || !strings.Contains(err.Error(), `colours: unknown key; did you mean "colors"?`) {
		t.Errorf("a misspelt key in an anchor: %v", err)
	}
}

// TestSMSKeys: originDomain and smsSegments are checked in the document's
// terms, and a check's problem of a brand without templates falls on its
// smsSegments key, else its name.
func TestSMSKeys(t *testing.T) {
	t.Parallel()
	_, err := brand.Parse([]byte("brands:\n - name: A\n   from: {address: a@a.example}\n   originDomain: https://app.example.com\n   smsSegments: 11\n"))
	want := "line 4: brands[0].originDomain: \"https://app.example.com\" is not a host name (app.example.com, without scheme, port or path)\n" +
		"line 5: brands[0].smsSegments: 11 is not between 1 and 10"
	if err == nil || err.Error() != want {
		t.Errorf("error:\n%v\nwant:\n%s", err, want)
	}
	tooLong := func(brand.Brand, bool) error { return errors.New("en/SignUp.sms.txt: too long") }
	for doc, want := range map[string]string{
		"brands:\n - name: A\n   from: {address: a@a.example}\n":                    "line 2: brands[0].name: en/SignUp.sms.txt: too long",
		"brands:\n - name: A\n   from: {address: a@a.example}\n   smsSegments: 2\n": "line 4: brands[0].smsSegments: en/SignUp.sms.txt: too long",
	} {
		if _, err := brand.Parse([]byte(doc), tooLong); err == nil || err.Error() != want {
			t.Errorf("%q:\n got %v\nwant %s", doc, err, want)
		}
	}
	s, err := brand.Parse([]byte("brands:\n - name: A\n   from: {address: a@a.example}\n   originDomain: app.example.com\n   smsSegments: 2\n"))
	if err != nil || s.Default().OriginDomain != "app.example.com" || s.Default().SMSSegments != 2 {
		t.Errorf("Parse: %v, %+v", err, s)
	}
}
