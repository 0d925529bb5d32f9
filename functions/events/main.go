// Command events takes delivery events back from the email providers (a
// provided.al2023 bootstrap): SendGrid and Mailgun webhooks through its
// function URL (/sendgrid, /mailgun), SES notifications from the events
// queue. Hard bounces and complaints go on the suppression list in the
// reputation table; see docs/reputation.md.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/cogmail/cogmail/functions/events/eventswire"
	"github.com/cogmail/cogmail/pkg/awsclient"
	"github.com/cogmail/cogmail/pkg/config"
	"github.com/cogmail/cogmail/pkg/initerror"
	"github.com/cogmail/cogmail/pkg/memlimit"
	"github.com/cogmail/cogmail/pkg/metrics"
)

func main() {
	memlimit.Apply(os.Getenv) // GOMEMLIMIT from the function's memory, GOGC off; unless either is set
	ctx := context.Background()
	log := lambdacontext.NewLogger()
	cfg, err := config.LoadEvents(os.Getenv)
	if err != nil {
		initerror.Exit(log, initerror.TypeConfiguration, "configuration rejected", err)
	}
	awsCfg, err := awsclient.Load(ctx) // LoadDefaultConfig with the HTTP workaround
	if err != nil {
		initerror.Exit(log, initerror.TypeConfiguration, "AWS configuration rejected", err)
	}
	h, err := eventswire.Build(ctx, cfg, eventswire.Clients{
		DynamoDB:       dynamodb.NewFromConfig(awsCfg),
		SecretsManager: secretsmanager.NewFromConfig(awsCfg),
	}, log, metrics.New(os.Stdout, "events", nil))
	if err != nil {
		initerror.Exit(log, initerror.TypeColdStart, "cold start failed", err)
	}
	lambda.Start(h.Invoke)
}
