// Package provider defines what every email provider sends (Message), what it
// answers (Receipt), and how it fails (Error with a Class that says whether to
// fail over, wait, or give up). The providers live in subpackages (sendgrid,
// mailgun, ses, smtp); each has a fake that speaks the provider's HTTP or SMTP
// contract, and providertest is the conformance suite they all pass.
//
// Every provider has the two methods the dispatcher needs,
//
//	Name() string
//	Send(ctx context.Context, m provider.Message) (provider.Receipt, error)
//
// Send's Receipt carries the provider's own message id, which dispatch logs
// on its "sent" line so a message can be traced in the provider's console.
package provider

import (
	"errors"
	"net/mail"
	"strings"
)

// Address is an email address with an optional display name.
type Address struct {
	Email string // bare address: "no-reply@example.com"
	Name  string // display name, may be empty
}

// String formats the address for a From or Reply-To header (RFC 5322, with
// the name encoded when it is not ASCII).
func (a Address) String() string {
	return (&mail.Address{Name: a.Name, Address: a.Email}).String()
}

// IsZero reports whether the address is unset.
func (a Address) IsZero() bool { return a.Email == "" && a.Name == "" }

// Message is one rendered email to one recipient.
type Message struct {
	ID      string  // our message id (the queue message id): sent as provider metadata for correlation
	From    Address // required
	To      string  // one bare recipient address, required
	ReplyTo Address // optional
	Subject string  // required, one line
	Text    string  // plain-text body; Text or HTML (or both) is required
	HTML    string  // HTML body

	// Headers are extra message headers; keep them few (providers limit them).
	Headers map[string]string
	// Tags are analytics metadata such as {"trigger": "CustomEmailSender_SignUp"}.
	// Providers send them as their key/value metadata (SendGrid custom_args,
	// Mailgun v: variables, SES email tags, an SMTP header each) and the values
	// as their categories or tags where they have them.
	Tags map[string]string
}

// Receipt is a provider's acknowledgement of an accepted message.
type Receipt struct {
	Provider string // the provider's Name()
	ID       string // the provider's message id; empty when the provider gave none
}

// Validate reports what is wrong with m, naming fields but never quoting their
// values (they are personal data). Providers call it before any I/O and report
// a failure as a Permanent error: a malformed message fails everywhere.
func (m Message) Validate() error {
	var errs []error
	if !bareAddress(m.To) {
		errs = append(errs, errors.New("To is not a single valid address"))
	}
	if !bareAddress(m.From.Email) {
		errs = append(errs, errors.New("From.Email is not a valid address"))
	}
	if hasLineBreak(m.From.Name) {
		errs = append(errs, errors.New("From.Name contains a line break"))
	}
	if !m.ReplyTo.IsZero() && !bareAddress(m.ReplyTo.Email) {
		errs = append(errs, errors.New("ReplyTo.Email is not a valid address"))
	}
	if hasLineBreak(m.ReplyTo.Name) {
		errs = append(errs, errors.New("ReplyTo.Name contains a line break"))
	}
	if strings.TrimSpace(m.Subject) == "" {
		errs = append(errs, errors.New("Subject is empty"))
	} else if hasLineBreak(m.Subject) {
		errs = append(errs, errors.New("Subject contains a line break"))
	}
	if m.Text == "" && m.HTML == "" {
		errs = append(errs, errors.New("Text and HTML are both empty"))
	}
	for k, v := range m.Headers {
		if !headerName(k) {
			errs = append(errs, errors.New("Headers has an invalid header name"))
		}
		if hasLineBreak(v) {
			errs = append(errs, errors.New("Headers has a value with a line break"))
		}
	}
	for k, v := range m.Tags {
		if k == "" || hasLineBreak(k) || hasLineBreak(v) {
			errs = append(errs, errors.New("Tags has an empty key or a line break"))
		}
	}
	return errors.Join(errs...)
}

// bareAddress accepts "local@domain" and nothing else: no display name, no
// angle brackets, no list.
func bareAddress(s string) bool {
	if s == "" || strings.ContainsAny(s, "<> \t\r\n,") {
		return false
	}
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && a.Name == ""
}

func hasLineBreak(s string) bool { return strings.ContainsAny(s, "\r\n") }

// headerName accepts RFC 5322 field names: printable ASCII except colon.
func headerName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 33 || c > 126 || c == ':' {
			return false
		}
	}
	return true
}
