// Package redact makes provider answers safe to put into errors and logs:
// it removes email addresses and known secrets, flattens whitespace and
// bounds the length.
package redact

import (
	"strings"
	"unicode/utf8"
)

// MaxLen is the longest reason Reason returns, in bytes (plus an ellipsis).
const MaxLen = 200

// Address replaces anything that looks like an email address.
const Address = "[address]"

// Secret replaces a known secret.
const Secret = "[redacted]"

// Reason returns s with every secret (of 4 bytes or more: shorter ones would
// shred ordinary words) replaced by Secret, every email-address-like token
// replaced by Address, control characters and runs of white space folded
// into single spaces, and the result cut to MaxLen bytes.
func Reason(s string, secrets ...string) string {
	for _, sec := range secrets {
		if len(sec) >= 4 {
			s = strings.ReplaceAll(s, sec, Secret)
		}
	}
	s = addresses(s)
	s = fold(s)
	if len(s) > MaxLen {
		cut := MaxLen
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// addresses replaces local@domain tokens (also with a percent-encoded @).
func addresses(s string) string {
	if !strings.Contains(s, "@") && !strings.Contains(s, "%40") {
		return s
	}
	var b strings.Builder
	i := 0
	for i < len(s) {
		at, width := nextAt(s, i)
		if at < 0 {
			b.WriteString(s[i:])
			break
		}
		start := at
		for start > i && localChar(s[start-1]) {
			start--
		}
		end := at + width
		for end < len(s) && domainChar(s[end]) {
			end++
		}
		if start == at || end == at+width {
			// Not an address: keep one byte and scan on, so "%40@x" still
			// finds the local part "40".
			b.WriteString(s[i : at+1])
			i = at + 1
			continue
		}
		b.WriteString(s[i:start])
		b.WriteString(Address)
		i = end
	}
	return b.String()
}

func nextAt(s string, from int) (int, int) {
	a := strings.IndexByte(s[from:], '@')
	p := strings.Index(s[from:], "%40")
	switch {
	case a < 0 && p < 0:
		return -1, 0
	case p < 0 || (a >= 0 && a < p):
		return from + a, 1
	default:
		return from + p, 3
	}
}

func localChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		strings.IndexByte("!#$%&'*+/=?^_`{|}~.-", c) >= 0 || c >= 0x80
}

func domainChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '.' || c == '-' || c >= 0x80
}

// fold turns control characters and white space runs into single spaces.
func fold(s string) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == ' ' || r == utf8.RuneError || r == '\u2028' || r == '\u2029' {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}

// Number replaces what Numbers removes.
const Number = "[number]"

// Numbers replaces every run of four or more digits, with its leading "+"
// when it has one, by Number: phone numbers and verification codes alike,
// which SMS providers quote in their error messages ("The 'To' number
// +15005550001 is not a valid phone number."). Shorter runs (a status, a
// field index) stay. SMS providers pass their reasons through it before
// Reason.
func Numbers(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		j := i
		if s[j] == '+' {
			j++
		}
		k := j
		for k < len(s) && s[k] >= '0' && s[k] <= '9' {
			k++
		}
		if k-j >= 4 && (i == 0 || !isDigit(s[i-1])) {
			b.WriteString(Number)
			i = k
			continue
		}
		if k == i {
			k = i + 1
		}
		b.WriteString(s[i:k])
		i = k
	}
	return b.String()
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
