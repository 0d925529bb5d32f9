package render_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/cogmail/cogmail/pkg/cognito"
	"github.com/cogmail/cogmail/pkg/render"
)

func TestNormalizeLocale(t *testing.T) {
	cases := []struct{ in, want string }{
		{"de-DE", "de-DE"},
		{"de_DE", "de-DE"},
		{"DE-de", "de-DE"},
		{"de", "de"},
		{"EN", "en"},
		{" es-es ", "es-ES"},
		{"de_DE.UTF-8", "de-DE"},
		{"de_DE@euro", "de-DE"},
		{"fr-CA,fr;q=0.9,en;q=0.8", "fr-CA"},
		{"pt-br;q=1", "pt-BR"},
		{"zh_hant_tw", "zh-Hant-TW"},
		{"sr-latn", "sr-Latn"},
		{"es-419", "es-419"},
		{"en-US-x-private", "en-US"},
		{"de-DE-1996", "de-DE"},
		{"ast", "ast"},
		{"de-DE-foo", "de-DE"},
		{"iw", "he"},
		{"zz", ""},
		{"xx-YY", ""},
		{"", ""},
		{"C", ""},
		{"POSIX", ""},
		{"english", ""},
		{"12-34", ""},
		{"<script>", ""},
		{"e\u0301n", ""},
		{strings.Repeat("a", 100), ""},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			if got := render.NormalizeLocale(c.in); got != c.want {
				t.Errorf("NormalizeLocale(%q) = %q, want %q", c.in, got, c.want)
			}
		})
	}
}

func TestResolve(t *testing.T) {
	supported := []string{"en", "es", "de", "fr", "pt"}
	cases := []struct {
		name       string
		def        string
		candidates []string
		want       string
	}{
		{"exact", "en", []string{"es"}, "es"},
		{"region falls back to language", "en", []string{"de-DE"}, "de"},
		{"underscore and case", "en", []string{"DE_de"}, "de"},
		{"three-digit region", "en", []string{"es-419"}, "es"},
		{"script and region", "en", []string{"pt-Latn-BR"}, "pt"},
		{"unsupported falls to default", "en", []string{"ja-JP"}, "en"},
		{"other default", "fr", []string{"ja"}, "fr"},
		{"regional default", "pt-BR", []string{"ja"}, "pt"},
		{"first usable candidate wins", "en", []string{"", "it", "fr-BE", "es"}, "fr"},
		{"metadata before attribute", "en", []string{"de", "es"}, "de"},
		{"garbage is skipped", "en", []string{"!!", "pt_PT"}, "pt"},
		{"none", "de", nil, "de"},
		{"close language (x/text: Swiss German reads German)", "en", []string{"gsw"}, "de"},
		{"unrelated language", "en", []string{"ca"}, "en"},
		{"CLDR second language (Haitian Creole reads French)", "en", []string{"ht"}, "fr"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			lr, err := render.NewLocaleResolver(c.def, supported...)
			if err != nil {
				t.Fatal(err)
			}
			if got := lr.Resolve(c.candidates...); got != c.want {
				t.Errorf("Resolve(%q) = %q, want %q", c.candidates, got, c.want)
			}
		})
	}
}

// TestResolveScripts pins what x/text's matching does where the old
// truncation walk differed: a script the templates are not written in is no
// match, and Norwegian Bokmål and Nynorsk read Norwegian.
func TestResolveScripts(t *testing.T) {
	lr, err := render.NewLocaleResolver("en", "en", "zh", "sr", "no")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ in, want string }{
		{"zh-CN", "zh"}, {"zh-Hant-TW", "en"}, {"zh-TW", "en"},
		{"sr-RS", "sr"}, {"sr-Latn", "en"},
		{"nb", "no"}, {"nn", "no"},
	}
	for _, c := range cases {
		if got := lr.Resolve(c.in); got != c.want {
			t.Errorf("Resolve(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestForEvent(t *testing.T) {
	lr, err := render.NewLocaleResolver("en", "en", "es", "de")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		metadata map[string]string
		attrs    map[string]string
		want     string
	}{
		{"client metadata first", map[string]string{"locale": "es-MX"}, map[string]string{"locale": "de"}, "es"},
		{"attribute when no metadata", nil, map[string]string{"locale": "de_DE"}, "de"},
		{"attribute when metadata is unsupported", map[string]string{"locale": "ja"}, map[string]string{"locale": "de"}, "de"},
		{"default", nil, map[string]string{"email": "a@example.com"}, "en"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := &cognito.Event{Request: cognito.Request{ClientMetadata: c.metadata, UserAttributes: c.attrs}}
			if got := lr.ForEvent(e); got != c.want {
				t.Errorf("ForEvent = %q, want %q", got, c.want)
			}
		})
	}
}

func TestResolveLocale(t *testing.T) {
	cases := []struct {
		name     string
		metadata map[string]string
		attrs    map[string]string
		def      string
		want     string
	}{
		{"client metadata", map[string]string{"locale": "fr_FR"}, map[string]string{"locale": "de"}, "en", "fr"},
		{"attribute", nil, map[string]string{"locale": "de-DE"}, "en", "de"},
		{"unsupported metadata falls to the attribute", map[string]string{"locale": "ja"}, map[string]string{"locale": "pt-BR"}, "en", "pt"},
		{"configured default", nil, nil, "es-MX", "es"},
		{"unsupported default", nil, nil, "it", render.DefaultLocale},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := &cognito.Event{Request: cognito.Request{ClientMetadata: c.metadata, UserAttributes: c.attrs}}
			if got := render.ResolveLocale(e, c.def); got != c.want {
				t.Errorf("ResolveLocale = %q, want %q", got, c.want)
			}
		})
	}
}

func TestNewLocaleResolverErrors(t *testing.T) {
	cases := []struct {
		name      string
		def       string
		supported []string
		want      string
	}{
		{"default not supported", "it", []string{"en", "de"}, `default locale "it"`},
		{"nothing supported", "en", nil, "no supported locales"},
		{"garbage supported", "en", []string{"en", "???"}, `"???" is not a locale`},
		{"default only a second language", "tlh", []string{"en", "de"}, `default locale "tlh"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := render.NewLocaleResolver(c.def, c.supported...)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want it to mention %q", err, c.want)
			}
		})
	}
}

func TestResolveAllocations(t *testing.T) {
	lr, err := render.NewLocaleResolver("en", "en", "de")
	if err != nil {
		t.Fatal(err)
	}
	// x/text's parser and matcher allocate a few times per call (4, 8 and 9
	// for these on x/text v0.43.0); the bound catches a matcher built per
	// call, which costs hundreds.
	cases := []struct {
		in    string
		alloc float64
	}{{"de", 8}, {"de-DE", 16}, {"de_DE", 16}}
	for _, c := range cases {
		if got := testing.AllocsPerRun(100, func() { lr.Resolve(c.in) }); got > c.alloc {
			t.Errorf("Resolve(%q) allocates %v times, want at most %v", c.in, got, c.alloc)
		}
	}
}

var canonicalTag = regexp.MustCompile(`^[a-z]{2,3}(-[A-Z][a-z]{3})?(-([A-Z]{2}|[0-9]{3}))?$`)

func FuzzNormalizeLocale(f *testing.F) {
	for _, s := range []string{"de_DE", "DE-de", "zh_hant_tw", "fr-CA,fr;q=0.9", "es-419", "de_DE.UTF-8@euro", "", "-", "a-b-c-d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := render.NormalizeLocale(s)
		if got == "" {
			return
		}
		if !canonicalTag.MatchString(got) {
			t.Fatalf("NormalizeLocale(%q) = %q is not a canonical tag", s, got)
		}
		if again := render.NormalizeLocale(got); again != got {
			t.Fatalf("not idempotent: %q -> %q -> %q", s, got, again)
		}
	})
}

// BenchmarkResolveLocale measures the locale resolution ingest does once per
// event: client metadata, then the user's attribute, then the brand default.
func BenchmarkResolveLocale(b *testing.B) {
	cases := []struct{ name, metadata, attr, def string }{
		{"exact", "de", "", "en"},
		{"regional", "", "pt-BR", "en"},
		{"posix", "de_DE.UTF-8", "", "en"},
		{"unsupported", "ja-JP", "zz", "es-MX"},
	}
	for _, c := range cases {
		e := &cognito.Event{Request: cognito.Request{ClientMetadata: map[string]string{"locale": c.metadata}, UserAttributes: map[string]string{"locale": c.attr}}}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				render.ResolveLocale(e, c.def)
			}
		})
	}
}
