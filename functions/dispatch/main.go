// Command dispatch is the SQS consumer that delivers cogmail's emails (a
// provided.al2023 bootstrap). It builds everything once at cold start and
// hands each batch to pkg/dispatch; see docs/configuration.md for its
// environment.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/cogmail/cogmail/functions/dispatch/dispatchwire"
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
	cfg, err := config.LoadDispatch(os.Getenv)
	if err != nil {
		initerror.Exit(log, initerror.TypeConfiguration, "configuration rejected", err)
	}
	// Load (LoadDefaultConfig with the HTTP workaround) honours
	// AWS_ENDPOINT_URL_<SERVICE> (SQS, KMS, SESV2, SSM, SECRETS_MANAGER,
	// DYNAMODB) for local endpoints.
	awsCfg, err := awsclient.Load(ctx)
	if err != nil {
		initerror.Exit(log, initerror.TypeConfiguration, "AWS configuration rejected", err)
	}
	h, err := dispatchwire.Build(ctx, cfg, dispatchwire.Clients{
		AWS:            awsCfg,
		SQS:            sqs.NewFromConfig(awsCfg),
		KMS:            kms.NewFromConfig(awsCfg),
		SSM:            ssm.NewFromConfig(awsCfg),
		SecretsManager: secretsmanager.NewFromConfig(awsCfg),
		DynamoDB:       dynamodb.NewFromConfig(awsCfg),
	}, log, metrics.New(os.Stdout, "dispatch", nil))
	if err != nil {
		initerror.Exit(log, initerror.TypeColdStart, "cold start failed", err)
	}
	lambda.Start(h.Handle)
}
