package brand_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cogmail/cogmail/pkg/brand"
	"github.com/cogmail/cogmail/pkg/providerconfig"
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

func TestProviderNamesMatchProviderconfig(t *testing.T) {
	t.Parallel()
	for _, p := range providerconfig.Known {
		doc := `{"brands":[{"name":"A","from":{"address":"a@a.example"},"providers":["` + p + `"]}]}`
		if _, err := brand.Parse([]byte(doc)); err != nil {
			t.Errorf("provider %s refused: %v", p, err)
		}
	}
}
