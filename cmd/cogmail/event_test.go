package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/cogmail/cogmail/internal/local/kmslocal"
	"github.com/cogmail/cogmail/internal/local/localstack"
	"github.com/cogmail/cogmail/pkg/codecrypt"
	"github.com/cogmail/cogmail/pkg/cognito"
)

// runCmdGetenv is runCmd with an environment and stdin: commands read the
// environment only through env.getenv.
func runCmdGetenv(t *testing.T, vars map[string]string, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), &env{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb, getenv: func(k string) string { return vars[k] }}, args)
	return code, out.String(), errb.String()
}

var testAESKey = bytes.Repeat([]byte{0x42}, 32)

func TestEventEncryptsAsCognito(t *testing.T) {
	kmsSrv, err := kmslocal.Start(kmslocal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = kmsSrv.Close() })
	kmsEnv := map[string]string{
		"AWS_ENDPOINT_URL_KMS": kmsSrv.URL, "AWS_REGION": "eu-west-3", // the ARN's region must win
		"AWS_ACCESS_KEY_ID": "AKIDTEST", "AWS_SECRET_ACCESS_KEY": "secret",
	}
	ctx := context.Background()
	kmsDec, err := codecrypt.NewKMS(ctx, kmsSrv.Client(), kmsSrv.KeyARN())
	if err != nil {
		t.Fatal(err)
	}
	aesKey := codecrypt.RawAESKey{Namespace: "ns", Name: "k", Key: testAESKey}
	aesDec, err := codecrypt.NewRawAES(ctx, aesKey)
	if err != nil {
		t.Fatal(err)
	}
	aesFlags := []string{"--aes-key-hex", hex.EncodeToString(testAESKey), "--aes-key-namespace", "ns", "--aes-key-name", "k"}
	outFile := filepath.Join(t.TempDir(), "event.json")

	cases := []struct {
		name     string
		vars     map[string]string
		args     []string
		dec      *codecrypt.Decrypter
		out      string         // --out file, "" for stdout
		wantCode *regexp.Regexp // the decrypted code; nil for no code
		check    func(t *testing.T, ev *cognito.Event)
	}{
		{"kms", kmsEnv, []string{"--trigger", "SignUp", "--email", "ana@example.com", "--locale", "es", "--pool", "us-east-1_Test", "--code", "654321", "--kms-key-arn", kmsSrv.KeyARN()},
			kmsDec, "", regexp.MustCompile(`^654321$`), func(t *testing.T, ev *cognito.Event) {
				if ev.Attr("locale") != "es" || ev.UserName != "ana" || ev.Region != "us-east-1" {
					t.Errorf("locale %q user %q region %q", ev.Attr("locale"), ev.UserName, ev.Region)
				}
			}},
		{"kms alias", kmsEnv, []string{"--trigger", "ForgotPassword", "--email", "b@example.com", "--pool", "us-east-1_Test", "--kms-key-arn", kmslocal.DefaultAlias},
			kmsDec, "", regexp.MustCompile(`^[0-9]{6}$`), func(t *testing.T, ev *cognito.Event) {
				if ev.CallerContext.ClientID != localstack.SampleClientID {
					t.Errorf("client id %q, want the default %q", ev.CallerContext.ClientID, localstack.SampleClientID)
				}
			}},
		{"client id", kmsEnv, []string{"--trigger", "SignUp", "--email", "b@example.com", "--pool", "us-east-1_Test", "--kms-key-arn", kmslocal.DefaultAlias, "--client-id", "7example0admin0console0id"},
			kmsDec, "", regexp.MustCompile(`^[0-9]{6}$`), func(t *testing.T, ev *cognito.Event) {
				if ev.CallerContext.ClientID != "7example0admin0console0id" {
					t.Errorf("client id %q", ev.CallerContext.ClientID)
				}
			}},
		{"raw aes, random code, to a file", nil, append([]string{"--trigger", "CustomEmailSender_Authentication", "--email", "c@example.com", "--pool", "eu-west-1_Abc", "--username", "u-1", "--out", outFile}, aesFlags...),
			aesDec, outFile, regexp.MustCompile(`^[0-9]{6}$`), func(t *testing.T, ev *cognito.Event) {
				if ev.Region != "eu-west-1" || ev.UserName != "u-1" || ev.TriggerSource != cognito.Authentication {
					t.Errorf("region %q user %q trigger %q", ev.Region, ev.UserName, ev.TriggerSource)
				}
			}},
		{"temporary password escaped as Cognito does", nil, append([]string{"--trigger", "AdminCreateUser", "--email", "d@example.com", "--pool", "us-east-1_Test", "--code", "Tmp<1>&"}, aesFlags...),
			aesDec, "", regexp.MustCompile(`^Tmp&lt;1&gt;&amp;$`), nil},
		{"sms by its full trigger name", nil, append([]string{"--trigger", "CustomSMSSender_SignUp", "--phone", "+14155552671", "--pool", "us-east-1_Test"}, aesFlags...),
			aesDec, "", regexp.MustCompile(`^[0-9]{6}$`), func(t *testing.T, ev *cognito.Event) {
				if ev.TriggerSource != cognito.SMSSignUp || ev.Request.Type != "customSMSSenderRequestV1" || ev.Attr("phone_number") != "+14155552671" ||
					ev.Attr("email") != "" || ev.UserName != "user2671" {
					t.Errorf("trigger %q type %q phone %q email %q user %q", ev.TriggerSource, ev.Request.Type, ev.Attr("phone_number"), ev.Attr("email"), ev.UserName)
				}
			}},
		{"sms by --channel, number normalised", nil, append([]string{"--trigger", "Authentication", "--channel", "sms", "--phone", "+44 20 7123 4567", "--email", "f@example.com"}, aesFlags...),
			aesDec, "", regexp.MustCompile(`^[0-9]{6}$`), func(t *testing.T, ev *cognito.Event) {
				if ev.TriggerSource != cognito.SMSAuthentication || ev.Attr("phone_number") != "+442071234567" || ev.Attr("email") != "f@example.com" {
					t.Errorf("trigger %q phone %q email %q", ev.TriggerSource, ev.Attr("phone_number"), ev.Attr("email"))
				}
			}},
		{"sms temporary password escaped", nil, append([]string{"--trigger", "AdminCreateUser", "--phone", "+14155552671", "--code", "Tmp<1>"}, aesFlags...),
			aesDec, "", regexp.MustCompile(`^Tmp&lt;1&gt;$`), nil},
		{"account takeover: no code, sign-in details", nil, append([]string{"--trigger", "AccountTakeOverNotification", "--email", "e@example.com"}, aesFlags...),
			nil, "", nil, func(t *testing.T, ev *cognito.Event) {
				if ev.Ciphertext() != "" || ev.Attr(cognito.AttrCity) == "" || ev.Attr(cognito.AttrEventResponse) == "" {
					t.Errorf("code %q, city %q, response %q", ev.Ciphertext(), ev.Attr(cognito.AttrCity), ev.Attr(cognito.AttrEventResponse))
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCmdGetenv(t, tc.vars, "", append([]string{"event"}, tc.args...)...)
			if code != exitOK {
				t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
			}
			raw := []byte(stdout)
			if tc.out != "" {
				var err error
				if raw, err = os.ReadFile(tc.out); err != nil || stdout != "" {
					t.Fatalf("--out: %v; stdout %q", err, stdout)
				}
			}
			ev, err := cognito.Parse(raw)
			if err != nil {
				t.Fatalf("the event does not parse: %v\n%s", err, raw)
			}
			if tc.wantCode != nil {
				got, err := tc.dec.Decrypt(ctx, ev.Ciphertext(), ev.UserPoolID)
				if err != nil {
					t.Fatalf("decrypt: %v", err)
				}
				if !tc.wantCode.MatchString(got.Reveal()) {
					t.Errorf("decrypted %q, want %v", got.Reveal(), tc.wantCode)
				}
				if !strings.Contains(stderr, "code ") {
					t.Errorf("stderr does not show the code for the tester: %q", stderr)
				}
			}
			if tc.check != nil {
				tc.check(t, ev)
			}
			if n := ev.Attr("phone_number"); n != "" && strings.Contains(stderr, n) {
				t.Errorf("stderr shows the whole number beside the code: %q", stderr)
			}
		})
	}
}

func TestEventErrors(t *testing.T) {
	aes := []string{"--aes-key-hex", hex.EncodeToString(testAESKey), "--aes-key-namespace", "ns", "--aes-key-name", "k"}
	signUp := []string{"event", "--trigger", "SignUp", "--email", "a@b.c"}
	cases := []struct {
		name string
		vars map[string]string
		args []string
		code int
		want string
	}{
		{"help", nil, []string{"event", "--help"}, exitOK, "Examples:"},
		{"no flags", nil, []string{"event"}, exitUsage, "--trigger and --email are required"},
		{"unknown trigger", nil, []string{"event", "--trigger", "CustomMessage_SignUp", "--email", "a@b.c"}, exitUsage, "not a Custom Email Sender trigger"},
		{"bad email", nil, []string{"event", "--trigger", "SignUp", "--email", "nope"}, exitUsage, "not an email address"},
		{"bad pool", nil, append(append([]string{}, signUp...), append(aes, "--pool", "nopool")...), exitUsage, "not a user pool id"},
		{"no key", nil, signUp, exitUsage, "needs a key"},
		{"both keys", nil, append(append([]string{}, signUp...), append(aes, "--kms-key-arn", "alias/x")...), exitUsage, "exclude each other"},
		{"short aes key", nil, append(append([]string{}, signUp...), "--aes-key-hex", "abcd", "--aes-key-namespace", "ns", "--aes-key-name", "k"), exitUsage, "64 hex characters"},
		{"code for account takeover", nil, []string{"event", "--trigger", "AccountTakeOverNotification", "--email", "a@b.c", "--code", "1"}, exitUsage, "carries no code"},
		{"stray argument", nil, []string{"event", "extra"}, exitUsage, "unexpected argument"},
		{"sms without --phone", nil, append([]string{"event", "--trigger", "CustomSMSSender_SignUp"}, aes...), exitUsage, "an SMS event needs --phone"},
		{"invalid phone", nil, append([]string{"event", "--trigger", "SignUp", "--phone", "+4420"}, aes...), exitUsage, "not a valid number"},
		{"national phone", nil, append([]string{"event", "--trigger", "SignUp", "--channel", "sms", "--phone", "02071234567"}, aes...), exitUsage, "not in international form"},
		{"no sms account takeover", nil, append([]string{"event", "--trigger", "AccountTakeOverNotification", "--channel", "sms", "--phone", "+14155552671"}, aes...), exitUsage, "Cognito sends no AccountTakeOverNotification by sms"},
		{"channel and trigger disagree", nil, append([]string{"event", "--trigger", "CustomSMSSender_SignUp", "--channel", "email", "--email", "a@b.c"}, aes...), exitUsage, "is not of --channel email"},
		{"bad channel", nil, append([]string{"event", "--trigger", "SignUp", "--channel", "fax", "--email", "a@b.c"}, aes...), exitUsage, `--channel "fax" is not email or sms`},
		{"unwritable --out", nil, append(append([]string{}, signUp...), append(aes, "--out", filepath.Join(t.TempDir(), "missing", "ev.json"))...), exitFailed, "--out"},
		{"kms unreachable", map[string]string{"AWS_ENDPOINT_URL_KMS": "http://127.0.0.1:1", "AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"},
			append(append([]string{}, signUp...), "--kms-key-arn", "arn:aws:kms:us-east-1:111122223333:key/00000000-0000-0000-0000-000000000000"), exitFailed, "KMS"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCmdGetenv(t, tc.vars, "", tc.args...)
			if code != tc.code || !strings.Contains(stdout+stderr, tc.want) {
				t.Errorf("exit %d (want %d); output lacks %q:\n%s%s", code, tc.code, tc.want, stdout, stderr)
			}
		})
	}
}
