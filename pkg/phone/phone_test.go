package phone_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/cogmail/cogmail/internal/testkit/fixtures"
	"github.com/cogmail/cogmail/pkg/cognito"
	"github.com/cogmail/cogmail/pkg/phone"
)

func TestParse(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in, e164, country, masked, typ string
		code                           int
	}{
		{"+442071234567", "+442071234567", "GB", "+44******4567", "fixed-line", 44},
		{"+44 20 7123 4567", "+442071234567", "GB", "+44******4567", "fixed-line", 44},
		{"+4915112345678", "+4915112345678", "DE", "+49*******5678", "mobile", 49},
		{"+1 (415) 555-2671", "+14155552671", "US", "+1******2671", "fixed-line-or-mobile", 1},
		{"+16135550123", "+16135550123", "CA", "+1******0123", "fixed-line-or-mobile", 1},
		{"+351912345678", "+351912345678", "PT", "+351*****5678", "mobile", 351},
		{"+33612345678", "+33612345678", "FR", "+33*****5678", "mobile", 33},
		{"+80012345678", "+80012345678", "001", "+800****5678", "toll-free", 800},
		{"+447400123456", "+447400123456", "GB", "+44******3456", "mobile", 44},
		// +44 numbers of the Crown Dependencies are their own countries.
		{"+447911123456", "+447911123456", "GG", "+44******3456", "mobile", 44},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			t.Parallel()
			n, err := phone.Parse(c.in)
			if err != nil {
				t.Fatal(err)
			}
			if n.E164() != c.e164 || n.Country() != c.country || n.Masked() != c.masked || n.CallingCode() != c.code || n.Type() != c.typ {
				t.Errorf("got %s %s %s %d %s, want %s %s %s %d %s", n.E164(), n.Country(), n.Masked(), n.CallingCode(), n.Type(),
					c.e164, c.country, c.masked, c.code, c.typ)
			}
			if s := fmt.Sprint(n); s != c.masked {
				t.Errorf("%%v prints %q, want the masked form", s)
			}
		})
	}
}

// TestParseRefuses: every invalid number is a permanent ErrInvalidNumber
// (or ErrNoNumber) whose text contains none of its digits.
func TestParseRefuses(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, in, reason string
		kind             error
	}{
		{"empty", "", "is empty", phone.ErrNoNumber},
		{"national form", "02071234567", "not in international form", phone.ErrInvalidNumber},
		{"letters", "+44abcdefghij", "is not a phone number", phone.ErrInvalidNumber},
		{"unknown country code", "+9991234567", "unknown country calling code", phone.ErrInvalidNumber},
		{"too short", "+4420", "not a valid number", phone.ErrInvalidNumber},
		{"not in the plan", "+44207123456789", "not a valid number", phone.ErrInvalidNumber},
		{"too long input", "+4420712345678901234567890123456789", "longer than 32 bytes", phone.ErrInvalidNumber},
		{"us 555 prefix outside the plan", "+15551234567", "not a valid number", phone.ErrInvalidNumber},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := phone.Parse(c.in)
			if !errors.Is(err, c.kind) || !strings.Contains(err.Error(), c.reason) {
				t.Fatalf("err = %v, want %v with %q", err, c.kind, c.reason)
			}
			var r interface{ Retryable() bool }
			if !errors.As(err, &r) || r.Retryable() {
				t.Errorf("not a permanent error: %v", err)
			}
			digits := strings.Map(func(r rune) rune {
				if r >= '0' && r <= '9' {
					return r
				}
				return -1
			}, c.in)
			if len(digits) >= 4 && strings.Contains(err.Error(), digits[len(digits)-4:]) {
				t.Errorf("the error echoes the number: %v", err)
			}
		})
	}
}

func TestFromEvent(t *testing.T) {
	t.Parallel()
	for _, c := range fixtures.MustLoadSMSEvents().Cases {
		e, err := cognito.Parse(c.Event)
		if err != nil {
			t.Fatal(err)
		}
		n, err := phone.FromEvent(e)
		if err != nil || n.E164() != c.Phone {
			t.Errorf("%s: %v, %s", c.Name, err, n)
		}
	}
	_, err := phone.FromEvent(&cognito.Event{Request: cognito.Request{UserAttributes: map[string]string{"email": "a@b.example"}}})
	if !errors.Is(err, phone.ErrNoNumber) || !strings.Contains(err.Error(), "phone_number: missing") {
		t.Errorf("no phone_number: %v", err)
	}
}

func TestLogValueIsMasked(t *testing.T) {
	t.Parallel()
	n, err := phone.Parse("+442071234567")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "to", n)
	if got := buf.String(); strings.Contains(got, "2071234567") || !strings.Contains(got, `"to":{"masked":"+44******4567","country":"GB"}`) {
		t.Errorf("log line %s", got)
	}
}

func TestMask(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"+442071234567": "+44******4567",
		"+12065550100":  "+1******0100",
		"+3541234567":   "+354*******", // 7 digits: four kept would leave three hidden
		"":              "+",
		"+9":            "+*",
	} {
		if got := phone.Mask(in); got != want {
			t.Errorf("Mask(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzParse: the parser of an outside value never panics, a number it
// accepts is E.164 and round-trips, and its errors never contain four
// digits in a row of the input.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"+442071234567", "+1 (415) 555-2671", "02071234567", "+", "+800 1234 5678", "+44\u0660\u0661"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := phone.Parse(s)
		if err != nil {
			if !errors.Is(err, phone.ErrInvalidNumber) && !errors.Is(err, phone.ErrNoNumber) {
				t.Fatalf("unclassified error %v", err)
			}
			msg := err.Error()
			for i := 0; i+4 <= len(msg); i++ {
				if allDigits(msg[i:i+4]) && strings.Contains(s, msg[i:i+4]) {
					t.Fatalf("error %q echoes digits of the input", msg)
				}
			}
			return
		}
		e := n.E164()
		if len(e) < 3 || len(e) > 16 || e[0] != '+' || !allDigits(e[1:]) {
			t.Fatalf("Parse(%q) = %q, not E.164", s, e)
		}
		again, err := phone.Parse(e)
		if err != nil || again.E164() != e || again.Country() != n.Country() || again.CallingCode() != n.CallingCode() {
			t.Fatalf("E.164 %q does not round-trip: %v", e, err)
		}
	})
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := phone.Parse("+442071234567"); err != nil {
			b.Fatal(err)
		}
	}
}
