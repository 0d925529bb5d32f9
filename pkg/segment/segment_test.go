package segment_test

import (
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/cogmail/cogmail/pkg/segment"
)

func TestCount(t *testing.T) {
	t.Parallel()
	a := func(n int) string { return strings.Repeat("a", n) }
	cases := []struct {
		name     string
		text     string
		enc      segment.Encoding
		units    int
		segments int
	}{
		{"empty", "", segment.GSM7, 0, 1},
		{"ascii", "Your code is 123456", segment.GSM7, 19, 1},
		{"gsm 160", a(160), segment.GSM7, 160, 1},
		{"gsm 161", a(161), segment.GSM7, 161, 2},
		{"gsm 306 is two parts", a(306), segment.GSM7, 306, 2},
		{"gsm 307 is three parts", a(307), segment.GSM7, 307, 3},
		{"default alphabet accents", "äöüßéèàùìòÇÑñÄÖÜÅåØøÆæ£¥§¿¡¤ΔΦΓΛΩΠΨΣΘΞÉ", segment.GSM7, 39, 1},
		{"every extension char counts two", "^{}\\[~]|€\f", segment.GSM7, 20, 1},
		{"extension char ends at 160", a(158) + "€", segment.GSM7, 160, 1},
		{"extension char crosses 160", a(159) + "€", segment.GSM7, 161, 2},
		// 152 septets, then an escape pair that would straddle the 153rd:
		// it moves whole to the second part.
		{"extension pair not split at 153", a(152) + "[" + a(152), segment.GSM7, 306, 3},
		{"extension pair fits at 153", a(151) + "[" + a(153), segment.GSM7, 306, 2},
		{"backtick is not gsm", "code`", segment.UCS2, 5, 1},
		{"cedilla lower case is not gsm", "ç", segment.UCS2, 1, 1},
		{"spanish acute is not gsm", "código", segment.UCS2, 6, 1},
		{"curly apostrophe is not gsm", "didn’t", segment.UCS2, 6, 1},
		{"tab is not gsm", "a\tb", segment.UCS2, 3, 1},
		{"ucs2 70", strings.Repeat("ó", 70), segment.UCS2, 70, 1},
		{"ucs2 71", strings.Repeat("ó", 71), segment.UCS2, 71, 2},
		{"ucs2 134 is two parts", strings.Repeat("ó", 134), segment.UCS2, 134, 2},
		{"ucs2 135 is three parts", strings.Repeat("ó", 135), segment.UCS2, 135, 3},
		{"extension chars are one unit in ucs2", "ó€[", segment.UCS2, 3, 1},
		{"emoji is a surrogate pair", "😀", segment.UCS2, 2, 1},
		{"surrogate pair ends at 70", strings.Repeat("ó", 68) + "😀", segment.UCS2, 70, 1},
		{"surrogate pair crosses 70", strings.Repeat("ó", 69) + "😀", segment.UCS2, 71, 2},
		// 66 units, then a pair that would straddle the 67th: it moves whole.
		{"surrogate pair not split at 67", strings.Repeat("ó", 66) + "😀" + strings.Repeat("ó", 66), segment.UCS2, 134, 3},
		{"surrogate pair fits at 67", strings.Repeat("ó", 65) + "😀" + strings.Repeat("ó", 67), segment.UCS2, 134, 2},
		{"invalid utf-8 is ucs2", "a\xffb", segment.UCS2, 3, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got := segment.Count(c.text)
			want := segment.Info{Encoding: c.enc, Units: c.units, Segments: c.segments}
			if got != want {
				t.Errorf("Count = %+v, want %+v", got, want)
			}
			if n := reference(c.text); n != got.Segments {
				t.Errorf("reference splitter: %d segments, Count: %d", n, got.Segments)
			}
		})
	}
}

// reference splits text from first principles, independently of Count: it
// encodes the characters one by one and starts a new message whenever the
// next one would not fit in the 140 bytes of a message's user data, counting
// a concatenated message's 6-byte header and its fill bits. The encoding is
// GSM-7 only if every character encodes, which it checks with GSM7Char.
func reference(text string) int {
	runes := []rune(text)
	gsm := true
	for _, r := range runes {
		if !segment.GSM7Char(r) {
			gsm = false
		}
	}
	size := func(r rune) int { // in bits
		if gsm {
			if strings.ContainsRune("^{}\\[~]|€\f", r) {
				return 14
			}
			return 7
		}
		return 16 * len(utf16.Encode([]rune{r}))
	}
	total := 0
	for _, r := range runes {
		total += size(r)
	}
	if total <= 140*8 {
		return 1
	}
	// A part carries the 48-bit header; GSM-7 pads it to a septet boundary.
	header := 48
	if gsm {
		header = 49
	}
	parts, used := 1, header
	for _, r := range runes {
		if used+size(r) > 140*8 {
			parts, used = parts+1, header
		}
		used += size(r)
	}
	return parts
}

// FuzzCount checks that Count never undercounts (nor overcounts) against the
// reference splitter, and that its units agree with the encoding.
func FuzzCount(f *testing.F) {
	for _, s := range []string{"", "Your code is 123456", strings.Repeat("€", 80), strings.Repeat("a", 152) + "[",
		strings.Repeat("ó", 66) + "😀", "código 😀 €", "a\xffb"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := segment.Count(s)
		if want := reference(s); got.Segments != want {
			t.Fatalf("Count(%q) = %d segments, reference %d", s, got.Segments, want)
		}
		if got.Encoding == segment.UCS2 {
			if n := len(utf16.Encode([]rune(s))); got.Units != n {
				t.Fatalf("Count(%q) = %d UCS-2 units, UTF-16 has %d", s, got.Units, n)
			}
		}
		per := segment.GSM7Part
		if got.Encoding == segment.UCS2 {
			per = segment.UCS2Part
		}
		if got.Segments > 1 && got.Segments*per < got.Units {
			t.Fatalf("Count(%q): %d units cannot fit %d segments", s, got.Units, got.Segments)
		}
	})
}

func BenchmarkCount(b *testing.B) {
	b.ReportAllocs()
	s := "Acme: your verification code is 123456. It is valid for 24 hours.\n\n@app.example.com #123456"
	for b.Loop() {
		segment.Count(s)
	}
}
