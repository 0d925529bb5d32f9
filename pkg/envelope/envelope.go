// Package envelope defines the queue message that ingest enqueues and
// dispatch consumes: a versioned JSON envelope whose clear fields say what
// the message is (trigger, pool, expiry, channel) and whose sealed payload
// holds what must stay secret (recipient, subject, bodies, text).
//
// An email envelope is schema version 1, as it always was. A text message
// is version 2 (SchemaVersionSMS), with channel "sms" and clear SMS
// metadata: the number's country, the text's encoding and segment count,
// which the toll-fraud guard and the segment budget need before anything is
// unsealed. The number itself, any part of it (a prefix, a masked form) and
// the text are sealed: the clear fields of a queue or DLQ message carry
// nothing that identifies the user beyond the email envelope's user name.
// A dispatch from before SMS refuses a version 2 envelope from its header
// (malformed) instead of taking a number for an address.
package envelope

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/cogmail/cogmail/pkg/cognito"
	"github.com/cogmail/cogmail/pkg/seal"
)

// SchemaVersion is the version of an email envelope.
const SchemaVersion = 1

// SchemaVersionSMS is the version of a text message's envelope (channel
// "sms", with SMS metadata).
const SchemaVersionSMS = 2

// MaxBytes bounds an envelope: 256 KiB, what SQS allowed per message before
// 2025 (1 MiB since), so that an envelope also fits a queue whose
// MaximumMessageSize is still 256 KiB.
const MaxBytes = 256 << 10

// Envelope is the queue message body.
type Envelope struct {
	Version  int             `json:"v"`
	ID       string          `json:"id"`
	DedupKey string          `json:"dedupKey"`
	Trigger  cognito.Trigger `json:"trigger"`
	Pool     string          `json:"pool"`
	UserName string          `json:"userName"`
	Locale   string          `json:"locale"`
	// Brand names the brand the message was rendered for (pkg/brand); dispatch
	// uses its provider order. Empty in envelopes from before brands.
	Brand     string    `json:"brand,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
	ExpiresAt time.Time `json:"expiresAt"`
	// Channel is "sms" in a version 2 envelope; empty (email) in version 1.
	Channel cognito.Channel `json:"channel,omitempty"`
	// SMS is the clear metadata of a text message (version 2 only).
	SMS    *SMS        `json:"sms,omitempty"`
	Sealed seal.Sealed `json:"sealed"`
}

// SMS is what a text message's envelope says in clear: enough to count and
// refuse it by country and cost, nothing that identifies the number.
type SMS struct {
	Country  string `json:"country"`  // ISO 3166-1 alpha-2 ("GB"), "001" for non-geographic numbers
	Encoding string `json:"encoding"` // "GSM-7" or "UCS-2" (package segment)
	Segments int    `json:"segments"` // what a provider bills
}

// MessageChannel is the envelope's channel: ChannelEmail for a version 1
// envelope, which has none.
func (e *Envelope) MessageChannel() cognito.Channel {
	if e.Channel == "" {
		return cognito.ChannelEmail
	}
	return e.Channel
}

// Payload is what the envelope seals. A text message has Channel "sms", To
// (E.164) and Text only, so that a clear channel changed in transit cannot
// make dispatch take it for an email.
type Payload struct {
	Channel  cognito.Channel `json:"channel,omitempty"`
	To       string          `json:"to"`
	From     string          `json:"from,omitempty"`     // optional: dispatch's configured sender is used when empty
	FromName string          `json:"fromName,omitempty"` // optional display name
	// ReplyTo and ReplyToName are the brand's optional Reply-To.
	ReplyTo     string `json:"replyTo,omitempty"`
	ReplyToName string `json:"replyToName,omitempty"`
	Subject     string `json:"subject"`
	HTML        string `json:"html"`
	Text        string `json:"text"`
}

// NewID returns a random message id (32 hex characters).
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// DedupKey identifies one Cognito invocation: the same event retried by
// Lambda gets the same key, so dispatch can send it once. It hashes the
// pool, user, trigger and ciphertext; for events without a code (the
// account-takeover notice) the user attributes stand in for the ciphertext.
func DedupKey(e *cognito.Event) string {
	h := sha256.New()
	for _, s := range []string{e.UserPoolID, e.UserName, string(e.TriggerSource), e.Ciphertext()} {
		fmt.Fprintf(h, "%d:%s|", len(s), s)
	}
	if e.Ciphertext() == "" {
		keys := make([]string, 0, len(e.Request.UserAttributes))
		for k := range e.Request.UserAttributes {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			v := e.Request.UserAttributes[k]
			fmt.Fprintf(h, "%d:%s=%d:%s|", len(k), k, len(v), v)
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:40]
}

// Expired reports whether the message's code is past its expiry at now.
func (e *Envelope) Expired(now time.Time) bool { return !now.Before(e.ExpiresAt) }

// Message attribute names set on every SQS message, so ops can filter the
// DLQ without unsealing anything.
const (
	AttrTrigger   = "cogmail.trigger"
	AttrSchema    = "cogmail.schema"
	AttrExpiresAt = "cogmail.expiresAt"
	AttrDedupKey  = "cogmail.dedupKey"
	AttrPool      = "cogmail.pool"
	AttrMessageID = "cogmail.messageId"
	AttrBrand     = "cogmail.brand"   // set only when the envelope names a brand
	AttrChannel   = "cogmail.channel" // set only on a text message ("sms"): an email's attributes are as before
)

// Attributes returns the clear metadata as string attributes.
func (e *Envelope) Attributes() map[string]string {
	m := map[string]string{
		AttrTrigger:   string(e.Trigger),
		AttrSchema:    fmt.Sprint(e.Version),
		AttrExpiresAt: e.ExpiresAt.UTC().Format(time.RFC3339),
		AttrDedupKey:  e.DedupKey,
		AttrPool:      e.Pool,
		AttrMessageID: e.ID,
	}
	if e.Brand != "" {
		m[AttrBrand] = e.Brand
	}
	if e.Channel != "" && e.Channel != cognito.ChannelEmail {
		m[AttrChannel] = string(e.Channel)
	}
	return m
}

// Marshal encodes the envelope.
func (e *Envelope) Marshal() ([]byte, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	if len(b) > MaxBytes {
		return nil, &Error{Reason: fmt.Sprintf("envelope of %d bytes is over the %d byte limit", len(b), MaxBytes)}
	}
	return b, nil
}

// Error is a malformed envelope; it is permanent.
type Error struct{ Reason string }

func (e *Error) Error() string { return "envelope: " + e.Reason }

// Parse decodes and checks an envelope. Errors name fields, never values.
func Parse(b []byte) (*Envelope, error) {
	if len(b) > MaxBytes {
		return nil, &Error{Reason: fmt.Sprintf("%d bytes is over the %d byte limit", len(b), MaxBytes)}
	}
	// Unknown fields are allowed: a newer ingest may add clear metadata
	// during a rolling deploy; anything that changes meaning bumps Version.
	var e Envelope
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, &Error{Reason: "not an envelope: " + jsonReason(err)}
	}
	var missing []string
	check := func(ok bool, field string) {
		if !ok {
			missing = append(missing, field)
		}
	}
	switch e.Version {
	case SchemaVersion:
		if e.Channel != "" || e.SMS != nil {
			return nil, &Error{Reason: "a version 1 envelope has no channel or sms field"}
		}
	case SchemaVersionSMS:
		if e.Channel != cognito.ChannelSMS {
			return nil, &Error{Reason: fmt.Sprintf("a version %d envelope must have channel %q", SchemaVersionSMS, cognito.ChannelSMS)}
		}
		check(e.SMS != nil && e.SMS.Country != "", "sms.country")
		check(e.SMS != nil && e.SMS.Encoding != "", "sms.encoding")
		check(e.SMS != nil && e.SMS.Segments > 0, "sms.segments")
	default:
		return nil, &Error{Reason: fmt.Sprintf("schema version %d is not supported (want %d or %d)", e.Version, SchemaVersion, SchemaVersionSMS)}
	}
	check(e.ID != "", "id")
	check(e.DedupKey != "", "dedupKey")
	check(e.Trigger != "", "trigger")
	check(e.Pool != "", "pool")
	check(!e.CreatedAt.IsZero(), "createdAt")
	check(!e.ExpiresAt.IsZero(), "expiresAt")
	check(len(e.Sealed.Ciphertext) > 0, "sealed.ct")
	check(len(e.Sealed.DataKey) > 0, "sealed.dk")
	if len(missing) > 0 {
		return nil, &Error{Reason: "missing " + strings.Join(missing, ", ")}
	}
	return &e, nil
}

func jsonReason(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("syntax error at byte %d", syn.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("field %q has the wrong type", typ.Field)
	default:
		return "cannot decode"
	}
}
