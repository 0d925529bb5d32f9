package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/cogmail/cogmail/internal/local/ssmlocal"
	"github.com/cogmail/cogmail/internal/testkit/motoserver"
	"github.com/cogmail/cogmail/pkg/provider/mailgun/mailgunfake"
	"github.com/cogmail/cogmail/pkg/provider/sendgrid/sendgridfake"
	"github.com/cogmail/cogmail/pkg/provider/smtp/smtpfake"
)

const (
	testKeyARN   = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	testSender   = "no-reply@example.com"
	sendgridKey  = "SG.config-check-key-0123456789"
	mailgunKey   = "key-config-check-0123456789"
	smtpUser     = "relay-user"
	smtpPassword = "relay-password-0123456789"
)

// with returns base with the extra variables; an empty value removes one.
func with(base map[string]string, kv ...string) map[string]string {
	out := maps.Clone(base)
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(out, kv[i])
		} else {
			out[kv[i]] = kv[i+1]
		}
	}
	return out
}

var (
	ingestEnv = map[string]string{
		"COGMAIL_QUEUE_URL":     "https://sqs.us-east-1.amazonaws.com/111122223333/cogmail",
		"COGMAIL_KMS_KEY_ARN":   testKeyARN,
		"COGMAIL_USER_POOL_IDS": "us-east-1_AbCdEf123",
	}
	dispatchEnv = map[string]string{
		"COGMAIL_PROVIDERS":    "ses",
		"COGMAIL_SENDER_EMAIL": testSender,
		"COGMAIL_SES_IDENTITY": "example.com",
		"COGMAIL_DLQ_URL":      "https://sqs.us-east-1.amazonaws.com/111122223333/cogmail-dlq",
	}
	bothEnv = with(ingestEnv, "COGMAIL_PROVIDERS", "ses", "COGMAIL_SENDER_EMAIL", testSender, "COGMAIL_SES_IDENTITY", "example.com",
		"COGMAIL_DLQ_URL", "https://sqs.us-east-1.amazonaws.com/111122223333/cogmail-dlq")
)

// noSecrets fails if any secret value of vars shows in the output.
func noSecrets(t *testing.T, vars map[string]string, outputs ...string) {
	t.Helper()
	for k, v := range vars {
		if !strings.HasSuffix(k, "_API_KEY") && !strings.HasSuffix(k, "_PASSWORD") && k != "COGMAIL_AES_KEY_HEX" && k != "AWS_SECRET_ACCESS_KEY" {
			continue
		}
		for _, o := range outputs {
			if strings.Contains(o, v) {
				t.Errorf("the output shows %s's value:\n%s", k, o)
			}
		}
	}
}

func TestConfigCheck(t *testing.T) {
	t.Parallel()
	overrides := t.TempDir()
	broken := filepath.Join(overrides, "broken")
	good := filepath.Join(overrides, "good")
	for dir, body := range map[string]string{broken: "{{ .Code ", good: "<p>Welcome! Your code is {{ .Code }}</p>"} {
		if err := os.MkdirAll(filepath.Join(dir, "en"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "en", "SignUp.html"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		code    int
		want    []string // in stdout
		notWant []string
	}{
		{"both fine", bothEnv, nil, exitOK,
			[]string{"ingest: ok", "embedded templates: every trigger and locale renders", "keyring: kms, key " + testKeyARN,
				"user pools: us-east-1_AbCdEf123 (events of any other pool are refused)",
				"dispatch: ok", "routing (COGMAIL_PROVIDERS): failover: ses", "config check: ok"}, []string{"✗", "pings"}},
		{"nothing set", map[string]string{}, nil, exitFailed,
			[]string{"ingest: 4 problems", "COGMAIL_SEAL_KEY_ID: is required", "COGMAIL_USER_POOL_IDS: is not set", "COGMAIL_QUEUE_URL: is required", "COGMAIL_KMS_KEY_ARN: is required with COGMAIL_KEYRING=kms",
				"COGMAIL_SENDER_EMAIL: is required", "COGMAIL_DLQ_URL: is required", "COGMAIL_PROVIDERS: is required", "config check: 7 problems"}, nil},
		{"no user pool", with(ingestEnv, "COGMAIL_USER_POOL_IDS", ""), []string{"--function", "ingest"}, exitFailed,
			[]string{"ingest: 1 problem", "COGMAIL_USER_POOL_IDS: is not set: ingest takes events of any user pool"}, nil},
		{"pools", with(ingestEnv, "COGMAIL_USER_POOL_IDS", "eu-west-1_AbCdEf123, us-east-1_AbCdEf123"), []string{"--function", "ingest"}, exitOK,
			[]string{"ingest: ok", "user pools: eu-west-1_AbCdEf123, us-east-1_AbCdEf123"}, nil},
		{"not a pool id", with(ingestEnv, "COGMAIL_USER_POOL_IDS", "us-east-1_AbCdEf123,arn:aws:cognito-idp:us-east-1:1:userpool/x"), []string{"--function", "ingest"}, exitFailed,
			[]string{`COGMAIL_USER_POOL_IDS: "arn:aws:cognito-idp:us-east-1:1:userpool/x" is not a user pool id`}, []string{"is not set"}},
		// An email-only pool: the built-in SMS texts at the default limit
		// are not refused (ingest starts), but the check warns.
		{"a product name too long for one SMS segment, email only", with(ingestEnv, "COGMAIL_PRODUCT_NAME", strings.Repeat("P", 60)), []string{"--function", "ingest"}, exitOK,
			[]string{"ingest: ok", `⚠ warning: COGMAIL_PRODUCT_NAME "` + strings.Repeat("P", 60) + `": its SMS texts take more than the default limit of 1 segment`,
				"de/ForgotPassword.sms.txt (2 segments, GSM-7)", "shorten COGMAIL_PRODUCT_NAME or set COGMAIL_SMS_SEGMENTS=2", "config check: ok"}, []string{"✗"}},
		{"a product name too long for an explicit limit of 1", with(ingestEnv, "COGMAIL_PRODUCT_NAME", strings.Repeat("P", 60), "COGMAIL_SMS_SEGMENTS", "1"), []string{"--function", "ingest"}, exitFailed,
			[]string{"ingest: ", "de/ForgotPassword.sms.txt: its worst case", "over the brand's limit of 1"}, []string{"warning"}},
		{"a product name too long with an origin domain", with(ingestEnv, "COGMAIL_PRODUCT_NAME", strings.Repeat("P", 60), "COGMAIL_SMS_ORIGIN_DOMAIN", "app.example.com"), []string{"--function", "ingest"}, exitFailed,
			[]string{"ingest: ", "de/ForgotPassword.sms.txt: its worst case", "over the brand's limit of 1"}, []string{"warning"}},
		{"two segments allowed", with(ingestEnv, "COGMAIL_PRODUCT_NAME", strings.Repeat("P", 80), "COGMAIL_SMS_SEGMENTS", "2", "COGMAIL_SMS_ORIGIN_DOMAIN", "app.example.com"),
			[]string{"--function", "ingest"}, exitOK, []string{"ingest: ok"}, nil},
		{"a bad origin domain, said once", with(ingestEnv, "COGMAIL_SMS_ORIGIN_DOMAIN", "https://app.example.com"), []string{"--function", "ingest"}, exitFailed,
			[]string{"ingest: 1 problem", `COGMAIL_SMS_ORIGIN_DOMAIN: "https://app.example.com" is not a host name`}, []string{"Brand.OriginDomain"}},
		{"only the function asked for", ingestEnv, []string{"--function", "ingest"}, exitOK, []string{"ingest: ok", "config check: ok"}, []string{"dispatch"}},
		{"dispatch alone", dispatchEnv, []string{"--function=dispatch"}, exitOK, []string{"dispatch: ok"}, []string{"ingest"}},
		{"bad values", with(dispatchEnv, "COGMAIL_CONCURRENCY", "lots", "COGMAIL_STRATEGY", "random", "COGMAIL_SMTP_HOST", "smtp.example.com",
			"COGMAIL_SMTP_PORT", "smtp", "COGMAIL_SEND_TIMEOUT", "1 minute"), []string{"--function", "dispatch"}, exitFailed,
			[]string{`COGMAIL_CONCURRENCY: "lots" is not a positive whole number`, `COGMAIL_STRATEGY: "random" is not failover or weighted`,
				`COGMAIL_SMTP_PORT: "smtp" is not a port`, "COGMAIL_SEND_TIMEOUT:"}, nil},
		{"unknown provider", with(dispatchEnv, "COGMAIL_PROVIDERS", "ses,postmark"), []string{"--function", "dispatch"}, exitFailed,
			[]string{`COGMAIL_PROVIDERS: "postmark" is not a provider`}, nil},
		{"a provider without its key", with(dispatchEnv, "COGMAIL_PROVIDERS", "sendgrid,ses"), []string{"--function", "dispatch"}, exitFailed,
			[]string{"COGMAIL_SENDGRID_API_KEY: or COGMAIL_SENDGRID_API_KEY_SECRET is required: sendgrid is in COGMAIL_PROVIDERS"}, nil},
		// What the template's Rules now refuse, as a deployed function shows it.
		{"ses routed without the identity the stack granted", with(dispatchEnv, "COGMAIL_SES_IDENTITY", ""), []string{"--function", "dispatch"}, exitFailed,
			[]string{"COGMAIL_SES_IDENTITY: is empty while ses is in COGMAIL_PROVIDERS", "AccessDenied", "SesIdentity="}, nil},
		{"a sender outside the SES identity", with(dispatchEnv, "COGMAIL_SES_IDENTITY", "example.org"), []string{"--function", "dispatch"}, exitFailed,
			[]string{`COGMAIL_SES_IDENTITY: "example.org" does not cover the sender ` + testSender}, nil},
		{"the sender's own address as the identity", with(dispatchEnv, "COGMAIL_SES_IDENTITY", testSender), []string{"--function", "dispatch"}, exitOK, []string{"dispatch: ok"}, nil},
		{"ses without identity at a local endpoint", with(dispatchEnv, "COGMAIL_SES_IDENTITY", "", "AWS_ENDPOINT_URL_SESV2", "http://127.0.0.1:4566"), []string{"--function", "dispatch"}, exitOK,
			[]string{"dispatch: ok"}, nil},
		{"a sender with a display name", with(dispatchEnv, "COGMAIL_SENDER_EMAIL", "Acme <no-reply@example.com>"), []string{"--function", "dispatch"}, exitFailed,
			[]string{"COGMAIL_SENDER_EMAIL: is not a bare email address"}, nil},
		{"a password in clear to a remote relay", with(dispatchEnv, "COGMAIL_SMTP_HOST", "smtp.example.com", "COGMAIL_SMTP_TLS", "none",
			"COGMAIL_SMTP_USERNAME", smtpUser, "COGMAIL_SMTP_PASSWORD", smtpPassword), []string{"--function", "dispatch"}, exitFailed,
			[]string{"COGMAIL_SMTP_TLS: none would send the password in clear to smtp.example.com"}, nil},
		{"a secret set twice", with(dispatchEnv, "COGMAIL_SENDGRID_API_KEY", sendgridKey, "COGMAIL_SENDGRID_API_KEY_SECRET", "cogmail/sendgrid"),
			[]string{"--function", "dispatch"}, exitFailed, []string{"COGMAIL_SENDGRID_API_KEY: and COGMAIL_SENDGRID_API_KEY_SECRET are both set"}, nil},
		{"providers and the live parameter listed", with(dispatchEnv, "COGMAIL_SENDGRID_API_KEY", sendgridKey, "COGMAIL_PROVIDERS", "sendgrid=3,ses=1",
			"COGMAIL_PROVIDERS_PARAM", "/cogmail/prod/providers"), []string{"--function", "dispatch"}, exitOK,
			[]string{"routing (COGMAIL_PROVIDERS): weighted: sendgrid=3 (75%), ses=1 (25%)", "providers with settings: sendgrid, ses",
				"live routing: SSM parameter /cogmail/prod/providers (read with --ping)"}, nil},
		{"an alias ARN", with(ingestEnv, "COGMAIL_KMS_KEY_ARN", "arn:aws:kms:us-east-1:111122223333:alias/cogmail"), []string{"--function", "ingest"}, exitFailed,
			[]string{"COGMAIL_KMS_KEY_ARN: is an alias ARN", "KeyMetadata.Arn"}, nil},
		{"a malformed key ARN", with(ingestEnv, "COGMAIL_KMS_KEY_ARN", "arn:aws:kms:us-east-1:1111:key/abc"), []string{"--function", "ingest"}, exitFailed,
			[]string{"COGMAIL_KMS_KEY_ARN: is not a KMS key ARN"}, nil},
		{"not an ARN", with(ingestEnv, "COGMAIL_KMS_KEY_ARN", "alias/cogmail"), []string{"--function", "ingest"}, exitFailed,
			[]string{"COGMAIL_KMS_KEY_ARN: must be a key ARN", "ingest: 1 problem\n"}, nil},
		{"a multi-Region key", with(ingestEnv, "COGMAIL_KMS_KEY_ARN", "arn:aws:kms:eu-west-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab"),
			[]string{"--function", "ingest"}, exitOK, []string{"ingest: ok"}, nil},
		{"raw AES keyring", with(ingestEnv, "COGMAIL_KEYRING", "raw-aes", "COGMAIL_AES_KEY_HEX", strings.Repeat("ab", 32), "COGMAIL_AES_KEY_NAMESPACE", "ns",
			"COGMAIL_AES_KEY_NAME", "k", "COGMAIL_SEAL_KEY_ID", testKeyARN, "COGMAIL_KMS_KEY_ARN", ""), []string{"--function", "ingest"}, exitOK,
			[]string{"keyring: raw-aes, key ns/k"}, nil},
		{"a bad AES key", with(ingestEnv, "COGMAIL_KEYRING", "raw-aes", "COGMAIL_AES_KEY_HEX", "0123456789abcdef", "COGMAIL_AES_KEY_NAMESPACE", "ns"),
			[]string{"--function", "ingest"}, exitFailed,
			[]string{"COGMAIL_AES_KEY_HEX: must be 64 hex characters", "COGMAIL_AES_KEY_NAME: is required with COGMAIL_KEYRING=raw-aes"}, nil},
		{"a broken template override", with(ingestEnv, "COGMAIL_TEMPLATE_DIR", broken), []string{"--function", "ingest"}, exitFailed,
			[]string{"templates: ", "SignUp.html"}, nil},
		{"a good template override", with(ingestEnv, "COGMAIL_TEMPLATE_DIR", good), []string{"--function", "ingest"}, exitOK,
			[]string{"templates from " + good + " over the embedded ones: every trigger and locale renders"}, nil},
		{"a missing template directory", with(ingestEnv, "COGMAIL_TEMPLATE_DIR", filepath.Join(overrides, "nope")), []string{"--function", "ingest"}, exitFailed,
			[]string{"templates: "}, nil},
		{"bad ingest URLs", with(ingestEnv, "COGMAIL_SUPPORT_URL", "javascript:alert(1)", "COGMAIL_QUEUE_URL", "sqs/queue"), []string{"--function", "ingest"}, exitFailed,
			[]string{"ingest: 2 problems\n", "COGMAIL_SUPPORT_URL: is not an http(s) URL", "COGMAIL_QUEUE_URL: is not an http(s) URL"}, []string{"✗ templates: "}},
		{"an unknown default locale", with(ingestEnv, "COGMAIL_DEFAULT_LOCALE", "tlh"), []string{"--function", "ingest"}, exitFailed,
			[]string{`COGMAIL_DEFAULT_LOCALE: "tlh" is not one of the templates' locales (de, en, es, fr, pt)`}, nil},
		{"a regional default locale", with(ingestEnv, "COGMAIL_DEFAULT_LOCALE", "es_MX"), []string{"--function", "ingest"}, exitOK, []string{"ingest: ok"}, nil},
		{"--ping without providers", with(dispatchEnv, "COGMAIL_PROVIDERS", ""), []string{"--function", "dispatch", "--ping"}, exitFailed,
			[]string{"COGMAIL_PROVIDERS: is required", "pings: no provider to try"}, nil},
		{"--ping with ingest alone", ingestEnv, []string{"--function", "ingest", "--ping"}, exitOK, []string{"--ping tries dispatch's providers"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := runCmdGetenv(t, tt.env, "", append([]string{"config", "check"}, tt.args...)...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, out, errOut)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(out, w) {
					t.Errorf("stdout has %q:\n%s", w, out)
				}
			}
			noSecrets(t, tt.env, out, errOut)
		})
	}
}

func TestConfigCheckUsage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"help", []string{"config", "--help"}, exitOK, "Exit status: 0"},
		{"check help", []string{"config", "check", "--help"}, exitOK, "sandbox_mode"},
		{"no subcommand", []string{"config"}, exitUsage, "usage: cogmail config check"},
		{"unknown subcommand", []string{"config", "show"}, exitUsage, `unknown subcommand "show"`},
		{"bad function", []string{"config", "check", "--function", "both-of-them"}, exitUsage, `--function "both-of-them"`},
		{"an argument", []string{"config", "check", "dispatch"}, exitUsage, `unexpected argument "dispatch"`},
		{"bad --ping-to", []string{"config", "check", "--ping-to", "Ops <ops@example.com>"}, exitUsage, "--ping-to"},
		{"bad flag", []string{"config", "check", "--pong"}, exitUsage, "-pong"},
		{"listed in cogmail help", []string{"help"}, exitOK, "config       check the configuration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := runCmd(t, tt.args...)
			if code != tt.code || !strings.Contains(out+errOut, tt.want) {
				t.Errorf("exit %d (want %d), output lacks %q:\n%s%s", code, tt.code, tt.want, out, errOut)
			}
		})
	}
}

func TestConfigCheckJSON(t *testing.T) {
	t.Parallel()
	env := with(bothEnv, "COGMAIL_QUEUE_URL", "", "COGMAIL_CONCURRENCY", "0")
	code, out, errOut := runCmdGetenv(t, env, "", "config", "check", "--json")
	if code != exitFailed {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	var r checkReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	vars := map[string][]string{}
	for _, f := range r.Functions {
		for _, p := range f.Problems {
			vars[f.Function] = append(vars[f.Function], p.Variable)
		}
	}
	if r.OK || len(r.Functions) != 2 || fmt.Sprint(vars["ingest"]) != "[COGMAIL_QUEUE_URL]" || fmt.Sprint(vars["dispatch"]) != "[COGMAIL_CONCURRENCY]" {
		t.Errorf("report = %+v", r)
	}
}

// sesAccountFake answers the SES v2 GetAccount and GetEmailIdentity calls
// as SES does (REST-JSON; errors in x-amzn-ErrorType).
func sesAccountFake(t *testing.T, sending, production bool, verified ...string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/v2/email/account":
			_ = json.NewEncoder(w).Encode(map[string]any{"SendingEnabled": sending, "ProductionAccessEnabled": production,
				"SendQuota": map[string]any{"Max24HourSend": 200, "MaxSendRate": 1, "SentLast24Hours": 0}})
		case strings.HasPrefix(r.URL.Path, "/v2/email/identities/"):
			id := strings.TrimPrefix(r.URL.Path, "/v2/email/identities/")
			for _, v := range verified {
				if v == id {
					_ = json.NewEncoder(w).Encode(map[string]any{"IdentityType": "DOMAIN", "VerifiedForSendingStatus": true, "VerificationStatus": "SUCCESS"})
					return
				}
			}
			w.Header().Set("X-Amzn-Errortype", "NotFoundException")
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"message":"Email identity does not exist."}`))
		default:
			w.Header().Set("X-Amzn-Errortype", "UnknownOperationException")
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{}`))
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// fakes are the providers a ping case talks to.
type fakes struct {
	sendgrid *sendgridfake.Server
	mailgun  *mailgunfake.Server
	smtp     *smtpfake.Server
}

var awsTestEnv = map[string]string{"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "AKIDTEST", "AWS_SECRET_ACCESS_KEY": "aws-secret-0123456789"}

func TestConfigCheckPing(t *testing.T) {
	t.Parallel()
	sendgridEnv := func(f *fakes) map[string]string {
		return with(dispatchEnv, "COGMAIL_PROVIDERS", "sendgrid", "COGMAIL_SENDGRID_API_KEY", sendgridKey, "COGMAIL_SENDGRID_BASE_URL", f.sendgrid.URL())
	}
	mailgunEnv := func(f *fakes) map[string]string {
		return with(dispatchEnv, "COGMAIL_PROVIDERS", "mailgun", "COGMAIL_MAILGUN_API_KEY", mailgunKey,
			"COGMAIL_MAILGUN_DOMAIN", "mg.example.com", "COGMAIL_MAILGUN_BASE_URL", f.mailgun.URL())
	}
	smtpEnv := func(f *fakes) map[string]string {
		return with(dispatchEnv, "COGMAIL_PROVIDERS", "smtp", "COGMAIL_SMTP_HOST", f.smtp.Host(), "COGMAIL_SMTP_PORT", strconv.Itoa(f.smtp.Port()),
			"COGMAIL_SMTP_TLS", "none", "COGMAIL_SMTP_USERNAME", smtpUser, "COGMAIL_SMTP_PASSWORD", smtpPassword)
	}
	sesEnv := func(url string) map[string]string {
		e := with(dispatchEnv, "AWS_ENDPOINT_URL_SESV2", url)
		maps.Copy(e, awsTestEnv)
		return e
	}
	tests := []struct {
		name  string
		smtp  smtpfake.Options
		env   func(*fakes) map[string]string
		fault func(*fakes)
		code  int
		want  []string
	}{
		{name: "sendgrid: the key works", env: sendgridEnv, code: exitOK,
			want: []string{"pings (sandbox and test-mode requests; nothing is delivered):", "ok       sendgrid the API key works (mail.send scope): sandbox request accepted, nothing was sent", "config check: ok"}},
		{name: "sendgrid: 401 bad key", env: func(f *fakes) map[string]string {
			return with(sendgridEnv(f), "COGMAIL_SENDGRID_API_KEY", "SG.wrong-key-0123456789")
		}, code: exitFailed,
			want: []string{"FAILED   sendgrid the API key is rejected (401 Unauthorized", "→ check COGMAIL_SENDGRID_API_KEY", "config check: 1 problem\n"}},
		{name: "sendgrid: 5xx", env: sendgridEnv, fault: func(f *fakes) { f.sendgrid.SetFault(sendgridfake.Fault{Status: 503}) }, code: exitFailed,
			want: []string{"FAILED   sendgrid the provider is failing (503 Service Unavailable"}},
		{name: "sendgrid: unreachable", env: func(f *fakes) map[string]string {
			f.sendgrid.Close()
			return sendgridEnv(f)
		}, code: exitFailed, want: []string{"cannot reach http://127.0.0.1:", "connection refused", "→ check COGMAIL_SENDGRID_BASE_URL"}},
		{name: "sendgrid: no sender to try with", env: func(f *fakes) map[string]string {
			return with(sendgridEnv(f), "COGMAIL_SENDER_EMAIL", "")
		}, code: exitFailed, want: []string{"COGMAIL_SENDER_EMAIL: is required", "skipped  sendgrid skipped: the sandbox request needs a valid COGMAIL_SENDER_EMAIL"}},
		{name: "mailgun: the key works", env: mailgunEnv, code: exitOK,
			want: []string{"ok       mailgun  the API key and the domain mg.example.com work: test-mode message accepted"}},
		{name: "mailgun: 401 bad key", env: func(f *fakes) map[string]string {
			return with(mailgunEnv(f), "COGMAIL_MAILGUN_API_KEY", "key-wrong-0123456789")
		}, code: exitFailed, want: []string{"FAILED   mailgun  the API key is rejected (401", "→ check COGMAIL_MAILGUN_API_KEY"}},
		{name: "mailgun: unknown domain", env: func(f *fakes) map[string]string {
			return with(mailgunEnv(f), "COGMAIL_MAILGUN_DOMAIN", "mg.example.org")
		}, code: exitFailed, want: []string{"the domain mg.example.org is not in this Mailgun account", "→ check COGMAIL_MAILGUN_DOMAIN and COGMAIL_MAILGUN_REGION"}},
		{name: "mailgun: 5xx", env: mailgunEnv, fault: func(f *fakes) { f.mailgun.SetFault(mailgunfake.Fault{Status: 502}) }, code: exitFailed,
			want: []string{"FAILED   mailgun  the provider is failing (502"}},
		{name: "smtp: AUTH works", smtp: smtpfake.Options{Username: smtpUser, Password: smtpPassword}, env: smtpEnv, code: exitOK,
			want: []string{"ok       smtp     connected to 127.0.0.1:", "no TLS (policy none), AUTH accepted; quit without sending"}},
		{name: "smtp: AUTH failure", smtp: smtpfake.Options{Username: smtpUser, Password: "another-password"}, env: smtpEnv, code: exitFailed,
			want: []string{"FAILED   smtp     the relay rejected the username or password (535", "→ check COGMAIL_SMTP_USERNAME and COGMAIL_SMTP_PASSWORD"}},
		{name: "smtp: a relay that quotes the password back", smtp: smtpfake.Options{Username: smtpUser, Password: smtpPassword}, env: smtpEnv,
			fault: func(f *fakes) {
				f.smtp.SetFault(smtpfake.Fault{Stage: smtpfake.Auth, Code: 535, Enhanced: "5.7.8", Message: "bad credentials " + smtpUser + ":" + smtpPassword})
			}, code: exitFailed,
			want: []string{"FAILED   smtp     the relay rejected the username or password (535 5.7.8 bad credentials " + smtpUser + ":REDACTED)"}},
		{name: "smtp: STARTTLS with an untrusted certificate", smtp: smtpfake.Options{TLS: smtpfake.StartTLS}, env: func(f *fakes) map[string]string {
			return with(smtpEnv(f), "COGMAIL_SMTP_TLS", "starttls", "COGMAIL_SMTP_USERNAME", "", "COGMAIL_SMTP_PASSWORD", "")
		}, code: exitFailed, want: []string{"certificate is not trusted", "→ check COGMAIL_SMTP_TLS and COGMAIL_SMTP_PORT"}},
		{name: "smtp: STARTTLS required, not offered", env: func(f *fakes) map[string]string {
			return with(smtpEnv(f), "COGMAIL_SMTP_TLS", "", "COGMAIL_SMTP_USERNAME", "", "COGMAIL_SMTP_PASSWORD", "")
		}, code: exitFailed, want: []string{"does not offer STARTTLS, which the TLS policy requires"}},
		{name: "ses: production access", env: func(*fakes) map[string]string { return sesEnv(sesAccountFake(t, true, true, "example.com")) }, code: exitOK,
			want: []string{"ok       ses      sending enabled in eu-west-1 with production access", "sender identity example.com verified"}},
		{name: "ses: the sandbox is a warning", env: func(*fakes) map[string]string { return sesEnv(sesAccountFake(t, true, false, testSender)) }, code: exitOK,
			want: []string{"warning  ses      sending enabled in eu-west-1 (quota 200 per 24 h", "SES sandbox", "config check: ok"}},
		{name: "ses: sending disabled, sender unverified", env: func(*fakes) map[string]string { return sesEnv(sesAccountFake(t, false, true)) }, code: exitFailed,
			want: []string{"FAILED   ses      sending is disabled for this account in eu-west-1", "the sender no-reply@example.com is not a verified identity"}},
		{name: "every provider at once", smtp: smtpfake.Options{Username: smtpUser, Password: smtpPassword}, env: func(f *fakes) map[string]string {
			e := with(smtpEnv(f), "COGMAIL_PROVIDERS", "sendgrid,mailgun,smtp")
			maps.Copy(e, sendgridEnv(f))
			maps.Copy(e, mailgunEnv(f))
			e["COGMAIL_PROVIDERS"] = "sendgrid,mailgun,smtp"
			return e
		}, code: exitOK, want: []string{"ok       sendgrid", "ok       mailgun", "ok       smtp", "config check: ok"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := &fakes{
				sendgrid: sendgridfake.New(sendgridfake.Options{APIKey: sendgridKey}),
				mailgun:  mailgunfake.New(mailgunfake.Options{APIKey: mailgunKey, Domain: "mg.example.com"}),
				smtp:     smtpfake.New(tt.smtp),
			}
			t.Cleanup(func() { f.sendgrid.Close(); f.mailgun.Close(); f.smtp.Close() })
			env := tt.env(f)
			if tt.fault != nil {
				tt.fault(f)
			}
			code, out, errOut := runCmdGetenv(t, env, "", "config", "check", "--function", "dispatch", "--ping", "--timeout", "5s")
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, out, errOut)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			noSecrets(t, env, out, errOut)
			// Nothing may be delivered: SendGrid in sandbox mode, Mailgun in
			// test mode, and no mail at the relay.
			for _, m := range f.sendgrid.Messages() {
				if !m.Sandbox || m.To != testSender {
					t.Errorf("sendgrid got %+v, want a sandbox request to the sender", m)
				}
			}
			for _, m := range f.mailgun.Messages() {
				if !m.TestMode {
					t.Errorf("mailgun got a message without test mode: %+v", m)
				}
			}
			if n := len(f.smtp.Messages()); n != 0 {
				t.Errorf("the relay got %d messages", n)
			}
		})
	}
}

func TestConfigCheckPingJSON(t *testing.T) {
	t.Parallel()
	sg := sendgridfake.New(sendgridfake.Options{APIKey: sendgridKey})
	t.Cleanup(sg.Close)
	env := with(dispatchEnv, "COGMAIL_PROVIDERS", "sendgrid", "COGMAIL_SENDGRID_API_KEY", "SG.wrong-0123456789", "COGMAIL_SENDGRID_BASE_URL", sg.URL())
	code, out, errOut := runCmdGetenv(t, env, "", "config", "check", "--function", "dispatch", "--ping", "--json", "--ping-to", "ops@example.com")
	if code != exitFailed {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	var r struct {
		OK    bool
		Pings []struct{ Provider, Status, Problem, Message, Hint string }
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if r.OK || len(r.Pings) != 1 {
		t.Fatalf("report = %+v", r)
	}
	p := r.Pings[0]
	if p.Provider != "sendgrid" || p.Status != "failed" || p.Problem != "credentials" || !strings.Contains(p.Hint, "COGMAIL_SENDGRID_API_KEY") {
		t.Errorf("ping = %+v", p)
	}
	if len(sg.Messages()) != 0 {
		t.Errorf("the fake accepted a request with a wrong key")
	}
	noSecrets(t, env, out, errOut)
}

// TestConfigCheckRouting: with --ping the live routing parameter is read
// and checked against the providers the function has, as dispatch does.
func TestConfigCheckRouting(t *testing.T) {
	t.Parallel()
	const param = "/cogmail/prod/providers"
	tests := []struct {
		name  string
		value string // "" for no parameter
		code  int
		want  []string
	}{
		{"valid", `{"providers":["ses"]}`, exitOK, []string{"ok       routing  parameter /cogmail/prod/providers: version 1: failover: ses (what dispatch routes by"}},
		{"missing", "", exitOK, []string{"warning  routing  parameter /cogmail/prod/providers: does not exist: dispatch routes by COGMAIL_PROVIDERS"}},
		{"a provider the function lacks", `{"providers":["mailgun","ses"]}`, exitFailed,
			[]string{"FAILED   routing  parameter /cogmail/prod/providers: version 1 (failover: mailgun, then ses) is ignored by dispatch", `"mailgun" is not configured in this function`}},
		{"not a configuration", `["ses"]`, exitFailed, []string{"is not a valid provider configuration", "→ cogmail providers set LIST --param " + param}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(ssmlocal.New(ssmlocal.Options{}))
			t.Cleanup(srv.Close)
			if tt.value != "" {
				putParam(t, testSSMClient(srv.URL, "eu-west-1"), param, tt.value, ssmtypes.ParameterTypeString)
			}
			env := with(dispatchEnv, "COGMAIL_PROVIDERS_PARAM", param, "AWS_ENDPOINT_URL_SSM", srv.URL,
				"AWS_ENDPOINT_URL_SESV2", sesAccountFake(t, true, true, "example.com"))
			maps.Copy(env, awsTestEnv)
			code, out, errOut := runCmdGetenv(t, env, "", "config", "check", "--function", "dispatch", "--ping")
			if code != tt.code {
				t.Fatalf("exit %d, want %d\n%s%s", code, tt.code, out, errOut)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

// TestConfigCheckSecretsManager: keys kept in Secrets Manager are read
// (from moto) for the ping, and a missing secret is reported by name.
func TestConfigCheckSecretsManager(t *testing.T) {
	url := motoserver.Shared(t)
	sg := sendgridfake.New(sendgridfake.Options{APIKey: sendgridKey})
	t.Cleanup(sg.Close)
	name := fmt.Sprintf("cogmail/test-%d/sendgrid", time.Now().UnixNano())
	sm := secretsmanager.NewFromConfig(motoserver.Config(), func(o *secretsmanager.Options) { o.BaseEndpoint = aws.String(url) })
	if _, err := sm.CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(sendgridKey + "\n")}); err != nil {
		t.Fatal(err)
	}
	base := with(dispatchEnv, "COGMAIL_PROVIDERS", "sendgrid", "COGMAIL_SENDGRID_BASE_URL", sg.URL(), "AWS_ENDPOINT_URL_SECRETS_MANAGER", url,
		"AWS_REGION", motoserver.Region, "AWS_ACCESS_KEY_ID", "testing", "AWS_SECRET_ACCESS_KEY", "testing")
	tests := []struct {
		name   string
		secret string
		code   int
		want   string
	}{
		{"the secret's key works", name, exitOK, "ok       sendgrid the API key works"},
		{"a missing secret", name + "-missing", exitFailed, "FAILED   sendgrid read secret " + name + "-missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCmdGetenv(t, with(base, "COGMAIL_SENDGRID_API_KEY_SECRET", tt.secret), "", "config", "check", "--function", "dispatch", "--ping")
			if code != tt.code || !strings.Contains(out, tt.want) {
				t.Errorf("exit %d (want %d), stdout lacks %q:\n%s%s", code, tt.code, tt.want, out, errOut)
			}
			if strings.Contains(out+errOut, sendgridKey) {
				t.Errorf("the output shows the key from the secret:\n%s%s", out, errOut)
			}
		})
	}
}

// TestConfigCheckRetrySchedule: config check shows each trigger's retry
// schedule from dispatch's settings and ingest's code lives in the same
// environment: a shorter code life, a retry window, the default max age.
func TestConfigCheckRetrySchedule(t *testing.T) {
	t.Parallel()
	env := with(bothEnv, "COGMAIL_EXPIRY", "ForgotPassword=30m", "COGMAIL_RETRY_WINDOW", "AdminCreateUser=2h")
	code, out, errOut := runCmdGetenv(t, env, "", "config", "check")
	if code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	for _, row := range [][]string{
		{"SignUp", "24h", "24h", "up to 584", "expired"},
		{"ForgotPassword", "30m", "30m", "up to 20", "expired"},
		{"AdminCreateUser", "168h", "2h", "up to 56", "max-age"},
		{"Authentication", "3m", "3m", "up to 9", "expired"},
	} {
		if !regexp.MustCompile(`(?m)^\s+` + strings.Join(row, `\s+`) + `$`).MatchString(out) {
			t.Errorf("no schedule row %v in\n%s", row, out)
		}
	}
	code, out, errOut = runCmdGetenv(t, with(env, "COGMAIL_MAX_RECEIVES", "5"), "", "config", "check", "--function", "dispatch")
	if code != exitFailed || !strings.Contains(out, "COGMAIL_MAX_RECEIVES: 5 is under the 585 receives") {
		t.Errorf("a maxReceiveCount under the schedule: exit %d\n%s%s", code, out, errOut)
	}
}
