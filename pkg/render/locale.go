package render

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

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
// no usable language.
func NormalizeLocale(s string) string {
	if len(s) > maxLocaleLen {
		return ""
	}
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, ",;.@"); i >= 0 { // list, weight, POSIX codeset or modifier
		s = strings.TrimSpace(s[:i])
	}
	var (
		out   [3]string // language, script, region
		n     int
		first = true
	)
subtags:
	for tag := range strings.FieldsFuncSeq(s, func(r rune) bool { return r == '-' || r == '_' }) {
		switch {
		case first:
			if len(tag) < 2 || len(tag) > 3 || !isAlpha(tag) {
				return ""
			}
			out[0], n, first = tag, 1, false
		case n == 1 && len(tag) == 4 && isAlpha(tag):
			out[1], n = tag, 2
		case n <= 2 && (len(tag) == 2 && isAlpha(tag) || len(tag) == 3 && isDigit(tag)):
			out[2], n = tag, 3
		default: // a variant, an extension or garbage ends the tag
			break subtags
		}
	}
	if first {
		return ""
	}
	return canonical(s, out[0], out[1], out[2])
}

// canonical spells the parts as BCP 47 recommends (de, Hant, DE). When s
// already starts with exactly that spelling it returns a slice of s, so the
// common case (a tag that is already canonical) allocates nothing.
func canonical(s, lang, script, region string) string {
	var buf [maxLocaleLen + 2]byte
	b := appendCase(buf[:0], lang, false)
	if script != "" {
		b = append(b, '-')
		b = appendCase(b, script[:1], true)
		b = appendCase(b, script[1:], false)
	}
	if region != "" {
		b = append(b, '-')
		b = appendCase(b, region, true)
	}
	if len(s) >= len(b) && s[:len(b)] == string(b) {
		return s[:len(b)]
	}
	return string(b)
}

func appendCase(b []byte, s string, upper bool) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case upper && 'a' <= c && c <= 'z':
			c -= 'a' - 'A'
		case !upper && 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return b
}

func isAlpha(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i] | 0x20; c < 'a' || c > 'z' {
			return false
		}
	}
	return s != ""
}

func isDigit(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// LocaleResolver picks the locale an email is written in from the locales
// that have templates.
type LocaleResolver struct {
	def       string
	supported []string // canonical, sorted
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
	if len(l.supported) == 0 {
		errs = append(errs, errors.New("no supported locales"))
	}
	if l.def = l.match(NormalizeLocale(def)); l.def == "" && len(l.supported) > 0 {
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
		if m := l.match(NormalizeLocale(c)); m != "" {
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

// match walks tag's fallback chain (zh-Hant-TW, zh-Hant, zh) and returns the
// first supported entry. tag must be canonical.
func (l *LocaleResolver) match(tag string) string {
	for tag != "" {
		if i, ok := slices.BinarySearch(l.supported, tag); ok {
			return l.supported[i]
		}
		i := strings.LastIndexByte(tag, '-')
		if i < 0 {
			break
		}
		tag = tag[:i]
	}
	return ""
}
