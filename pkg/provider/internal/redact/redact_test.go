package redact

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestReason(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		secrets []string
		want    string
	}{
		{"plain", "Bad Request", nil, "Bad Request"},
		{"address", "identities failed: ada@example.org", nil, "identities failed: [address]"},
		{"bracketed address", "<ada.lovelace+x@mail.example.org>: User unknown", nil, "<[address]>: User unknown"},
		{"two addresses", "a@b.c, d@e.f", nil, "[address], [address]"},
		{"percent-encoded (= may be part of a local part: over-redacting is safe)", "to=ada%40example.org&x=1", nil, "[address]&x=1"},
		{"lone at", "user @ host and @", nil, "user @ host and @"},
		{"secret", "key SG.abcdef rejected", []string{"SG.abcdef"}, "key [redacted] rejected"},
		{"short secret kept", "abc", []string{"ab"}, "abc"},
		{"white space folded", " a\r\n\tb  c ", nil, "a b c"},
		{"control characters", "a\x00b\x1bc", nil, "a b c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Reason(tt.in, tt.secrets...); got != tt.want {
				t.Errorf("Reason(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestReasonTruncates(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{"ascii", strings.Repeat("x", 1000)},
		{"multibyte at the cut", strings.Repeat("é", 500)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Reason(tt.in)
			if len(got) > MaxLen+len("…") || !strings.HasSuffix(got, "…") || !utf8.ValidString(got) {
				t.Errorf("Reason: %d bytes, valid UTF-8 %v, suffix %q", len(got), utf8.ValidString(got), got[len(got)-3:])
			}
		})
	}
}

func FuzzReason(f *testing.F) {
	f.Add("identities failed: ada@example.org", "SG.key1")
	f.Add("to=ada%40example.org", "")
	f.Add(strings.Repeat("é@", 200), "é@é@")
	f.Fuzz(func(t *testing.T, s, secret string) {
		got := Reason(s, secret)
		if len(got) > MaxLen+len("…") {
			t.Fatalf("%d bytes", len(got))
		}
		if !utf8.ValidString(got) {
			t.Fatalf("invalid UTF-8 %q", got)
		}
		for _, r := range got {
			if r < 0x20 || r == 0x7f {
				t.Fatalf("control character in %q", got)
			}
		}
		for i := 1; i+1 < len(got); i++ {
			if got[i] == '@' && localChar(got[i-1]) && domainChar(got[i+1]) {
				t.Fatalf("address left in %q (from %q)", got, s)
			}
		}
	})
}

func TestNumbers(t *testing.T) {
	tests := []struct{ in, want string }{
		{"The 'To' number +15005550001 is not a valid phone number.", "The 'To' number [number] is not a valid phone number."},
		{"Invalid parameter: PhoneNumber Reason: 4155552671 is not valid", "Invalid parameter: PhoneNumber Reason: [number] is not valid"},
		{"Your code is 482916", "Your code is [number]"},
		{"status 400, field 12, +44 7", "status 400, field 12, +44 7"},
		{"a+1234b", "a[number]b"},
		{"++12345", "+[number]"},
		{"", ""},
		{"ü 12345 ü", "ü [number] ü"},
	}
	for _, tt := range tests {
		if got := Numbers(tt.in); got != tt.want {
			t.Errorf("Numbers(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzNumbers(f *testing.F) {
	f.Add("+15005550001 and 482916")
	f.Fuzz(func(t *testing.T, s string) {
		got := Numbers(s)
		run := 0
		for i := 0; i < len(got); i++ {
			if got[i] >= '0' && got[i] <= '9' {
				run++
				if run >= 4 {
					t.Fatalf("Numbers(%q) = %q keeps a run of %d digits", s, got, run)
				}
				continue
			}
			run = 0
		}
	})
}
