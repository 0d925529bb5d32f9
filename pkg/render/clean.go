package render

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits, in characters, on single-line values. The subject becomes a mail
// header; names and attributes come from the user's profile, which the user
// controls, so they are kept to one short line before a template sees them.
const (
	maxSubject = 250
	maxName    = 100
	maxAttr    = 2048
)

// oneLine folds s into a single line of at most limit characters: every run
// of whitespace (CR, LF, tab, U+2028 …) becomes one space, control and
// bidirectional-override characters and invalid UTF-8 are dropped, the ends
// are trimmed, and an overlong value is cut with "…". A value that is already
// clean is returned as is, without allocating.
func oneLine(s string, limit int) string {
	if isOneLine(s, limit) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	n, space := 0, false
	for _, r := range s {
		switch {
		case foldable(r):
			space = n > 0
			continue
		case dropped(r):
			continue
		}
		if space {
			b.WriteByte(' ')
			n++
			space = false
		}
		b.WriteRune(r)
		n++
	}
	out := b.String()
	if n <= limit {
		return out
	}
	cut := 0
	for i := range out {
		if cut == limit-1 {
			return strings.TrimRight(out[:i], " ") + "…"
		}
		cut++
	}
	return out
}

// isOneLine reports whether oneLine would return s unchanged.
func isOneLine(s string, limit int) bool {
	n, prevSpace := 0, true // true: a leading space is not clean either
	for _, r := range s {
		if r == ' ' {
			if prevSpace {
				return false
			}
			prevSpace = true
		} else {
			if foldable(r) || dropped(r) {
				return false
			}
			prevSpace = false
		}
		n++
	}
	return n <= limit && (s == "" || !prevSpace)
}

// foldable: whitespace that breaks or pads a line. No-break spaces stay: they
// are part of the text (French puts one before ":" and "?").
func foldable(r rune) bool {
	return unicode.IsSpace(r) && r != '\u00a0' && r != '\u202f'
}

// dropped: control characters (C0, DEL, C1), invalid UTF-8, and the
// bidirectional embedding, override and isolate controls, which can make a
// name display as something else ("Trojan Source").
func dropped(r rune) bool {
	return r == utf8.RuneError || unicode.IsControl(r) ||
		(r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069)
}
