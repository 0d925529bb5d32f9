package feedback_test

import (
	"context"
	"strings"
	"testing"

	"github.com/cogmail/cogmail/pkg/config"
	"github.com/cogmail/cogmail/pkg/feedback"
)

func TestBuildReportsEveryProblem(t *testing.T) {
	c := &config.Events{SendGridPublicKey: "not-a-key", MailgunSigningKeySecret: "arn:aws:secretsmanager:us-east-1:123456789012:secret:mg"}
	_, err := feedback.Build(context.Background(), c, feedback.Clients{}, nil, nil)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"table name", "COGMAIL_SENDGRID_WEBHOOK_PUBLIC_KEY", "COGMAIL_MAILGUN_WEBHOOK_SIGNING_KEY_SECRET"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s: %v", want, err)
		}
	}
}
