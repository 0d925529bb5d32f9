// Command ingest is the Cognito Custom Email Sender trigger (a provided.al2023
// bootstrap). It builds everything once at cold start and hands each event to
// pkg/ingest; see docs/configuration.md for its environment.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/cogmail/cogmail/functions/ingest/ingestwire"
	"github.com/cogmail/cogmail/pkg/awsclient"
	"github.com/cogmail/cogmail/pkg/coldtrace"
	"github.com/cogmail/cogmail/pkg/config"
	"github.com/cogmail/cogmail/pkg/initerror"
	"github.com/cogmail/cogmail/pkg/memlimit"
	"github.com/cogmail/cogmail/pkg/metrics"
	"github.com/cogmail/cogmail/pkg/steady"
)

func main() {
	memlimit.Apply(os.Getenv) // GOMEMLIMIT from the function's memory, GOGC off; unless either is set
	ctx := context.Background()
	log := lambdacontext.NewLogger()
	// COGMAIL_TRACE_FILE (benchmarks and debugging only): an execution trace
	// from here through the first invocation.
	rec, err := coldtrace.Start(os.Getenv)
	if err != nil {
		initerror.Exit(log, initerror.TypeConfiguration, "trace file rejected", err)
	}
	cfg, err := config.LoadIngest(os.Getenv)
	if err != nil {
		initerror.Exit(log, initerror.TypeConfiguration, "configuration rejected", err)
	}
	// Load (LoadDefaultConfig with the HTTP workaround) honours
	// AWS_ENDPOINT_URL_KMS and AWS_ENDPOINT_URL_SQS.
	awsCfg, err := awsclient.Load(ctx)
	if err != nil {
		initerror.Exit(log, initerror.TypeConfiguration, "AWS configuration rejected", err)
	}
	h, err := ingestwire.Build(ctx, cfg, ingestwire.Clients{KMS: kms.NewFromConfig(awsCfg), SQS: sqs.NewFromConfig(awsCfg)},
		log, metrics.New(os.Stdout, "ingest", nil))
	if err != nil {
		initerror.Exit(log, initerror.TypeColdStart, "cold start failed", err)
	}
	// From the second invocation on, one P (pkg/steady).
	lambda.Start(steady.AfterFirst(os.Getenv, coldtrace.FirstInvocation(rec, h.Lambda)))
}
