package recipient_test

import (
	"testing"

	"github.com/cogmail/cogmail/pkg/recipient"
)

func TestCanonical(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"already canonical", "ana@example.com", "ana@example.com"},
		{"domain lower-cased", "ana@Example.COM", "ana@example.com"},
		{"local part kept", "Ana.B@example.com", "Ana.B@example.com"},
		{"trimmed", "  ana@example.com\n", "ana@example.com"},
		{"quoted local part with @", `"a@b"@Example.com`, `"a@b"@example.com`},
		{"IDN domain in IDNA ASCII form", "Jürgen@Bücher.example", "Jürgen@xn--bcher-kva.example"},
		{"IDNA ASCII domain lower-cased", "a@XN--BCHER-KVA.example", "a@xn--bcher-kva.example"},
		{"no @", "example.com", ""},
		{"empty local part", "@example.com", ""},
		{"empty domain", "ana@", ""},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := recipient.Canonical(tt.in); got != tt.want {
				t.Errorf("Canonical(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
