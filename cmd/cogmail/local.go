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
	"syscall"
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
  cogmail local --addr 127.0.0.1:18025   # another port (make run ADDR=127.0.0.1:18025)
  cogmail local --log-format json --log-level info   # every log line, as CloudWatch shows them
  eval "$(cogmail local --print-env)"  # in another shell: point AWS clients at the running stack
  cogmail local --user-pool-id us-east-1_CogmailLocal   # refuse events of any other pool, as the deployed ingest does

The tables and addresses go to stdout; the functions' log lines go to stderr, as text from
warn up by default (--log-format json --log-level info for every line as Lambda writes it),
each with a "function" attribute. While it runs the stack publishes its wiring (endpoint
URLs, queue, DLQ and parameter names, key ARN, sender, providers, each fake's URL) in
.cogmail/local.env ($COGMAIL_LOCAL_ENV or --env-file names another file): cogmail invoke,
event, dlq, providers, suppressions and config check read it when no flag or variable names
another target, and --print-env prints it. Everything lives in memory: stopping the stack
(Ctrl-C or kill -9 alike) loses mail ingest had acknowledged but dispatch had not sent, the
queues and the DLQ, the suppression list, the de-duplication cache (re-invoking delivered
events sends them again), the send counters and webhook replay records, the inbox, and a
generated KMS key (--kms-seed keeps the key, so events made for it stay valid across
restarts). docs/operations.md lists it all.
`

// localAESKeyVar gives the raw AES key when --aes-key-hex is not set: a
// flag's value is visible to every user in ps, the environment is not.
const localAESKeyVar = "COGMAIL_LOCAL_AES_KEY_HEX"

// defaultLocalAddr is where `cogmail local` listens unless --addr says otherwise.
const defaultLocalAddr = "127.0.0.1:8025"

func runLocal(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("cogmail local", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	addr := fs.String("addr", defaultLocalAddr, "loopback address to listen on (127.0.0.1:0: any free port)")
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
	logLevel := fs.String("log-level", "warn", "the functions' log level on stderr: debug, info, warn or error")
	logFormat := fs.String("log-format", "text", "the functions' log lines on stderr: text or json (as in CloudWatch)")
	envFile := fs.String("env-file", "", "where to publish the stack's wiring while it runs (default $COGMAIL_LOCAL_ENV, else "+defaultWiringFile+"); none: do not")
	printEnv := fs.Bool("print-env", false, "print the wiring of the stack running here as export lines, and exit (start nothing)")
	var pools poolIDs
	fs.Var(&pools, "user-pool-id", "take events of this user pool only (COGMAIL_USER_POOL_IDS; repeatable; the samples use the first); default: any pool")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: cogmail local [flags]\n\nStarts local KMS and SQS endpoints on one loopback address, wires the real ingest handler to\nthem through the real AWS SDK clients, and sends one sample event per trigger source.\n\nFlags:")
		fs.PrintDefaults()
		fmt.Fprint(fs.Output(), localExamples)
	}
	rest, code, ok := parseFlags(e, fs, args)
	if !ok {
		return code
	}
	if len(rest) > 0 {
		fmt.Fprintf(e.stderr, "cogmail local: unexpected argument %q (cogmail local --help)\n", rest[0])
		return exitUsage
	}
	if strings.TrimSpace(*addr) == "" {
		*addr = defaultLocalAddr // an empty value counts as unset
	}
	if *printEnv {
		return printLocalEnv(ctx, e)
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
	if errors.Is(err, syscall.EADDRINUSE) {
		fmt.Fprintf(e.stderr, "cogmail local: %s is in use (another cogmail local?): stop it, or pick another address with --addr, e.g. --addr 127.0.0.1:18025 (make run ADDR=127.0.0.1:18025), or --addr 127.0.0.1:0 for any free port\n", *addr)
		return exitFailed
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "cogmail local: %v\n", err)
		return exitFailed
	}
	defer stack.Close()
	wiringFile := firstNonEmpty(strings.TrimSpace(*envFile), wiringPath(e.getenv))
	if !*once && wiringFile != "none" {
		// Published before the samples run, so that a command run meanwhile finds the stack.
		remove, err := publishWiring(wiringFile, formatEnvFile(fmt.Sprintf(
			"The wiring of the cogmail local stack on %s (pid %d), written when it started and removed\nwhen it stops. The cogmail commands read it; a shell can source it: . %s",
			stack.URL, os.Getpid(), wiringFile), stack.Wiring()))
		if err != nil {
			fmt.Fprintf(e.stderr, "cogmail local: --env-file: %v\n", err)
			return exitFailed
		}
		defer remove()
	}
	keyring := "KMS " + stack.KMSKeyARN
	if o.AES != nil {
		keyring = "raw AES " + o.AES.Namespace + "/" + o.AES.Name
	}
	fmt.Fprintf(e.stdout, "cogmail local stack on %s (codes: %s)\n\n", stack.URL, keyring)

	samples := stack.RunSamples(ctx, *wait)
	dead := deadLettered(ctx, stack, samples)
	if failed := printSamples(e, samples, dead); failed > 0 {
		printFailures(e, samples, dead, *once, args)
		if *once {
			return exitFailed
		}
	}
	if *once {
		return exitOK
	}
	printLocalAddresses(e, stack, wiringFile)
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
