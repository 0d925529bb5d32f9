// Package mailevent reads the delivery events email providers send back
// (SendGrid's Event Webhook, Mailgun's webhooks, SES event publishing through
// SNS) and checks their signatures. Every provider's format becomes one
// Event: delivered, bounce (permanent or transient), complaint or dropped,
// with the provider, the recipient's canonical address, the provider's
// message id and the time. A body is read whole or refused whole: a parser
// returns every event or an error, never some of them.
package mailevent

import (
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"strings"
	"time"

	"github.com/cogmail/cogmail/pkg/recipient"
)

// Kind is what happened to a message.
type Kind string

// The kinds of event cogmail acts on. Provider events of other kinds (opens,
// clicks, deferrals, unsubscribes) are skipped.
const (
	Delivered Kind = "delivered" // the receiving server accepted it
	Bounce    Kind = "bounce"    // the receiving server refused it (see BounceType)
	Complaint Kind = "complaint" // the recipient marked it as spam
	Dropped   Kind = "dropped"   // the provider did not try (its own suppression, a reject)
)

// BounceType says whether a bounce will happen again.
type BounceType string

const (
	// Permanent: the mailbox does not exist or never accepts mail from us.
	Permanent BounceType = "permanent"
	// Transient: full mailbox, greylisting, a block that may lift.
	Transient BounceType = "transient"
)

// Provider names, as dispatch names its providers.
const (
	SendGrid = "sendgrid"
	Mailgun  = "mailgun"
	SES      = "ses"
)

// Event is one delivery event in cogmail's terms.
type Event struct {
	Kind   Kind       `json:"kind"`
	Bounce BounceType `json:"bounce,omitempty"` // with Bounce only
	// Provider is who sent the event: SendGrid, Mailgun or SES.
	Provider string `json:"provider"`
	// Address is the recipient, canonical (recipient.Canonical).
	Address string `json:"address"`
	// ProviderMessageID is the provider's id for the message.
	ProviderMessageID string `json:"providerMessageId,omitempty"`
	// MessageID is cogmail's own id when the provider echoed the metadata
	// dispatch sent with the message; empty otherwise.
	MessageID string    `json:"messageId,omitempty"`
	Time      time.Time `json:"time"`
}

// Suppresses reports whether the event puts its address on the
// suppression list: a permanent bounce or a complaint.
func (e Event) Suppresses() bool {
	return e.Kind == Complaint || e.Kind == Bounce && e.Bounce == Permanent
}

// String names the event without its address, for logs and errors.
func (e Event) String() string {
	s := e.Provider + " " + string(e.Kind)
	if e.Bounce != "" {
		s += " (" + string(e.Bounce) + ")"
	}
	return s
}

// Failure kinds; match them with errors.Is.
var (
	ErrMalformed = errors.New("malformed event body")
	ErrSignature = errors.New("bad signature")
	ErrStale     = errors.New("stale timestamp")
	ErrReplayed  = errors.New("replayed token")
)

// Error is a refused body. Its text says what is wrong and where, and never
// quotes an address or a signature.
type Error struct {
	Provider string
	Kind     error // ErrMalformed, ErrSignature, ErrStale or ErrReplayed
	Reason   string
}

func (e *Error) Error() string {
	return "mailevent: " + e.Provider + ": " + e.Kind.Error() + ": " + e.Reason
}

func (e *Error) Unwrap() error { return e.Kind }

// Status is the HTTP status a webhook answers for err: 400 for a malformed
// body, 401 for a signature that does not verify or is stale, 200 for a
// request already applied (a replay, or the provider's retry of a request
// whose answer it lost: either way it is not applied again, and the
// provider stops retrying), 500 for anything else (the provider retries).
func Status(err error) int {
	switch {
	case err == nil, errors.Is(err, ErrReplayed):
		return http.StatusOK
	case errors.Is(err, ErrMalformed):
		return http.StatusBadRequest
	case errors.Is(err, ErrSignature), errors.Is(err, ErrStale):
		return http.StatusUnauthorized
	}
	return http.StatusInternalServerError
}

func malformed(provider, format string, args ...any) error {
	return &Error{Provider: provider, Kind: ErrMalformed, Reason: fmt.Sprintf(format, args...)}
}

// address turns a provider's recipient field into a canonical, valid
// address. Some providers give "Name <addr>" (a DSN's Final-Recipient).
func address(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if strings.ContainsAny(s, "<>") {
		a, err := mail.ParseAddress(s)
		if err != nil {
			return "", false
		}
		s = a.Address
	}
	c := recipient.Canonical(s)
	if c == "" || recipient.ValidateAddress(c) != nil {
		return "", false
	}
	return c, true
}

// DefaultMaxAge is how old a signed timestamp may be.
const DefaultMaxAge = 10 * time.Minute

// fresh checks a signed timestamp against now within maxAge, allowing the
// same skew into the future.
func fresh(provider string, ts, now time.Time, maxAge time.Duration) error {
	if d := now.Sub(ts); d > maxAge || d < -maxAge {
		return &Error{Provider: provider, Kind: ErrStale, Reason: fmt.Sprintf("signed %s from now, outside ±%s", d.Round(time.Second), maxAge)}
	}
	return nil
}
