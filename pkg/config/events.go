package config

import (
	"time"

	"github.com/cogmail/cogmail/pkg/sendlimit"
	"github.com/cogmail/cogmail/pkg/suppression"
)

// Reputation is the suppression and send-limit settings dispatch and the
// events function share.
type Reputation struct {
	// Table is the reputation table (COGMAIL_REPUTATION_TABLE): the
	// suppression list, the send counters, the Mailgun tokens. Without it
	// nothing is suppressed or limited.
	Table string
	// Policy is COGMAIL_SUPPRESSION_SEND (JSON: reason → triggers still
	// sent) and COGMAIL_SUPPRESSION_TTL ("bounce=720h,complaint=8760h");
	// default suppression.DefaultPolicy.
	Policy suppression.Policy
	// RecipientLimit is COGMAIL_RECIPIENT_LIMIT ("5/1h", or "off"); default
	// sendlimit.Default. The routing parameter's "recipientLimit" overrides
	// it live.
	RecipientLimit sendlimit.Limit
}

// Events is the events function's configuration.
type Events struct {
	Reputation
	// SendGridPublicKey is COGMAIL_SENDGRID_WEBHOOK_PUBLIC_KEY: the Event
	// Webhook's verification key, base64 DER as SendGrid shows it. Without
	// it the /sendgrid path answers 404.
	SendGridPublicKey string
	// MailgunSigningKey is COGMAIL_MAILGUN_WEBHOOK_SIGNING_KEY, or a
	// Secrets Manager reference in COGMAIL_MAILGUN_WEBHOOK_SIGNING_KEY_SECRET.
	// Without either the /mailgun path answers 404.
	MailgunSigningKey       Secret
	MailgunSigningKeySecret string
	// WebhookMaxAge is COGMAIL_WEBHOOK_MAX_AGE: how old a signed webhook
	// may be (unset: mailevent.DefaultMaxAge).
	WebhookMaxAge time.Duration
}

// LoadEvents reads the events function's configuration.
func LoadEvents(getenv Getenv) (*Events, error) {
	r := &reader{getenv: getenv}
	c := &Events{Reputation: r.reputation(true), SendGridPublicKey: r.str("COGMAIL_SENDGRID_WEBHOOK_PUBLIC_KEY", "")}
	c.MailgunSigningKey, c.MailgunSigningKeySecret, _ = r.key("COGMAIL_MAILGUN_WEBHOOK_SIGNING_KEY")
	c.WebhookMaxAge = r.duration("COGMAIL_WEBHOOK_MAX_AGE", 0)
	return c, r.err()
}

// reputation reads the shared settings; the table is required only where
// the function cannot work without it.
func (r *reader) reputation(requireTable bool) Reputation {
	c := Reputation{Table: r.str("COGMAIL_REPUTATION_TABLE", ""), Policy: suppression.DefaultPolicy(), RecipientLimit: sendlimit.Default}
	if requireTable && c.Table == "" {
		r.fail("COGMAIL_REPUTATION_TABLE", "is required")
	}
	if v := r.str("COGMAIL_SUPPRESSION_SEND", ""); v != "" {
		send, err := suppression.ParseSend(v)
		if err != nil {
			r.fail("COGMAIL_SUPPRESSION_SEND", err.Error())
		} else {
			c.Policy.Send = send
		}
	}
	if v := r.str("COGMAIL_SUPPRESSION_TTL", ""); v != "" {
		ttl, err := suppression.ParseTTL(v, c.Policy.TTL)
		if err != nil {
			r.fail("COGMAIL_SUPPRESSION_TTL", err.Error())
		} else {
			c.Policy.TTL = ttl
		}
	}
	if v := r.str("COGMAIL_RECIPIENT_LIMIT", ""); v != "" {
		l, err := sendlimit.Parse(v)
		if err != nil {
			r.fail("COGMAIL_RECIPIENT_LIMIT", err.Error())
		} else {
			c.RecipientLimit = l
		}
	}
	return c
}
