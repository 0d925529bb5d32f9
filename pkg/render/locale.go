package render

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	xlanguage "golang.org/x/text/language"

	"github.com/cogmail/cogmail/pkg/cognito"
)

// maxLocaleLen bounds the input NormalizeLocale looks at; real tags are short
// and the value comes from the client (clientMetadata) or the user profile.
const maxLocaleLen = 64

// NormalizeLocale turns a locale as clients send it into a canonical BCP 47
// tag of at most language, script and region: "de_DE", "DE-de" and
// "de_DE.UTF-8" become "de-DE", "zh_hant_tw" becomes "zh-Hant-TW", and the
// first entry of an Accept-Language list is used ("fr-CA,fr;q=0.9" gives
// "fr-CA"). Variants and extensions are dropped. It returns "" when s holds
// no usable language. Parsing is golang.org/x/text/language's, so only
// languages in its registry count and deprecated codes are replaced ("iw"
// gives "he").
func NormalizeLocale(s string) string {
	out := normalizeOnce(s)
	// x/text replaces deprecated subtags only in some positions ("aa-aay-yd"
	// keeps region YD, "aa-YD" becomes "aa-YE"), so parse the result until it
	// is stable; two more rounds are enough for any tag of three parts
	for range 2 {
		again := normalizeOnce(out)
		if again == out {
			break
		}
		out = again
	}
	return out
}

func normalizeOnce(s string) string {
	t, ok := parseLocale(s)
	if !ok {
		return ""
	}
	base, script, region := t.Raw()
	out := base.String()
	if script.String() != "Zzzz" {
		out += "-" + script.String()
	}
	if region.String() != "ZZ" {
		out += "-" + region.String()
	}
	return out
}

// parseLocale parses s as NormalizeLocale describes; the tag it returns may
// still hold variants and extensions.
func parseLocale(s string) (xlanguage.Tag, bool) {
	if len(s) > maxLocaleLen {
		return xlanguage.Und, false
	}
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, ",;.@"); i >= 0 { // list, weight, POSIX codeset or modifier
		s = strings.TrimSpace(s[:i])
	}
	s = strings.ReplaceAll(s, "_", "-")
	for {
		t, err := xlanguage.Parse(s)
		var verr interface{ Subtag() string }
		if err == nil || errors.As(err, &verr) {
			// a well-formed tag, possibly with an unknown variant or
			// extension, which the parser drops; Raw, unlike Base, infers
			// no language for "und"
			if base, _, _ := t.Raw(); base.String() == "und" {
				return xlanguage.Und, false
			}
			return t, true
		}
		// ill-formed: a trailing subtag that is garbage ("de-DE-foo") ends
		// the tag, as it did before x/text
		i := strings.LastIndexAny(s, "-")
		if i < 0 {
			return xlanguage.Und, false
		}
		s = s[:i]
	}
}

// LocaleResolver picks the locale an email is written in from the locales
// that have templates.
type LocaleResolver struct {
	def       string
	supported []string // canonical, sorted
	matcher   xlanguage.Matcher
}

// NewLocaleResolver returns a resolver over the supported locales whose last
// resort is def. def goes through the same fallback chain ("pt-BR" falls back
// to a supported "pt") and must end on a supported locale.
func NewLocaleResolver(def string, supported ...string) (*LocaleResolver, error) {
	l := &LocaleResolver{}
	var errs []error
	for _, s := range supported {
		c := NormalizeLocale(s)
		if c == "" {
			errs = append(errs, fmt.Errorf("supported locale %q is not a locale", s))
			continue
		}
		if !slices.Contains(l.supported, c) {
			l.supported = append(l.supported, c)
		}
	}
	slices.Sort(l.supported)
	tags := make([]xlanguage.Tag, len(l.supported))
	for i, c := range l.supported {
		tags[i] = xlanguage.Make(c)
	}
	l.matcher = xlanguage.NewMatcher(tags)
	if len(l.supported) == 0 {
		errs = append(errs, errors.New("no supported locales"))
	}
	// the default must be a supported locale or a regional form of one: the
	// matcher's second-language fallbacks ("tlh" reads English, "gl" reads
	// Spanish) are for users, not for an operator's configuration
	if l.def = l.match(def); l.def != "" && !sameLanguage(def, l.def) {
		l.def = ""
	}
	if l.def == "" && len(l.supported) > 0 {
		errs = append(errs, fmt.Errorf("default locale %q is not one of the supported locales %s", def, strings.Join(l.supported, ", ")))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return l, nil
}

// Resolve returns the supported locale for the first candidate that has one,
// trying each candidate's fallback chain (de-DE, then de) before moving on to
// the next candidate, and the default when none matches. Candidates may be in
// any spelling NormalizeLocale accepts; empty ones are skipped.
func (l *LocaleResolver) Resolve(candidates ...string) string {
	for _, c := range candidates {
		if c == "" {
			continue
		}
		if m := l.match(c); m != "" {
			return m
		}
	}
	return l.def
}

// ResolveLocale picks the locale for an event among the embedded locales
// (overrides replace templates but add no locales): clientMetadata.locale,
// then the user's locale attribute, then def, each through its fallback
// chain, and DefaultLocale last. It is LocaleResolver.ForEvent for callers
// that hold a Renderer only through an interface.
func ResolveLocale(e *cognito.Event, def string) string {
	return embeddedLocales().Resolve(e.Request.ClientMetadata["locale"], e.Attr("locale"), def)
}

// embeddedLocales is derived from the embedded files once, on first use.
var embeddedLocales = sync.OnceValue(func() *LocaleResolver {
	var dirs []string
	entries, err := embedded.ReadDir("templates")
	for _, d := range entries {
		if d.IsDir() {
			dirs = append(dirs, d.Name())
		}
	}
	lr, lerr := NewLocaleResolver(DefaultLocale, dirs...)
	if err != nil || lerr != nil {
		panic(fmt.Sprintf("render: embedded templates: %v %v", err, lerr)) // a build defect, caught by the tests
	}
	return lr
})

// ForEvent resolves an event's locale: clientMetadata.locale (what the app
// passed with the request), then the user's locale attribute, then the default.
func (l *LocaleResolver) ForEvent(e *cognito.Event) string {
	return l.Resolve(e.Request.ClientMetadata["locale"], e.Attr("locale"))
}

// Default is the locale used when no candidate matches.
func (l *LocaleResolver) Default() string { return l.def }

// Supported lists the supported locales, sorted.
func (l *LocaleResolver) Supported() []string { return slices.Clone(l.supported) }

// match returns the supported locale x/text's matcher picks for s with at
// least high confidence (de-DE gives de, pt-BR and pt-PT give pt, es-419
// gives es, and CLDR's second languages: gsw gives de, ht gives fr), or ""
// when s is no locale or none fits well enough: a low-confidence match (a
// related language, another script) is not taken.
func (l *LocaleResolver) match(s string) string {
	t, ok := parseLocale(s)
	if !ok || len(l.supported) == 0 {
		return ""
	}
	_, i, conf := l.matcher.Match(t)
	if conf < xlanguage.High {
		return ""
	}
	return l.supported[i]
}

// sameLanguage reports whether a and b parse to the same language subtag.
func sameLanguage(a, b string) bool {
	ta, oka := parseLocale(a)
	tb, okb := parseLocale(b)
	if !oka || !okb {
		return false
	}
	ba, _, _ := ta.Raw()
	bb, _, _ := tb.Raw()
	return ba == bb
}
