// Package eventswire builds the events function's handler from its
// configuration at cold start: the suppression list and the webhook tokens
// in the reputation table, a verifier per configured webhook, the Mailgun
// signing key from Secrets Manager. It is the only place where pkg/config
// meets pkg/feedback, as dispatchwire and ingestwire are for the other two.
package eventswire

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/cogmail/cogmail/pkg/config"
	"github.com/cogmail/cogmail/pkg/feedback"
	"github.com/cogmail/cogmail/pkg/mailevent"
	"github.com/cogmail/cogmail/pkg/metrics"
	"github.com/cogmail/cogmail/pkg/reputationtable"
	"github.com/cogmail/cogmail/pkg/secretref"
)

// Clients are the AWS clients the events function uses.
type Clients struct {
	DynamoDB       reputationtable.Client // required
	SecretsManager secretref.Reader       // required with COGMAIL_MAILGUN_WEBHOOK_SIGNING_KEY_SECRET
}

// Build makes the events Handler from configuration at cold start: the
// suppression list and the Mailgun tokens in the reputation table, and a
// verifier per configured webhook. Every problem is returned at once; no
// error quotes a key.
func Build(ctx context.Context, c *config.Events, cl Clients, log *slog.Logger, m *metrics.Emitter) (*feedback.Handler, error) {
	var errs []error
	d := feedback.Deps{Policy: c.Policy, Logger: log, Metrics: m}
	s, err := reputationtable.NewSuppressions(cl.DynamoDB, c.Table, nil)
	if err != nil {
		errs = append(errs, err)
	}
	d.Suppressions = s
	vo := mailevent.VerifyOptions{MaxAge: c.WebhookMaxAge}
	if c.SendGridPublicKey != "" {
		// The requests already applied, shared by every container.
		var seen mailevent.Tokens
		if t, err := reputationtable.NewSendGridRequests(cl.DynamoDB, c.Table, nil); err != nil {
			errs = append(errs, err) // Build fails: the key is still checked, to list every problem
		} else {
			seen = t
		}
		if v, err := mailevent.NewSendGridVerifier(c.SendGridPublicKey, seen, vo); err != nil {
			errs = append(errs, fmt.Errorf("COGMAIL_SENDGRID_WEBHOOK_PUBLIC_KEY: %w", err))
		} else {
			d.SendGrid = v
		}
	}
	key := c.MailgunSigningKey.Reveal()
	if ref := c.MailgunSigningKeySecret; ref != "" {
		v, err := secretref.Read(ctx, cl.SecretsManager, ref)
		if err != nil {
			errs = append(errs, fmt.Errorf("COGMAIL_MAILGUN_WEBHOOK_SIGNING_KEY_SECRET: %w", err))
		}
		key = v
	}
	if key != "" {
		tokens, err := reputationtable.NewTokens(cl.DynamoDB, c.Table, nil)
		if err != nil {
			errs = append(errs, err)
		} else if v, err := mailevent.NewMailgunVerifier(key, tokens, vo); err != nil {
			errs = append(errs, fmt.Errorf("COGMAIL_MAILGUN_WEBHOOK_SIGNING_KEY: %w", err))
		} else {
			d.Mailgun = v
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("events: %w", errors.Join(errs...))
	}
	return feedback.New(d)
}
