package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"html"
	"net/mail"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/cogmail/cogmail/internal/local/localstack"
	"github.com/cogmail/cogmail/pkg/codecrypt"
	"github.com/cogmail/cogmail/pkg/cognito"
)

func eventCommand() command {
	return command{name: "event", summary: "make a Cognito-shaped event with a code encrypted as Cognito does", run: runEvent}
}

const eventExamples = `
Examples:
  # a sign-up event for a deployed stack, code encrypted with its KMS key
  cogmail event --trigger SignUp --email you@example.com \
    --kms-key-arn arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab \
    --pool eu-west-1_AbCdEf123 --out signup.json
  cogmail invoke --function cogmail-ingest --event signup.json

  # a Spanish password reset with a raw AES key (as cogmail local --aes-key-hex uses)
  cogmail event --trigger ForgotPassword --email ana@example.com --locale es --code 123456 \
    --aes-key-hex $(openssl rand -hex 32) --aes-key-namespace ns --aes-key-name k

  # against the local stack's KMS (cogmail local prints the exports and the key ARN)
  AWS_ENDPOINT_URL_KMS=http://127.0.0.1:8025 cogmail event --trigger SignUp --email a@b.c --kms-key-arn ARN

The event goes to stdout (or --out); a summary with the plaintext code, a test value you
chose or got generated, goes to stderr so you can match it with the delivered email.
KMS is reached through the standard AWS configuration: AWS_PROFILE, AWS_REGION,
credentials, AWS_ENDPOINT_URL_KMS; the region is the key ARN's when --kms-key-arn is an ARN.
`

func runEvent(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("cogmail event", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	trigger := fs.String("trigger", "", "trigger source: SignUp, ForgotPassword, ... or the full CustomEmailSender_* name (required)")
	email := fs.String("email", "", "the user's email attribute (required)")
	locale := fs.String("locale", "", "the user's locale attribute (none by default)")
	pool := fs.String("pool", localstack.SamplePool, "user pool id the code is bound to (its encryption context)")
	userName := fs.String("username", "", "Cognito user name (default: the email's local part)")
	code := fs.String("code", "", "the code to encrypt (default: a random 6-digit code, or a temporary password for AdminCreateUser)")
	keyARN := fs.String("kms-key-arn", "", "encrypt with this KMS key (key ARN, alias ARN or alias name)")
	aesHex := fs.String("aes-key-hex", "", "encrypt with a raw AES-256 key (64 hex characters) instead of KMS")
	aesNS := fs.String("aes-key-namespace", "", "raw AES key namespace (with --aes-key-hex)")
	aesName := fs.String("aes-key-name", "", "raw AES key name (with --aes-key-hex)")
	clientID := fs.String("client-id", localstack.SampleClientID, "app client id (callerContext.clientId): picks the brand")
	out := fs.String("out", "", "write the event to this file instead of stdout")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: cogmail event --trigger T --email ADDR (--kms-key-arn ARN | --aes-key-hex HEX --aes-key-namespace NS --aes-key-name NAME) [flags]\n\nMakes a Custom Email Sender event as Cognito sends it: request.code encrypted with the AWS\nEncryption SDK (message format 1, suite 0x0378, encryption context userpool-id). An\nAccountTakeOverNotification carries no code but sample sign-in details.\n\nFlags:")
		fs.PrintDefaults()
		fmt.Fprint(e.stderr, eventExamples)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(e.stderr, "cogmail event: "+format+"\n", a...)
		return exitUsage
	}
	if fs.NArg() > 0 {
		return usageErr("unexpected argument %q", fs.Arg(0))
	}
	if *trigger == "" || *email == "" {
		return usageErr("--trigger and --email are required (cogmail event --help)")
	}
	t, err := cognito.ParseTrigger(*trigger)
	if err != nil || !t.Known() {
		return usageErr("--trigger %q is not a Custom Email Sender trigger source (SignUp, ResendCode, ForgotPassword, UpdateUserAttribute, VerifyUserAttribute, AdminCreateUser, Authentication, AccountTakeOverNotification)", *trigger)
	}
	if _, err := mail.ParseAddress(*email); err != nil {
		return usageErr("--email %q is not an email address", *email)
	}
	region, _, ok := strings.Cut(*pool, "_")
	if !ok || region == "" {
		return usageErr("--pool %q is not a user pool id (REGION_ID, e.g. us-east-1_AbCdEf123)", *pool)
	}
	if *userName == "" {
		*userName, _, _ = strings.Cut(*email, "@")
	}

	spec := localstack.EventSpec{Trigger: t, Pool: *pool, UserName: *userName, Email: *email, Locale: *locale, ClientID: *clientID}
	var ciphertext, plaintext, keyDesc string
	if !t.RequiresCode() {
		// Key flags are accepted and unused, so a script can loop over every
		// trigger with the same flags.
		if *code != "" {
			return usageErr("%s carries no code: drop --code", t.Short())
		}
		spec.Extra = localstack.AccountTakeOverAttributes(time.Now())
	} else {
		plaintext = *code
		switch {
		case plaintext == "":
			plaintext = localstack.NewCode(t) // already escaped as Cognito escapes it
		case t == cognito.AdminCreateUser:
			plaintext = html.EscapeString(plaintext) // Cognito HTML-escapes temporary passwords
		}
		var enc *codecrypt.Encrypter
		switch {
		case *keyARN != "" && *aesHex != "":
			return usageErr("--kms-key-arn and --aes-key-hex exclude each other")
		case *aesHex != "":
			k, err := hex.DecodeString(*aesHex)
			if err != nil || len(k) != 32 || *aesNS == "" || *aesName == "" {
				return usageErr("--aes-key-hex needs 64 hex characters, with --aes-key-namespace and --aes-key-name")
			}
			keyDesc = "raw AES key " + *aesNS + "/" + *aesName
			enc, err = codecrypt.NewRawAESEncrypter(ctx, codecrypt.RawAESKey{Namespace: *aesNS, Name: *aesName, Key: k})
			if err != nil {
				fmt.Fprintf(e.stderr, "cogmail event: %v\n", err)
				return exitFailed
			}
		case *keyARN != "":
			keyDesc = "KMS key " + *keyARN
			cfg, err := awsConfigFromEnv(ctx, e.getenv, arnRegion(*keyARN))
			if err != nil {
				fmt.Fprintf(e.stderr, "cogmail event: AWS configuration: %v\n", err)
				return exitFailed
			}
			client := kms.NewFromConfig(cfg, func(o *kms.Options) {
				if u := serviceEndpoint(e.getenv, "KMS"); u != "" {
					o.BaseEndpoint = aws.String(u)
				}
			})
			enc, err = codecrypt.NewKMSEncrypter(ctx, client, *keyARN)
			if err != nil {
				fmt.Fprintf(e.stderr, "cogmail event: %v\n", err)
				return exitFailed
			}
		default:
			return usageErr("%s needs a key to encrypt its code: --kms-key-arn ARN, or --aes-key-hex with --aes-key-namespace and --aes-key-name", t.Short())
		}
		ciphertext, err = enc.Encrypt(ctx, plaintext, *pool)
		if err != nil {
			// codecrypt's message is its own (it names KMS's answer) and
			// never holds the code or the SDK's garbled text.
			fmt.Fprintf(e.stderr, "cogmail event: %v\n", err)
			return exitFailed
		}
	}

	raw, err := localstack.Event(spec, ciphertext)
	if err != nil {
		fmt.Fprintf(e.stderr, "cogmail event: %v\n", err)
		return exitUsage // the only cause is an attribute the flags supplied
	}
	raw, err = withRegion(raw, region)
	if err != nil {
		fmt.Fprintf(e.stderr, "cogmail event: %v\n", err)
		return exitFailed
	}
	if *out == "" {
		_, _ = e.stdout.Write(raw)
	} else if err := os.WriteFile(*out, raw, 0o644); err != nil {
		fmt.Fprintf(e.stderr, "cogmail event: --out: %v\n", err)
		return exitFailed
	}
	if plaintext == "" {
		fmt.Fprintf(e.stderr, "cogmail event: %s for %s in %s (no code; sample sign-in details)\n", t, *email, *pool)
	} else {
		fmt.Fprintf(e.stderr, "cogmail event: %s for %s in %s; code %s encrypted with %s\n", t, *email, *pool, html.UnescapeString(plaintext), keyDesc)
	}
	return exitOK
}

// withRegion sets the event's region to the pool's (localstack.Event writes
// us-east-1) and indents it for people reading the file.
func withRegion(raw []byte, region string) ([]byte, error) {
	var ev cognito.Event
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, err
	}
	ev.Region = region
	b, err := json.Marshal(ev)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, b, "", "  "); err != nil {
		return nil, err
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}
