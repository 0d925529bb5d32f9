package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
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
	cogconfig "github.com/cogmail/cogmail/pkg/config"
	"github.com/cogmail/cogmail/pkg/phone"
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

  # for the local stack running here (cogmail local): its key is the default
  cogmail event --trigger SignUp --email a@b.c --out ev.json && cogmail invoke --event ev.json

  # a Custom SMS Sender sign-up (also: --trigger SignUp --channel sms --phone ...)
  cogmail event --trigger CustomSMSSender_SignUp --phone +14155552671 --out sms.json

The event goes to stdout (or --out); a summary with the plaintext code, a test value you
chose or got generated, goes to stderr so you can match it with the delivered email (for
an SMS event, beside the masked number only).
Without a key flag the key is $COGMAIL_KMS_KEY_ARN, else the key of the local stack running
here (read from its wiring file .cogmail/local.env: the KMS key alias/cogmail-codes names,
or its raw AES key). KMS is reached through the standard AWS configuration: AWS_PROFILE,
AWS_REGION, credentials, AWS_ENDPOINT_URL_KMS; the region is the key ARN's when
--kms-key-arn is an ARN. The endpoint used is named on stderr.
`

// eventFlags are cogmail event's flags, as given.
type eventFlags struct {
	trigger, email, phone, channel, locale, pool, userName, code string
	keyARN, aesHex, aesNS, aesName, clientID, out                string
}

const eventUsage = "usage: cogmail event --trigger T (--email ADDR | --phone E164) [--kms-key-arn ARN | --aes-key-hex HEX --aes-key-namespace NS --aes-key-name NAME] [flags]\n\nMakes a Custom Email Sender or Custom SMS Sender event as Cognito sends it: request.code\nencrypted with the AWS Encryption SDK (message format 1, suite 0x0378, encryption context\nuserpool-id). An AccountTakeOverNotification carries no code but sample sign-in details.\n\nFlags:"

func runEvent(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("cogmail event", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	var f eventFlags
	fs.StringVar(&f.trigger, "trigger", "", "trigger source: SignUp, ForgotPassword, ... or the full CustomEmailSender_* or CustomSMSSender_* name (required)")
	fs.StringVar(&f.email, "email", "", "the user's email attribute (required for an email event)")
	fs.StringVar(&f.phone, "phone", "", "the user's phone_number attribute, E.164 (+14155552671); makes an SMS event")
	fs.StringVar(&f.channel, "channel", "", "email or sms (default: the trigger's family; sms with --phone)")
	fs.StringVar(&f.locale, "locale", "", "the user's locale attribute (none by default)")
	fs.StringVar(&f.pool, "pool", localstack.SamplePool, "user pool id the code is bound to (its encryption context)")
	fs.StringVar(&f.userName, "username", "", "Cognito user name (default: the email's local part, or user and the number's last four digits)")
	fs.StringVar(&f.code, "code", "", "the code to encrypt (default: a random 6-digit code, or a temporary password for AdminCreateUser)")
	fs.StringVar(&f.keyARN, "kms-key-arn", "", "encrypt with this KMS key (key ARN, alias ARN or alias name; default $COGMAIL_KMS_KEY_ARN, else the running local stack's key)")
	fs.StringVar(&f.aesHex, "aes-key-hex", "", "encrypt with a raw AES-256 key (64 hex characters) instead of KMS")
	fs.StringVar(&f.aesNS, "aes-key-namespace", "", "raw AES key namespace (with --aes-key-hex)")
	fs.StringVar(&f.aesName, "aes-key-name", "", "raw AES key name (with --aes-key-hex)")
	fs.StringVar(&f.clientID, "client-id", localstack.SampleClientID, "app client id (callerContext.clientId): picks the brand")
	fs.StringVar(&f.out, "out", "", "write the event to this file instead of stdout")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), eventUsage)
		fs.PrintDefaults()
		fmt.Fprint(fs.Output(), eventExamples)
	}
	if code, ok := parseNoOperands(e, fs, args); !ok {
		return code
	}
	in, problem := f.input()
	if problem != "" {
		return eventUsageErr(e, "%s", problem)
	}
	return makeEvent(ctx, e, f, in)
}

func eventUsageErr(e *env, format string, a ...any) int {
	fmt.Fprintf(e.stderr, "cogmail event: "+format+"\n", a...)
	return exitUsage
}

// eventInput is what the flags ask for, checked: the trigger on its
// channel, the user, and the pool's region.
type eventInput struct {
	trigger cognito.Trigger
	number  phone.Number // an SMS event's
	region  string
	spec    localstack.EventSpec
}

// input checks the flags; the problem is said without the command's name.
func (f eventFlags) input() (eventInput, string) {
	const required = "--trigger and --email are required (or --phone for an SMS event; cogmail event --help)"
	if f.trigger == "" {
		return eventInput{}, required
	}
	t, problem := f.triggerOnChannel()
	if problem != "" {
		return eventInput{}, problem
	}
	var number phone.Number
	userName := f.userName
	if t.Channel() == cognito.ChannelSMS {
		if f.phone == "" {
			return eventInput{}, "an SMS event needs --phone E164 (+14155552671)"
		}
		var err error
		if number, err = phone.Parse(f.phone); err != nil {
			return eventInput{}, fmt.Sprintf("--phone %q: %s", f.phone, strings.TrimPrefix(err.Error(), "phone: phone_number: "))
		}
		if userName == "" {
			userName = "user" + number.E164()[len(number.E164())-4:]
		}
	} else if f.email == "" {
		return eventInput{}, required
	}
	if f.email != "" {
		if _, err := mail.ParseAddress(f.email); err != nil {
			return eventInput{}, fmt.Sprintf("--email %q is not an email address", f.email)
		}
	}
	region, _, ok := strings.Cut(f.pool, "_")
	if !ok || region == "" {
		return eventInput{}, fmt.Sprintf("--pool %q is not a user pool id (REGION_ID, e.g. us-east-1_AbCdEf123)", f.pool)
	}
	if userName == "" {
		userName, _, _ = strings.Cut(f.email, "@")
	}
	spec := localstack.EventSpec{Trigger: t, Pool: f.pool, UserName: userName, Email: f.email, Phone: number.E164(), Locale: f.locale, ClientID: f.clientID}
	return eventInput{trigger: t, number: number, region: region, spec: spec}, ""
}

// triggerOnChannel is --trigger on the channel --channel (or --phone alone)
// picks.
func (f eventFlags) triggerOnChannel() (cognito.Trigger, string) {
	t, err := cognito.ParseTrigger(f.trigger)
	if err != nil || !t.Known() {
		return t, fmt.Sprintf("--trigger %q is not a Custom Email Sender trigger source (SignUp, ResendCode, ForgotPassword, UpdateUserAttribute, VerifyUserAttribute, AdminCreateUser, Authentication, AccountTakeOverNotification) or a CustomSMSSender_ one", f.trigger)
	}
	switch f.channel {
	case "":
		if f.phone != "" && f.email == "" {
			t = t.On(cognito.ChannelSMS)
		}
	case string(cognito.ChannelEmail), string(cognito.ChannelSMS):
		if strings.HasPrefix(f.trigger, cognito.TriggerPrefix) || strings.HasPrefix(f.trigger, cognito.SMSTriggerPrefix) {
			if t.Channel() != cognito.Channel(f.channel) {
				return t, fmt.Sprintf("--trigger %s is not of --channel %s", f.trigger, f.channel)
			}
		}
		t = t.On(cognito.Channel(f.channel))
	default:
		return t, fmt.Sprintf("--channel %q is not email or sms", f.channel)
	}
	if !t.Known() {
		return t, fmt.Sprintf("Cognito sends no %s by %s", t.Short(), t.Channel())
	}
	return t, ""
}

// makeEvent encrypts the code, writes the event (stdout or --out) and says
// on stderr what it made.
func makeEvent(ctx context.Context, e *env, f eventFlags, in eventInput) int {
	t := in.trigger
	spec := in.spec
	var ciphertext, plaintext, keyDesc string
	if !t.RequiresCode() {
		// Key flags are accepted and unused, so a script can loop over every
		// trigger with the same flags.
		if f.code != "" {
			return eventUsageErr(e, "%s carries no code: drop --code", t.Short())
		}
		spec.Extra = localstack.AccountTakeOverAttributes(time.Now())
	} else {
		var code int
		if ciphertext, plaintext, keyDesc, code = encryptEventCode(ctx, e, f, t); code != exitOK {
			return code
		}
	}
	raw, err := localstack.Event(spec, ciphertext)
	if err != nil {
		fmt.Fprintf(e.stderr, "cogmail event: %v\n", err)
		return exitUsage // the only cause is an attribute the flags supplied
	}
	raw, err = withRegion(raw, in.region)
	if err != nil {
		fmt.Fprintf(e.stderr, "cogmail event: %v\n", err)
		return exitFailed
	}
	if f.out == "" {
		_, _ = e.stdout.Write(raw)
	} else if err := os.WriteFile(f.out, raw, 0o644); err != nil {
		fmt.Fprintf(e.stderr, "cogmail event: --out: %v\n", err)
		return exitFailed
	}
	to := f.email
	if t.Channel() == cognito.ChannelSMS {
		to = in.number.Masked() // never the whole number beside a code
	}
	if plaintext == "" {
		fmt.Fprintf(e.stderr, "cogmail event: %s for %s in %s (no code; sample sign-in details)\n", t, to, f.pool)
	} else {
		fmt.Fprintf(e.stderr, "cogmail event: %s for %s in %s; code %s encrypted with %s\n", t, to, f.pool, html.UnescapeString(plaintext), keyDesc)
	}
	return exitOK
}

// encryptEventCode is --code (or a new one, escaped as Cognito escapes it)
// encrypted with the key the flags name, and that key described; exit 0,
// or the exit code with the problem said.
func encryptEventCode(ctx context.Context, e *env, f eventFlags, t cognito.Trigger) (ciphertext, plaintext, keyDesc string, code int) {
	plaintext = f.code
	switch {
	case plaintext == "":
		plaintext = localstack.NewCode(t) // already escaped as Cognito escapes it
	case t.On(cognito.ChannelEmail) == cognito.AdminCreateUser:
		plaintext = html.EscapeString(plaintext) // Cognito HTML-escapes temporary passwords
	}
	usageErr := func(format string, a ...any) int { return eventUsageErr(e, format, a...) }
	enc, keyDesc, code := eventEncrypter(ctx, e, usageErr, t, f.keyARN, f.aesHex, f.aesNS, f.aesName)
	if enc == nil {
		return "", "", "", code
	}
	ciphertext, err := enc.Encrypt(ctx, plaintext, f.pool)
	if err != nil {
		// codecrypt's message is its own (it names KMS's answer) and
		// never holds the code or the SDK's garbled text.
		fmt.Fprintf(e.stderr, "cogmail event: %v\n", err)
		return "", "", "", exitFailed
	}
	return ciphertext, plaintext, keyDesc, exitOK
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

// eventEncrypter is the encrypter the key flags ask for: a raw AES key, a
// KMS key (--kms-key-arn, else $COGMAIL_KMS_KEY_ARN), or, with neither, the
// key of the local stack running here (its wiring: the KMS key behind
// alias/cogmail-codes, or its raw AES key). A nil encrypter comes with the
// exit code, the problem already said.
func eventEncrypter(ctx context.Context, e *env, usageErr func(string, ...any) int, t cognito.Trigger, keyARN, aesHex, aesNS, aesName string) (*codecrypt.Encrypter, string, int) {
	fail := func(err error) (*codecrypt.Encrypter, string, int) {
		fmt.Fprintf(e.stderr, "cogmail event: %v\n", err)
		return nil, "", exitFailed
	}
	if keyARN != "" && aesHex != "" {
		return nil, "", usageErr("--kms-key-arn and --aes-key-hex exclude each other")
	}
	if aesHex == "" && keyARN == "" {
		keyARN = strings.TrimSpace(e.getenv("COGMAIL_KMS_KEY_ARN"))
	}
	if aesHex != "" {
		k, err := hex.DecodeString(aesHex)
		if err != nil || len(k) != 32 || aesNS == "" || aesName == "" {
			return nil, "", usageErr("--aes-key-hex needs 64 hex characters, with --aes-key-namespace and --aes-key-name")
		}
		enc, err := codecrypt.NewRawAESEncrypter(ctx, codecrypt.RawAESKey{Namespace: aesNS, Name: aesName, Key: k})
		if err != nil {
			return fail(err)
		}
		return enc, "raw AES key " + aesNS + "/" + aesName, exitOK
	}
	tg, err := serviceTarget(e, "KMS", func(w *wiring) bool { return keyARN == "" || localKey(w, keyARN) })
	if err != nil {
		return fail(err)
	}
	if keyARN == "" {
		w := tg.local
		if w == nil {
			return nil, "", usageErr("%s needs a key to encrypt its code: --kms-key-arn ARN, or --aes-key-hex with --aes-key-namespace and --aes-key-name (or start cogmail local: its key is the default)", t.Short())
		}
		if w.vars["COGMAIL_KEYRING"] == string(cogconfig.KeyringRawAES) {
			fmt.Fprintf(e.stderr, "cogmail event: the raw AES key of %s\n", w.describe())
			return eventEncrypter(ctx, e, usageErr, t, "", w.vars["COGMAIL_AES_KEY_HEX"], w.vars["COGMAIL_AES_KEY_NAMESPACE"], w.vars["COGMAIL_AES_KEY_NAME"])
		}
		keyARN = w.vars["COGMAIL_KMS_KEY_ARN"]
	}
	cfg, err := awsConfigFromEnv(ctx, tg.getenv, arnRegion(keyARN))
	if err != nil {
		return fail(fmt.Errorf("AWS configuration: %w", err))
	}
	tg.announce(e, "cogmail event", "KMS", cfg.Region)
	client := kms.NewFromConfig(cfg, func(o *kms.Options) {
		if tg.endpoint != "" {
			o.BaseEndpoint = aws.String(tg.endpoint)
		}
	})
	enc, err := codecrypt.NewKMSEncrypter(ctx, client, keyARN)
	if err != nil {
		return fail(err)
	}
	return enc, "KMS key " + keyARN, exitOK
}

// localKey reports whether a --kms-key-arn value names a key of the local
// stack: an alias name or key id (resolved wherever the calls go), or an
// ARN in the stack's account and region.
func localKey(w *wiring, key string) bool {
	if !strings.HasPrefix(key, "arn:") {
		return true
	}
	p, q := strings.SplitN(key, ":", 6), strings.SplitN(w.vars["COGMAIL_KMS_KEY_ARN"], ":", 6)
	return len(p) == 6 && len(q) == 6 && p[3] == q[3] && p[4] == q[4]
}
