// Package registry lists the providers cogmail knows, each with its
// channel: the one list the brand document, the routing and the CLI ask
// which names exist. It imports no provider package, so the ingest function,
// which checks brand documents, links none of their clients; docs/
// architecture.md ("Adding a provider") says what else a new provider needs.
package registry

import "slices"

// Channel is what a provider delivers.
type Channel string

// The channels.
const (
	Email Channel = "email"
	SMS   Channel = "sms" // listed by the SMS providers' packages once dispatch sends SMS
)

// The email providers' names, as COGMAIL_PROVIDERS, the routing parameter
// and brand documents spell them (and each provider's Name() by default).
const (
	SendGrid = "sendgrid"
	Mailgun  = "mailgun"
	SES      = "ses"
	SMTP     = "smtp"
)

// Entry is one provider.
type Entry struct {
	Name    string
	Channel Channel
}

// entries is the registry: one line per provider, in the order error
// messages list them.
var entries = []Entry{
	{SendGrid, Email},
	{Mailgun, Email},
	{SES, Email},
	{SMTP, Email},
}

// Names lists the providers of channel ch, in the registry's order. The
// slice is the caller's.
func Names(ch Channel) []string {
	var out []string
	for _, e := range entries {
		if e.Channel == ch {
			out = append(out, e.Name)
		}
	}
	return out
}

// Lookup returns the named provider's entry.
func Lookup(name string) (Entry, bool) {
	i := slices.IndexFunc(entries, func(e Entry) bool { return e.Name == name })
	if i < 0 {
		return Entry{}, false
	}
	return entries[i], true
}
