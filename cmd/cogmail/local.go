package main

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cogmail/cogmail/internal/local/localstack"
	"github.com/cogmail/cogmail/pkg/codecrypt"
	"github.com/cogmail/cogmail/pkg/cognito"
)

func localCommand() command {
	return command{name: "local", summary: "run the local stack on embedded defaults (what `make run` starts)", run: runLocal}
}

const localExamples = `
Examples:
  cogmail local --once                 # samples through ingest, then exit (make run)
  cogmail local                        # keep the stack up until Ctrl-C
  cogmail local --kms-seed testdata/cognito/local-kms-seed.yaml
  cogmail local --fail ses=1,sendgrid=0.5   # watch failover; ses always down, sendgrid half the time
  cogmail local --fail ses=1,sendgrid=1,mailgun=1,smtp=550   # watch the DLQ fill
  COGMAIL_LOCAL_AES_KEY_HEX=$(openssl rand -hex 32) cogmail local --aes-key-namespace ns --aes-key-name k
  cogmail local --log-format text --log-level warn   # the functions' log lines, readable, warnings up
  cogmail local --user-pool-id us-east-1_CogmailLocal   # refuse events of any other pool, as the deployed ingest does

The functions' log lines go to stderr (JSON by default, as Lambda writes them), each with a
"function" attribute; the tables and addresses go to stdout. Everything lives in memory:
stopping the stack loses the queues, the DLQ, the inbox and a generated KMS key (--kms-seed
keeps the key, so events made for it stay valid across restarts).
`

// localAESKeyVar gives the raw AES key when --aes-key-hex is not set: a
// flag's value is visible to every user in ps, the environment is not.
const localAESKeyVar = "COGMAIL_LOCAL_AES_KEY_HEX"

func runLocal(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("cogmail local", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	addr := fs.String("addr", "127.0.0.1:8025", "loopback address to listen on")
	once := fs.Bool("once", false, "exit after the sample events: status 0 only if all were enqueued")
	seedFile := fs.String("kms-seed", "", "local-kms seed file (YAML); default: a generated key")
	account := fs.String("kms-account", "111122223333", "account of the local KMS")
	region := fs.String("kms-region", "us-east-1", "region of the local KMS")
	keyARN := fs.String("kms-key-arn", "", "the code key (default: the seed's first key)")
	aesHex := fs.String("aes-key-hex", "", "use a raw AES-256 keyring with this key (64 hex characters) instead of KMS; default $"+localAESKeyVar+", which keeps the key out of ps")
	aesNS := fs.String("aes-key-namespace", "", "raw AES key namespace (with --aes-key-hex)")
	aesName := fs.String("aes-key-name", "", "raw AES key name (with --aes-key-hex)")
	fail := fs.String("fail", "", "inject provider faults: NAME=RATE (0..1, answered 503 / connection reset) or NAME=STATUS (e.g. 429, 500, SMTP 421), comma-separated")
	routing := fs.String("providers", localstack.DefaultProviders, "initial provider routing (failover order, or NAME=WEIGHT for weighted)")
	wait := fs.Duration("wait", 30*time.Second, "how long to wait for the samples to be delivered")
	sgKey := fs.String("sendgrid-webhook-public-key", "", "turn on POST /webhooks/sendgrid: the Event Webhook's verification key (base64 DER, as SendGrid shows it)")
	mgKey := fs.String("mailgun-webhook-signing-key", "", "turn on POST /webhooks/mailgun: Mailgun's webhook signing key")
	limit := fs.String("recipient-limit", "off", "emails per address per window for code-bearing triggers, N/DURATION (e.g. 3/1h), or off")
	brandsFile := fs.String("brands", "", "brand document (YAML or JSON, docs/brands.md): a brand per app client id")
	logLevel := fs.String("log-level", "info", "the functions' log level on stderr: debug, info, warn or error")
	logFormat := fs.String("log-format", "json", "the functions' log lines on stderr: json (as in CloudWatch) or text")
	var pools poolIDs
	fs.Var(&pools, "user-pool-id", "take events of this user pool only (COGMAIL_USER_POOL_IDS; repeatable; the samples use the first); default: any pool")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: cogmail local [flags]\n\nStarts local KMS and SQS endpoints on one loopback address, wires the real ingest handler to\nthem through the real AWS SDK clients, and sends one sample event per trigger source.\n\nFlags:")
		fs.PrintDefaults()
		fmt.Fprint(e.stderr, localExamples)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	faults, err := localstack.ParseFaults(*fail)
	if err != nil {
		fmt.Fprintf(e.stderr, "cogmail local: %v\n", err)
		return exitUsage
	}
	logger, err := functionLogger(e.stderr, *logLevel, *logFormat)
	if err != nil {
		fmt.Fprintf(e.stderr, "cogmail local: %v\n", err)
		return exitUsage
	}
	o := localstack.Options{Addr: *addr, KMSAccount: *account, KMSRegion: *region, KMSKeyARN: *keyARN, Faults: faults, Providers: *routing,
		SendGridWebhookPublicKey: *sgKey, MailgunWebhookSigningKey: *mgKey, RecipientLimit: *limit, Logger: logger, UserPoolIDs: pools}
	if *brandsFile != "" {
		// Refused here with every problem listed, templates included,
		// before anything starts.
		if _, ok := readBrands(e.stderr, "cogmail local: --brands", *brandsFile); !ok {
			return exitUsage
		}
		o.BrandsFile = *brandsFile
	}
	if *seedFile != "" {
		b, err := os.ReadFile(*seedFile)
		if err != nil {
			fmt.Fprintf(e.stderr, "cogmail local: --kms-seed: %v\n", err)
			return exitUsage
		}
		o.KMSSeed = b
	}
	aesFrom := "--aes-key-hex"
	if *aesHex == "" {
		*aesHex, aesFrom = strings.TrimSpace(e.getenv(localAESKeyVar)), localAESKeyVar
	}
	if *aesHex != "" {
		k, err := hex.DecodeString(*aesHex)
		if err != nil || len(k) != 32 || *aesNS == "" || *aesName == "" {
			fmt.Fprintf(e.stderr, "cogmail local: %s needs 64 hex characters, with --aes-key-namespace and --aes-key-name\n", aesFrom)
			return exitUsage
		}
		o.AES = &codecrypt.RawAESKey{Namespace: *aesNS, Name: *aesName, Key: k}
	}

	stack, err := localstack.Start(ctx, o)
	if err != nil {
		fmt.Fprintf(e.stderr, "cogmail local: %v\n", err)
		return exitFailed
	}
	defer stack.Close()
	keyring := "KMS " + stack.KMSKeyARN
	if o.AES != nil {
		keyring = "raw AES " + o.AES.Namespace + "/" + o.AES.Name
	}
	fmt.Fprintf(e.stdout, "cogmail local stack on %s (codes: %s)\n\n", stack.URL, keyring)

	samples := stack.RunSamples(ctx, *wait)
	tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TRIGGER\tRECIPIENT\tLOCALE\tEXPIRES IN\tPROVIDER\tOUTCOME")
	failed := 0
	for _, s := range samples {
		outcome, provider := "delivered", s.Delivery.Provider
		if len(s.Delivery.Failovers) > 0 {
			outcome = "delivered after " + strings.Join(s.Delivery.Failovers, ", ")
		}
		if s.Err != nil {
			failed++
			outcome, provider = "FAILED: "+s.Err.Error(), "-"
		}
		expires := "-" // not enqueued
		if !s.Result.ExpiresAt.IsZero() {
			expires = time.Until(s.Result.ExpiresAt).Round(time.Minute).String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.Trigger.Short(), s.Email, s.Result.Locale, expires, provider, outcome)
	}
	_ = tw.Flush()
	fmt.Fprintf(e.stdout, "\n%d of %d sample emails delivered (ingest -> sealed in SQS -> dispatch -> provider)\n",
		len(samples)-failed, len(samples))
	if *once {
		if failed > 0 {
			return exitFailed
		}
		return exitOK
	}
	fmt.Fprintf(e.stdout, "\nInbox:  %s/\nQueues: %s/queues\nInvoke: cogmail invoke --event FILE   (or aws lambda invoke --endpoint-url %s --function-name ingest ...)\n", stack.URL, stack.URL, stack.URL)
	fmt.Fprintf(e.stdout, "Webhooks: POST %s/webhooks/sendgrid, POST %s/webhooks/mailgun (with their keys' flags)\nSuppressions: cogmail suppressions list --local %s\n", stack.URL, stack.URL, stack.URL)
	fmt.Fprintln(e.stdout, "\nPoint AWS clients at the stack:")
	for _, x := range stack.Exports() {
		fmt.Fprintln(e.stdout, "  "+x)
	}
	fmt.Fprintln(e.stdout, "\nRunning; Ctrl-C to stop.")
	<-ctx.Done()
	fmt.Fprintln(e.stdout, "stopping")
	return exitOK
}

// functionLogger is the functions' logger for `cogmail local`: JSON or text
// lines on w from level up.
func functionLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	o := &slog.HandlerOptions{Level: l}
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(w, o)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, o)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want json or text", format)
}

// poolIDs is a repeatable --user-pool-id flag.
type poolIDs []string

func (p *poolIDs) String() string { return strings.Join(*p, ",") }

func (p *poolIDs) Set(v string) error {
	if !cognito.ValidPoolID(v) {
		return fmt.Errorf("%q is not a user pool id (REGION_ID, e.g. eu-west-1_AbCdEf123)", v)
	}
	*p = append(*p, v)
	return nil
}
