package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/cogmail/cogmail/pkg/config"
	"github.com/cogmail/cogmail/pkg/sendlimit"
	"github.com/cogmail/cogmail/pkg/suppression"
)

func TestLoadEvents(t *testing.T) {
	c, err := config.LoadEvents(env(map[string]string{
		"COGMAIL_REPUTATION_TABLE":                   "rep",
		"COGMAIL_SENDGRID_WEBHOOK_PUBLIC_KEY":        "MFkw...",
		"COGMAIL_MAILGUN_WEBHOOK_SIGNING_KEY_SECRET": "arn:aws:secretsmanager:us-east-1:123456789012:secret:mg",
		"COGMAIL_SUPPRESSION_TTL":                    "bounce=1h",
		"COGMAIL_SUPPRESSION_SEND":                   `{"complaint":["ForgotPassword"]}`,
		"COGMAIL_RECIPIENT_LIMIT":                    "3/1h",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Table != "rep" || c.SendGridPublicKey != "MFkw..." || c.MailgunSigningKeySecret == "" || c.WebhookMaxAge != 0 {
		t.Errorf("got %+v", c)
	}
	if c.Policy.TTL[suppression.Bounce] != time.Hour || c.Policy.TTL[suppression.Complaint] != 365*24*time.Hour {
		t.Errorf("TTL %v", c.Policy.TTL)
	}
	if len(c.Policy.Send[suppression.Complaint]) != 1 || c.RecipientLimit != (sendlimit.Limit{N: 3, Window: time.Hour}) {
		t.Errorf("policy %v limit %v", c.Policy.Send, c.RecipientLimit)
	}
}

func TestLoadEventsDefaults(t *testing.T) {
	c, err := config.LoadEvents(env(map[string]string{"COGMAIL_REPUTATION_TABLE": "rep"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.RecipientLimit != sendlimit.Default || len(c.Policy.Send[suppression.Complaint]) != 4 {
		t.Errorf("defaults: %+v", c.Reputation)
	}
}

func TestLoadEventsErrors(t *testing.T) {
	_, err := config.LoadEvents(env(map[string]string{
		"COGMAIL_SUPPRESSION_TTL":                    "bounce=soon",
		"COGMAIL_SUPPRESSION_SEND":                   `{"complaint":["Nope"]}`,
		"COGMAIL_RECIPIENT_LIMIT":                    "lots",
		"COGMAIL_MAILGUN_WEBHOOK_SIGNING_KEY":        "plain-signing-key",
		"COGMAIL_MAILGUN_WEBHOOK_SIGNING_KEY_SECRET": "ref",
	}))
	if err == nil {
		t.Fatal("no error")
	}
	for _, v := range []string{"COGMAIL_REPUTATION_TABLE", "COGMAIL_SUPPRESSION_TTL", "COGMAIL_SUPPRESSION_SEND", "COGMAIL_RECIPIENT_LIMIT", "COGMAIL_MAILGUN_WEBHOOK_SIGNING_KEY"} {
		if !strings.Contains(err.Error(), v) {
			t.Errorf("error does not name %s: %v", v, err)
		}
	}
	if strings.Contains(err.Error(), "plain-signing-key") {
		t.Errorf("error echoes the signing key: %v", err)
	}
}
