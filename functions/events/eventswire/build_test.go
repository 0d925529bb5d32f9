package eventswire_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/cogmail/cogmail/functions/events/eventswire"
	"github.com/cogmail/cogmail/pkg/config"
)

func TestBuildReportsEveryProblem(t *testing.T) {
	c := &config.Events{SendGridPublicKey: "not-a-key", MailgunSigningKeySecret: "arn:aws:secretsmanager:us-east-1:123456789012:secret:mg"}
	_, err := eventswire.Build(context.Background(), c, eventswire.Clients{}, nil, nil)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"table name", "COGMAIL_SENDGRID_WEBHOOK_PUBLIC_KEY", "COGMAIL_MAILGUN_WEBHOOK_SIGNING_KEY_SECRET"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s: %v", want, err)
		}
	}
}

// blankSecret is a Secrets Manager whose every secret is only spaces.
type blankSecret struct{}

func (blankSecret) GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	return &secretsmanager.GetSecretValueOutput{SecretString: aws.String("  ")}, nil
}

// TestBuildRefusesAnEmptySigningKeySecret: a signing key secret without a
// string value fails the cold start, as dispatch's keys do, rather than
// leaving /mailgun off without a word.
func TestBuildRefusesAnEmptySigningKeySecret(t *testing.T) {
	c := &config.Events{Reputation: config.Reputation{Table: "rep"}, MailgunSigningKeySecret: "mg-signing"}
	_, err := eventswire.Build(context.Background(), c, eventswire.Clients{SecretsManager: blankSecret{}}, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "COGMAIL_MAILGUN_WEBHOOK_SIGNING_KEY_SECRET: secret mg-signing has no string value") {
		t.Fatalf("Build error = %v, want the empty secret named", err)
	}
}
