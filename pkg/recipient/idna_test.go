package recipient_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/cogmail/cogmail/pkg/recipient"
)

func TestASCIIDomain(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
		err            string
	}{
		{"ascii", "ana@example.com", "ana@example.com", ""},
		{"ascii upper case", "Ana@Example.COM", "Ana@example.com", ""},
		{"umlaut", "juergen@bücher.example", "juergen@xn--bcher-kva.example", ""},
		{"umlaut typed in capitals", "juergen@BÜCHER.example", "juergen@xn--bcher-kva.example", ""},
		{"fullwidth letters", "juergen@ｂücher．example", "juergen@xn--bcher-kva.example", ""},
		{"already punycode", "juergen@xn--bcher-kva.example", "juergen@xn--bcher-kva.example", ""},
		{"unicode local part kept", "jürgen@bücher.example", "jürgen@xn--bcher-kva.example", ""},
		{"cyrillic", "info@пример.рф", "info@xn--e1afmkfd.xn--p1ai", ""},
		{"bad punycode", "a@xn--zz-.example", "", "not a valid internationalized domain name"},
		{"disallowed symbol", "a@b☃c\u200d.example", "", "not a valid internationalized domain name"},
		{"label too long once encoded", "a@" + strings.Repeat("ab", 30) + "ü.example", "", "longer than 63 bytes (in its IDNA ASCII form)"},
		{"no domain", "a@", "", "has no domain"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := recipient.ASCIIDomain(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || !errors.Is(err, recipient.ErrInvalidAddress) {
					t.Fatalf("ASCIIDomain(%q) = %q, %v; want ErrInvalidAddress %q", tt.in, got, err, tt.err)
				}
				if strings.Contains(err.Error(), tt.in) {
					t.Errorf("the error repeats the address: %v", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("ASCIIDomain(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestASCIILocalPart(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]bool{
		"ana@example.com": true, "juergen@bücher.example": true, "jürgen@example.com": false,
		"用户@example.com": false, "a+tag@xn--bcher-kva.example": true,
	} {
		if got := recipient.ASCIILocalPart(in); got != want {
			t.Errorf("ASCIILocalPart(%q) = %v, want %v", in, got, want)
		}
	}
}

// TestResolveGivesIDNAASCIIDomains: the address ingest seals is the one the
// providers get, domain in IDNA ASCII form, from an attribute or a lookup.
func TestResolveGivesIDNAASCIIDomains(t *testing.T) {
	t.Parallel()
	r, err := recipient.New(recipient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.Resolve(context.Background(), event("u", "s", map[string]string{"email": "Jürgen@Bücher.Example"}))
	if err != nil || got != "Jürgen@xn--bcher-kva.example" {
		t.Errorf("Resolve = %q, %v; want Jürgen@xn--bcher-kva.example", got, err)
	}
}
