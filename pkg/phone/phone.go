// Package phone reads the recipient of a Custom SMS Sender event: the
// phone_number attribute, parsed and normalised to E.164 with
// github.com/nyaruka/phonenumbers (libphonenumber's metadata), with its
// country. A Number prints masked (+44******0123), and errors never contain
// the number, so neither can reach a log beside a code.
//
// It is a package of its own rather than part of package recipient because
// only the SMS path needs it: recipient is linked by dispatch, brand and the
// CLI for email addresses, and phonenumbers decodes its metadata at program
// start (2.5 MB in 35,000 allocations, 10 to 27 ms on a loaded 2-core
// machine: GODEBUG=inittrace=1), which a binary without SMS need not pay.
package phone

import (
	"errors"
	"log/slog"
	"strconv"
	"strings"

	"github.com/cogmail/cogmail/pkg/cognito"
	"github.com/nyaruka/phonenumbers"
)

// Attribute is the user attribute that holds the number.
const Attribute = "phone_number"

// maxInput bounds what is handed to the parser: E.164 has at most 15 digits,
// and Cognito stores the number as +DIGITS; room is left for spacing.
const maxInput = 32

// Kinds of failure; match them with errors.Is.
var (
	ErrNoNumber      = errors.New("phone: no number")
	ErrInvalidNumber = errors.New("phone: invalid number")
)

// Error is a number that cannot be used. It is permanent: the same event
// fails the same way every time. Its text says what is wrong with the number
// but never contains it, not even in part.
type Error struct {
	Reason string
	kind   error
}

func (e *Error) Error() string { return "phone: " + Attribute + ": " + e.Reason }

// Is matches ErrNoNumber or ErrInvalidNumber.
func (e *Error) Is(target error) bool { return target == e.kind }

// Retryable is false: callers classify by this method, as they do the other
// packages' errors.
func (e *Error) Retryable() bool { return false }

// Number is a valid phone number in E.164 form.
type Number struct {
	e164    string
	country string // ISO 3166-1 alpha-2; "001" for a non-geographic number (+800, +882)
	code    int    // the country calling code
	parsed  *phonenumbers.PhoneNumber
}

// Parse reads a number written in international form (+ and the country
// calling code; spaces, dots, dashes and brackets are allowed, as
// libphonenumber allows them) and checks it against its country's numbering
// plan.
func Parse(s string) (Number, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return Number{}, &Error{Reason: "is empty", kind: ErrNoNumber}
	case len(s) > maxInput:
		return Number{}, &Error{Reason: "is longer than " + strconv.Itoa(maxInput) + " bytes", kind: ErrInvalidNumber}
	case s[0] != '+':
		return Number{}, &Error{Reason: "is not in international form (+ and the country calling code, as Cognito stores it)", kind: ErrInvalidNumber}
	}
	n, err := phonenumbers.Parse(s, "")
	if err != nil {
		// The library's errors name no digits, but are its own words;
		// say what the user of cogmail can act on.
		return Number{}, &Error{Reason: "is not a phone number (" + parseReason(err) + ")", kind: ErrInvalidNumber}
	}
	// IsValidNumber is these two calls; the region is wanted too, and
	// finding it is the dearer half (a regexp per region of the code).
	region := phonenumbers.GetRegionCodeForNumber(n)
	if !phonenumbers.IsValidNumberForRegion(n, region) {
		return Number{}, &Error{Reason: "is not a valid number in its country's numbering plan", kind: ErrInvalidNumber}
	}
	return Number{
		e164:    phonenumbers.Format(n, phonenumbers.E164),
		country: region,
		code:    int(n.GetCountryCode()),
		parsed:  n, // for Type, which ingest does not need: its regexps cost as much again
	}, nil
}

func parseReason(err error) string {
	switch {
	case errors.Is(err, phonenumbers.ErrInvalidCountryCode):
		return "unknown country calling code"
	case errors.Is(err, phonenumbers.ErrTooShortNSN), errors.Is(err, phonenumbers.ErrTooShortAfterIDD):
		return "too short"
	case errors.Is(err, phonenumbers.ErrNumTooLong):
		return "too long"
	default:
		return "not digits"
	}
}

// FromEvent returns the number of an SMS event's phone_number attribute.
func FromEvent(e *cognito.Event) (Number, error) {
	v, ok := e.Request.UserAttributes[Attribute]
	if !ok || strings.TrimSpace(v) == "" {
		return Number{}, &Error{Reason: "missing: an SMS event needs the user's phone number", kind: ErrNoNumber}
	}
	return Parse(v)
}

// E164 is the whole number, "+442071234567": for the sealed payload and the
// provider only.
func (n Number) E164() string { return n.e164 }

// Country is the number's ISO 3166-1 alpha-2 country ("GB"), as its
// numbering plan places it (+1 numbers are told apart: US, CA, JM...), or
// "001" for a non-geographic number.
func (n Number) Country() string { return n.country }

// CallingCode is the country calling code (44).
func (n Number) CallingCode() int { return n.code }

// Type is the libphonenumber kind of the number ("mobile",
// "fixed-line-or-mobile", "premium-rate", ...), for the toll-fraud guard.
func (n Number) Type() string {
	if n.parsed == nil {
		return "unknown"
	}
	switch phonenumbers.GetNumberType(n.parsed) {
	case phonenumbers.FIXED_LINE:
		return "fixed-line"
	case phonenumbers.MOBILE:
		return "mobile"
	case phonenumbers.FIXED_LINE_OR_MOBILE:
		return "fixed-line-or-mobile"
	case phonenumbers.TOLL_FREE:
		return "toll-free"
	case phonenumbers.PREMIUM_RATE:
		return "premium-rate"
	case phonenumbers.SHARED_COST:
		return "shared-cost"
	case phonenumbers.VOIP:
		return "voip"
	case phonenumbers.PERSONAL_NUMBER:
		return "personal"
	case phonenumbers.PAGER:
		return "pager"
	case phonenumbers.UAN:
		return "uan"
	case phonenumbers.VOICEMAIL:
		return "voicemail"
	}
	return "unknown"
}

// Masked is the number with all but its country calling code and last four
// digits hidden, "+44******4567": what logs, metrics' dimensions and the
// inbox show.
func (n Number) Masked() string { return Mask(n.e164) }

// String is Masked, so that a stray %v prints no whole number.
func (n Number) String() string { return n.Masked() }

// LogValue is Masked, with the country (log/slog's LogValuer).
func (n Number) LogValue() slog.Value {
	return slog.GroupValue(slog.String("masked", n.Masked()), slog.String("country", n.country))
}

// Mask hides all but the country calling code and the last four digits of
// an E.164 number ("+442071234567" is "+44******4567"). It works on any
// string without parsing it: the country code is taken as libphonenumber's
// shortest known prefix, and a string too short to keep four digits hidden
// is all stars.
func Mask(e164 string) string {
	digits := strings.TrimPrefix(e164, "+")
	cc := 0
	for l := 1; l <= 3 && l <= len(digits); l++ {
		if c, err := strconv.Atoi(digits[:l]); err == nil && phonenumbers.GetRegionCodeForCountryCode(c) != phonenumbers.UNKNOWN_REGION {
			cc = l
			break
		}
	}
	rest := digits[cc:]
	if len(rest) < 8 {
		return "+" + digits[:cc] + strings.Repeat("*", len(rest))
	}
	return "+" + digits[:cc] + strings.Repeat("*", len(rest)-4) + rest[len(rest)-4:]
}
