package recipient

import (
	"strings"

	"golang.org/x/net/idna"
)

// Canonical is the form under which an address is suppressed and counted:
// surrounding space trimmed and the domain lower-cased, in IDNA ASCII form
// when it is not ASCII (the form the providers are given, see ASCIIDomain,
// and so the one their feedback names). The local part is kept as is: RFC
// 5321 lets a mailbox be case-sensitive, and folding it could suppress
// someone else's address. It returns "" when s has no @.
func Canonical(s string) string {
	s = strings.TrimSpace(s)
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		return ""
	}
	domain := s[at+1:]
	if !isASCII(domain) {
		if d, err := idna.Lookup.ToASCII(domain); err == nil {
			return s[:at+1] + d
		}
	}
	return s[:at+1] + strings.ToLower(domain)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
