// Package segment says how an SMS text travels: in which encoding (GSM-7 or
// UCS-2) and in how many segments a carrier bills it. It follows GSM 03.38:
// a text whose every character is in the default alphabet or its extension
// table is sent in 7-bit septets, 160 to a single message and 153 to each
// part of a concatenated one (the user data header takes the rest); any
// other character sends the whole text as UCS-2 (UTF-16), 70 code units to a
// single message and 67 to each part. Extension characters take two septets
// (an escape and the character), and neither an escape pair nor a UTF-16
// surrogate pair is split across parts, as handsets and providers do.
package segment

import "unicode/utf8"

// Encoding is how the text is encoded on the air.
type Encoding string

// The encodings.
const (
	GSM7 Encoding = "GSM-7"
	UCS2 Encoding = "UCS-2"
)

// The capacities of one message, in septets (GSM-7) or UTF-16 code units
// (UCS-2): alone, and as a part of a concatenated message.
const (
	GSM7Single = 160
	GSM7Part   = 153
	UCS2Single = 70
	UCS2Part   = 67
)

// Info is the encoding and size of a text.
type Info struct {
	Encoding Encoding
	// Units is the text's length in its encoding: septets for GSM-7 (an
	// extension character counts two), UTF-16 code units for UCS-2 (a
	// character outside the Basic Multilingual Plane counts two).
	Units int
	// Segments is how many messages the text is sent as: 1 for a text that
	// fits one message (the empty text included).
	Segments int
}

// Count returns the text's encoding, length and segment count. Invalid UTF-8
// counts as U+FFFD, which forces UCS-2, as a provider would send it.
func Count(s string) Info {
	enc := GSM7
	for _, r := range s {
		if septets(r) == 0 {
			enc = UCS2
			break
		}
	}
	single, part := GSM7Single, GSM7Part
	width := septets
	if enc == UCS2 {
		single, part, width = UCS2Single, UCS2Part, utf16Units
	}
	units := 0
	for _, r := range s {
		units += width(r)
	}
	if units <= single {
		return Info{Encoding: enc, Units: units, Segments: 1}
	}
	// Greedy packing is optimal here: the characters keep their order, and
	// a character that does not fit in the current part starts the next.
	segments, used := 1, 0
	for _, r := range s {
		w := width(r)
		if used+w > part {
			segments, used = segments+1, 0
		}
		used += w
	}
	return Info{Encoding: enc, Units: units, Segments: segments}
}

// GSM7Char reports whether r can be sent in GSM-7 (the default alphabet or
// its extension table).
func GSM7Char(r rune) bool { return septets(r) > 0 }

// septets is r's size in GSM-7: 1 in the default alphabet, 2 in the
// extension table (escape + character), 0 when GSM-7 cannot carry it.
func septets(r rune) int {
	if r < 0x80 {
		return int(asciiSeptets[r])
	}
	switch r {
	case '£', '¥', 'è', 'é', 'ù', 'ì', 'ò', 'Ç', 'Ø', 'ø', 'Å', 'å',
		'Δ', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ', 'Æ', 'æ', 'ß', 'É',
		'¤', '¡', 'Ä', 'Ö', 'Ñ', 'Ü', '§', '¿', 'ä', 'ö', 'ñ', 'ü', 'à':
		return 1
	case '€':
		return 2
	}
	return 0
}

// asciiSeptets is the GSM-7 size of each ASCII character: every printable
// one is in the default alphabet but the backtick (absent) and ^ { } \ [ ~ ]
// | (extension table); of the controls only LF and CR are in the alphabet,
// and form feed is in the extension table.
var asciiSeptets = func() (t [128]uint8) {
	for c := ' '; c <= '~'; c++ {
		t[c] = 1
	}
	t['`'] = 0
	for _, c := range "^{}\\[~]|" {
		t[c] = 2
	}
	t['\n'], t['\r'], t['\f'] = 1, 1, 2
	return t
}()

// utf16Units is r's size in UTF-16.
func utf16Units(r rune) int {
	if r >= 0x10000 && r <= utf8.MaxRune {
		return 2
	}
	return 1
}
