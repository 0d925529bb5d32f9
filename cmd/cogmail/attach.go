package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/cogmail/cogmail/internal/ops/attach"
)

func attachCommand() command {
	return command{name: "attach", summary: "wire the ingest function into a user pool as its Custom Email Sender (keeps every other setting)", run: runAttach}
}

const attachExamples = `
Examples:
  # See what would change, change nothing (the stack's AttachCommand output has the ARNs):
  cogmail attach --user-pool-id eu-west-1_AbCdEf123 \
    --lambda-arn arn:aws:lambda:eu-west-1:123456789012:function:cogmail-IngestFunction-1AB2CD3EF \
    --kms-key-arn arn:aws:kms:eu-west-1:123456789012:key/0d7b1c3e-1111-2222-3333-444455556666 --dry-run

  # Attach, answering the confirmation on the terminal (or pass --yes in scripts):
  cogmail attach --user-pool-id eu-west-1_AbCdEf123 --lambda-arn ARN --kms-key-arn ARN

  # Give the pool back to Cognito's own emails (other triggers and settings stay):
  cogmail attach --user-pool-id eu-west-1_AbCdEf123 --detach --yes

Exit status: 0 done (or nothing to do, or a dry run), 1 failed, 2 bad flags, 3 declined.
Credentials and region come from the usual AWS sources (AWS_PROFILE, AWS_REGION, ...);
the region defaults to the pool id's.
`

const attachUsage = `usage: cogmail attach --user-pool-id ID (--lambda-arn ARN --kms-key-arn ARN | --detach) [--dry-run] [--yes] [--region R]

Sets the pool's LambdaConfig.CustomEmailSender (version V1_0) and KMSKeyID, or removes them
with --detach. UpdateUserPool resets every setting it is not given, so attach reads the pool,
shows the LambdaConfig diff, asks, and sends every other setting back unchanged.

Flags:`

func runAttach(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("cogmail attach", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	poolID := fs.String("user-pool-id", "", "the user pool, e.g. eu-west-1_AbCdEf123 (required)")
	lambdaARN := fs.String("lambda-arn", "", "the ingest function's ARN (the stack's IngestFunctionArn output)")
	keyARN := fs.String("kms-key-arn", "", "the KMS key Cognito encrypts codes with (the stack's CodeKeyArn output)")
	detach := fs.Bool("detach", false, "remove the Custom Email Sender instead (the key too, unless a Custom SMS Sender uses it)")
	dryRun := fs.Bool("dry-run", false, "print the LambdaConfig diff and change nothing")
	yes := fs.Bool("yes", false, "do not ask for confirmation")
	region := fs.String("region", "", "AWS region (default: the pool id's)")
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintln(w, attachUsage)
		fs.PrintDefaults()
		fmt.Fprint(w, attachExamples)
	}
	rest, code, ok := parseFlags(e, fs, args)
	if !ok {
		return code
	}
	usageErr := func(msg string) int {
		fmt.Fprintf(e.stderr, "cogmail attach: %s\n(cogmail attach --help for usage)\n", msg)
		return exitUsage
	}
	if len(rest) > 0 {
		return usageErr(fmt.Sprintf("unexpected argument %q", rest[0]))
	}
	req := attach.Request{UserPoolID: *poolID, LambdaARN: *lambdaARN, KMSKeyARN: *keyARN, Detach: *detach}
	if err := req.Validate(); err != nil {
		return usageErr(strings.ReplaceAll(err.Error(), "\n", "\n  "))
	}
	poolRegion := attach.PoolRegion(*poolID)
	if *region != "" && *region != poolRegion {
		return usageErr(fmt.Sprintf("--region %s is not the pool's region (%s)", *region, poolRegion))
	}

	cfg, err := awsConfigFromEnv(ctx, e.getenv, poolRegion)
	if err != nil {
		fmt.Fprintf(e.stderr, "cogmail attach: %v\n", err)
		return exitFailed
	}
	client := cip.NewFromConfig(cfg, func(o *cip.Options) {
		if u := serviceEndpoint(e.getenv, "COGNITO_IDENTITY_PROVIDER"); u != "" {
			o.BaseEndpoint = aws.String(u)
		}
	})
	return attachPool(ctx, e, client, req, *dryRun, *yes)
}

// attachPool shows the LambdaConfig diff req makes, asks (unless yes or a
// dry run), and applies it.
func attachPool(ctx context.Context, e *env, client attach.Cognito, req attach.Request, dryRun, yes bool) int {
	plan, err := attach.Prepare(ctx, client, req)
	if err != nil {
		fmt.Fprintf(e.stderr, "cogmail attach: %v\n", err)
		return exitFailed
	}
	plan.WriteDiff(e.stdout)
	switch {
	case !plan.Changed():
		fmt.Fprintln(e.stdout, "\nNothing to change: "+plan.Summary()+".")
		return exitOK
	case dryRun:
		fmt.Fprintln(e.stdout, "\nDry run: nothing was changed.")
		return exitOK
	case !yes:
		if !confirm(e.stdin, e.stdout, fmt.Sprintf("\nUpdate user pool %s? [y/N] ", req.UserPoolID)) {
			fmt.Fprintln(e.stdout, "Aborted: nothing was changed.")
			return exitAborted
		}
	}
	if err := attach.Apply(ctx, client, plan); err != nil {
		fmt.Fprintf(e.stderr, "cogmail attach: %v\n", err)
		return exitFailed
	}
	fmt.Fprintf(e.stdout, "\nUpdated user pool %s: %s.\n", req.UserPoolID, plan.Summary())
	if !req.Detach {
		fmt.Fprintf(e.stdout, "Check it end to end (docs/deploy.md):\n  cogmail event --trigger SignUp --email you@example.com --pool %s --kms-key-arn %s --out signup.json\n  cogmail invoke --function %s --event signup.json\n",
			req.UserPoolID, req.KMSKeyARN, req.LambdaARN)
	}
	return exitOK
}
