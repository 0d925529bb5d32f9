package main

import (
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/cogmail/cogmail/internal/local/localstack"
	"github.com/cogmail/cogmail/pkg/codecrypt"
)

// localFlags are cogmail local's flags.
type localFlags struct {
	fs         *flag.FlagSet
	addr       *string
	once       *bool
	seedFile   *string
	account    *string
	region     *string
	keyARN     *string
	aesHex     *string
	aesNS      *string
	aesName    *string
	fail       *string
	routing    *string
	wait       *time.Duration
	sgKey      *string
	mgKey      *string
	limit      *string
	brandsFile *string
	logLevel   *string
	logFormat  *string
	envFile    *string
	printEnv   *bool
	pools      poolIDs
}

func newLocalFlags() *localFlags {
	f := &localFlags{fs: flag.NewFlagSet("cogmail local", flag.ContinueOnError)}
	f.addr = f.fs.String("addr", defaultLocalAddr, "loopback address to listen on (127.0.0.1:0: any free port)")
	f.once = f.fs.Bool("once", false, "exit after the sample events: status 0 only if all were enqueued")
	f.seedFile = f.fs.String("kms-seed", "", "local-kms seed file (YAML); default: a generated key")
	f.account = f.fs.String("kms-account", "111122223333", "account of the local KMS")
	f.region = f.fs.String("kms-region", "us-east-1", "region of the local KMS")
	f.keyARN = f.fs.String("kms-key-arn", "", "the code key (default: the seed's first key)")
	f.aesHex = f.fs.String("aes-key-hex", "", "use a raw AES-256 keyring with this key (64 hex characters) instead of KMS; default $"+localAESKeyVar+", which keeps the key out of ps")
	f.aesNS = f.fs.String("aes-key-namespace", "", "raw AES key namespace (with --aes-key-hex)")
	f.aesName = f.fs.String("aes-key-name", "", "raw AES key name (with --aes-key-hex)")
	f.fail = f.fs.String("fail", "", "inject provider faults: NAME=RATE (0..1, answered 503 / connection reset) or NAME=STATUS (e.g. 429, 500, SMTP 421), comma-separated")
	f.routing = f.fs.String("providers", localstack.DefaultProviders, "initial provider routing (failover order, or NAME=WEIGHT for weighted)")
	f.wait = f.fs.Duration("wait", 30*time.Second, "how long to wait for the samples to be delivered")
	f.sgKey = f.fs.String("sendgrid-webhook-public-key", "", "turn on POST /webhooks/sendgrid: the Event Webhook's verification key (base64 DER, as SendGrid shows it)")
	f.mgKey = f.fs.String("mailgun-webhook-signing-key", "", "turn on POST /webhooks/mailgun: Mailgun's webhook signing key")
	f.limit = f.fs.String("recipient-limit", "off", "emails per address per window for code-bearing triggers, N/DURATION (e.g. 3/1h), or off")
	f.brandsFile = f.fs.String("brands", "", "brand document (YAML or JSON, docs/brands.md): a brand per app client id")
	f.logLevel = f.fs.String("log-level", "warn", "the functions' log level on stderr: debug, info, warn or error")
	f.logFormat = f.fs.String("log-format", "text", "the functions' log lines on stderr: text or json (as in CloudWatch)")
	f.envFile = f.fs.String("env-file", "", "where to publish the stack's wiring while it runs (default $COGMAIL_LOCAL_ENV, else "+defaultWiringFile+"); none: do not")
	f.printEnv = f.fs.Bool("print-env", false, "print the wiring of the stack running here as export lines, and exit (start nothing)")
	f.fs.Var(&f.pools, "user-pool-id", "take events of this user pool only (COGMAIL_USER_POOL_IDS; repeatable; the samples use the first); default: any pool")
	f.fs.Usage = func() {
		fmt.Fprintln(f.fs.Output(), "usage: cogmail local [flags]\n\nStarts local KMS and SQS endpoints on one loopback address, wires the real ingest handler to\nthem through the real AWS SDK clients, and sends one sample event per trigger source.\n\nFlags:")
		f.fs.PrintDefaults()
		fmt.Fprint(f.fs.Output(), localExamples)
	}
	return f
}

// options checks the flags and builds the stack's options; false when a
// flag is wrong (said on stderr).
func (f *localFlags) options(e *env) (localstack.Options, bool) {
	var o localstack.Options
	if strings.TrimSpace(*f.addr) == "" {
		*f.addr = defaultLocalAddr // an empty value counts as unset
	}
	faults, err := localstack.ParseFaults(*f.fail)
	if err != nil {
		fmt.Fprintf(e.stderr, "cogmail local: %v\n", err)
		return o, false
	}
	logger, err := functionLogger(e.stderr, *f.logLevel, *f.logFormat)
	if err != nil {
		fmt.Fprintf(e.stderr, "cogmail local: %v\n", err)
		return o, false
	}
	o = localstack.Options{Addr: *f.addr, KMSAccount: *f.account, KMSRegion: *f.region, KMSKeyARN: *f.keyARN, Faults: faults, Providers: *f.routing,
		SendGridWebhookPublicKey: *f.sgKey, MailgunWebhookSigningKey: *f.mgKey, RecipientLimit: *f.limit, Logger: logger, UserPoolIDs: f.pools}
	if *f.brandsFile != "" {
		// Refused here with every problem listed, templates included,
		// before anything starts.
		if _, ok := readBrands(e.stderr, "cogmail local: --brands", *f.brandsFile); !ok {
			return o, false
		}
		o.BrandsFile = *f.brandsFile
	}
	if *f.seedFile != "" {
		b, err := os.ReadFile(*f.seedFile)
		if err != nil {
			fmt.Fprintf(e.stderr, "cogmail local: --kms-seed: %v\n", err)
			return o, false
		}
		o.KMSSeed = b
	}
	aesFrom := "--aes-key-hex"
	if *f.aesHex == "" {
		*f.aesHex, aesFrom = strings.TrimSpace(e.getenv(localAESKeyVar)), localAESKeyVar
	}
	if *f.aesHex != "" {
		k, err := hex.DecodeString(*f.aesHex)
		if err != nil || len(k) != 32 || *f.aesNS == "" || *f.aesName == "" {
			fmt.Fprintf(e.stderr, "cogmail local: %s needs 64 hex characters, with --aes-key-namespace and --aes-key-name\n", aesFrom)
			return o, false
		}
		o.AES = &codecrypt.RawAESKey{Namespace: *f.aesNS, Name: *f.aesName, Key: k}
	}

	return o, true
}
