package ping

import (
	"context"
	"errors"

	"github.com/cogmail/cogmail/pkg/provider"
	"github.com/cogmail/cogmail/pkg/provider/mailgun"
	"github.com/cogmail/cogmail/pkg/provider/sendgrid"
)

// SendGrid checks the key with the provider's Ping (its scopes must hold
// mail.send), then sends m through SendGrid with sandbox mode forced on:
// SendGrid validates the request and delivers nothing.
// Build m with TestMessage.
func SendGrid(ctx context.Context, cfg sendgrid.Config, m provider.Message) Result {
	cfg.Sandbox = true
	name := "sendgrid"
	p, err := sendgrid.New(cfg)
	if err != nil {
		return failed(name, Config, scrub(err.Error(), []string{cfg.APIKey}))
	}
	base := cfg.BaseURL
	if base == "" {
		base = sendgrid.GlobalBaseURL
	}
	if err := p.Ping(ctx); err != nil {
		var pe *provider.Error
		if errors.As(err, &pe) && pe.Code == "mail.send" {
			return failed(name, Permission, "the API key works but lacks the mail.send scope: give it Mail Send access")
		}
		return httpFailure(name, base, err, "", cfg.APIKey)
	}
	if _, err := p.Send(ctx, m); err != nil {
		return httpFailure(name, base, err, "", cfg.APIKey)
	}
	return ok(name, "the API key works (mail.send scope): sandbox request accepted, nothing was sent")
}

// Mailgun checks the key and the domain with the provider's Ping, then
// sends m through Mailgun with test mode (o:testmode) forced on: Mailgun
// accepts the message without delivering it. Build m with TestMessage.
func Mailgun(ctx context.Context, cfg mailgun.Config, m provider.Message) Result {
	cfg.TestMode = true
	name := "mailgun"
	p, err := mailgun.New(cfg)
	if err != nil {
		return failed(name, Config, scrub(err.Error(), []string{cfg.APIKey}))
	}
	base := cfg.BaseURL
	if base == "" {
		base = mailgun.USBaseURL
	}
	notFound := "the domain " + cfg.Domain + " is not in this Mailgun account, or not in this region"
	if err := p.Ping(ctx); err != nil {
		return httpFailure(name, base, err, notFound, cfg.APIKey)
	}
	if _, err := p.Send(ctx, m); err != nil {
		return httpFailure(name, base, err, notFound, cfg.APIKey)
	}
	return ok(name, "the API key and the domain "+cfg.Domain+" work: test-mode message accepted, nothing is delivered")
}
