package recipient

import "strings"

// Canonical is the form under which an address is suppressed and counted:
// surrounding space trimmed and the domain lower-cased. The local part is
// kept as is: RFC 5321 lets a mailbox be case-sensitive, and folding it
// could suppress someone else's address. It returns "" when s has no @.
func Canonical(s string) string {
	s = strings.TrimSpace(s)
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		return ""
	}
	return s[:at+1] + strings.ToLower(s[at+1:])
}
