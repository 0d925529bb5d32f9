package recipient

import (
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// Limits from RFC 5321 (a path of 256 octets including the angle brackets)
// and RFC 1035.
const (
	maxAddress = 254
	maxLocal   = 64
	maxDomain  = 253
	maxLabel   = 63
)

// ValidateAddress checks that s is one plain addr-spec (local@domain) that
// can go into a To header and an SMTP RCPT command as is: no display name,
// angle brackets, comments, quoting or whitespace; no control characters;
// at most 254 bytes; a domain name with at least one dot. The error says what
// is wrong without repeating the address.
func ValidateAddress(s string) error {
	switch {
	case s == "":
		return reason("is empty")
	case len(s) > maxAddress:
		return reason("is longer than 254 bytes")
	case !utf8.ValidString(s):
		return reason("is not valid UTF-8")
	}
	if strings.ContainsFunc(s, func(r rune) bool {
		return r < 0x20 || r == 0x7f || unicode.IsControl(r) || r == '\u2028' || r == '\u2029'
	}) {
		return reason("contains a control character or line break")
	}
	if strings.ContainsAny(s, `<>()[],;:"\`) {
		return reason("is not a plain address (display name, brackets, quotes or a list)")
	}
	if strings.ContainsFunc(s, unicode.IsSpace) {
		return reason("contains whitespace")
	}
	if strings.ContainsFunc(s, func(r rune) bool { return unicode.Is(unicode.Cf, r) }) {
		return reason("contains an invisible formatting character")
	}
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return reason("has no @")
	}
	local, domain := s[:at], s[at+1:]
	switch {
	case local == "":
		return reason("has an empty local part")
	case len(local) > maxLocal:
		return reason("has a local part longer than 64 bytes")
	case strings.Contains(local, "@"):
		return reason("has more than one @")
	}
	if err := checkDomain(domain); err != nil {
		return err
	}
	// The checks above are stricter than RFC 5322; net/mail then confirms
	// that what is left is an addr-spec, and that it reads back unchanged.
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return reason("is not a valid RFC 5322 addr-spec")
	}
	return nil
}

func checkDomain(d string) error {
	switch {
	case d == "":
		return reason("has no domain")
	case len(d) > maxDomain:
		return reason("has a domain longer than 253 bytes")
	case !strings.Contains(d, "."):
		return reason("has a domain without a dot")
	}
	labels := strings.Split(d, ".")
	for _, l := range labels {
		switch {
		case l == "":
			return reason("has an empty domain label")
		case len(l) > maxLabel:
			return reason("has a domain label longer than 63 bytes")
		case l[0] == '-' || l[len(l)-1] == '-':
			return reason("has a domain label that starts or ends with a hyphen")
		}
		for _, r := range l {
			if r != '-' && !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.IsMark(r) {
				return reason("has a character that is not allowed in a domain name")
			}
		}
	}
	if tld := labels[len(labels)-1]; strings.IndexFunc(tld, func(r rune) bool { return !unicode.IsDigit(r) }) < 0 {
		return reason("has a numeric top-level domain (an IP address is not accepted)")
	}
	return nil
}

func reason(r string) error {
	return &Error{Source: "validate", Reason: "the address " + r, kind: ErrInvalidAddress}
}

// ASCIIDomain returns addr (a valid address, see ValidateAddress) with its
// domain in IDNA ASCII form, the form every provider takes: SES documents
// that an address must be 7-bit ASCII with the domain in Punycode, and the
// others accept it. The domain goes through the Lookup profile of
// golang.org/x/net/idna (UTS #46 mapping, so whatever was typed, "Bücher.Example"
// or "ｂücher.example", becomes "xn--bcher-kva.example"); an ASCII domain is
// only lower-cased. The local part is kept as is (see ASCIILocalPart). The
// error, an *Error of ErrInvalidAddress, says why the domain has no IDNA
// form without repeating it.
func ASCIIDomain(addr string) (string, error) {
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 || at == len(addr)-1 {
		return "", reason("has no domain")
	}
	d, err := idna.Lookup.ToASCII(addr[at+1:])
	if err != nil {
		return "", reason("has a domain that is not a valid internationalized domain name (IDNA)")
	}
	if err := checkDomain(d); err != nil {
		return "", relabelReason(err, " (in its IDNA ASCII form)")
	}
	out := addr[:at+1] + d
	if len(out) > maxAddress {
		return "", reason("is longer than 254 bytes once its domain is in IDNA ASCII form")
	}
	return out, nil
}

// ASCIILocalPart reports whether the local part of addr (before its last
// @) is 7-bit ASCII. Only then can any provider take it: a UTF-8 local part
// needs SMTPUTF8 (RFC 6531) all the way, which SES does not offer and an
// SMTP relay offers only when it says so in its EHLO reply.
func ASCIILocalPart(addr string) bool {
	local := addr
	if at := strings.LastIndexByte(addr, '@'); at >= 0 {
		local = addr[:at]
	}
	return isASCII(local)
}

// relabelReason adds a note to a validation error's reason.
func relabelReason(err error, note string) error {
	if re, ok := err.(*Error); ok {
		c := *re
		c.Reason += note
		return &c
	}
	return err
}
