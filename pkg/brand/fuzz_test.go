package brand_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cogmail/cogmail/pkg/brand"
)

// FuzzParse: no document makes Parse panic or hang, a refused one says
// why in the document's terms, and an accepted one is valid.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"every-problem.yaml"} {
		if b, err := os.ReadFile(filepath.Join("testdata", name)); err == nil {
			f.Add(string(b))
		}
	}
	if b, err := os.ReadFile(filepath.Join("..", "..", "docs", "brands.yaml")); err == nil {
		f.Add(string(b))
	}
	f.Add(twoBrands)
	f.Add("a: &a [*a]")
	f.Add("brands:\n  - &b\n    name: A\n  - <<: *b\n")
	f.Fuzz(func(t *testing.T, doc string) {
		s, err := brand.Parse([]byte(doc))
		switch {
		case err == nil && (s == nil || len(s.Brands()) == 0):
			t.Fatalf("accepted %q with no brand", doc)
		case err != nil && strings.TrimSpace(err.Error()) == "":
			t.Fatalf("refused %q without a reason", doc)
		case err != nil && strings.Contains(err.Error(), "brand.Brand"):
			t.Fatalf("refused %q in Go's terms: %v", doc, err)
		}
	})
}
