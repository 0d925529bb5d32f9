package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/cogmail/cogmail/internal/local/ssmlocal"
	"github.com/cogmail/cogmail/internal/testkit/motoserver"
	"github.com/cogmail/cogmail/pkg/awsclient"
	"github.com/cogmail/cogmail/pkg/routing"
	"github.com/cogmail/cogmail/pkg/routing/ssmparam"
)

// ssmEnv is the environment that points the command at an SSM endpoint.
func ssmEnv(url, region string) map[string]string {
	return map[string]string{
		"AWS_ENDPOINT_URL_SSM": url, "AWS_REGION": region,
		"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
	}
}

func testSSMClient(url, region string) *ssm.Client {
	cfg := awsclient.Config(region, credentials.NewStaticCredentialsProvider("testing", "testing", ""))
	return ssm.NewFromConfig(cfg, func(o *ssm.Options) { o.BaseEndpoint = aws.String(url) })
}

// storedParam returns a parameter's value, type and version ("" when it
// does not exist).
func storedParam(t *testing.T, c *ssm.Client, name string) (string, ssmtypes.ParameterType, int64) {
	t.Helper()
	out, err := c.GetParameter(context.Background(), &ssm.GetParameterInput{Name: aws.String(name), WithDecryption: aws.Bool(true)})
	if err != nil {
		var nf *ssmtypes.ParameterNotFound
		if errors.As(err, &nf) {
			return "", "", 0
		}
		t.Fatalf("GetParameter %s: %v", name, err)
	}
	return aws.ToString(out.Parameter.Value), out.Parameter.Type, out.Parameter.Version
}

func putParam(t *testing.T, c *ssm.Client, name, value string, typ ssmtypes.ParameterType) {
	t.Helper()
	_, err := c.PutParameter(context.Background(), &ssm.PutParameterInput{Name: aws.String(name), Value: aws.String(value), Type: typ, Overwrite: aws.Bool(true)})
	if err != nil {
		t.Fatalf("PutParameter %s: %v", name, err)
	}
}

func TestProvidersAgainstSSMLocal(t *testing.T) {
	t.Parallel()
	const (
		def      = "/cogmail/providers"
		failover = `{"providers":["ses","sendgrid"],"strategy":"failover"}`
		weighted = `{"providers":["sendgrid","mailgun"],"strategy":"weighted","weights":{"mailgun":1,"sendgrid":3}}`
	)
	tests := []struct {
		name       string
		initial    string            // the parameter's value before; "" for none
		secure     bool              // store the initial value as a SecureString
		env        map[string]string // added to the SSM environment
		args       []string
		code       int
		stdout     []string
		stderr     []string
		stored     string                 // the value after; "" for none
		storedType ssmtypes.ParameterType // checked when set
		version    int64                  // the version after, when set
	}{
		{name: "set creates the parameter", args: []string{"providers", "set", "ses,sendgrid"}, code: exitOK,
			stdout: []string{def, "before: (none: dispatch routes by its COGMAIL_PROVIDERS)", "after:  failover: ses, then sendgrid (version 1)", "Dispatch picks this up within 60 s"},
			stored: failover, storedType: ssmtypes.ParameterTypeString, version: 1},
		{name: "set weights over a failover list", initial: `{"providers":["ses"]}`, args: []string{"providers", "set", "sendgrid=3,mailgun=1"}, code: exitOK,
			stdout: []string{"before: failover: ses (version 1)", "after:  weighted: sendgrid=3 (75%), mailgun=1 (25%) (version 2)"},
			stored: weighted, version: 2},
		{name: "flags after LIST", args: []string{"providers", "set", "ses,smtp", "--strategy", "weighted"}, code: exitOK,
			stdout: []string{"after:  weighted: ses=1 (50%), smtp=1 (50%)"},
			stored: `{"providers":["ses","smtp"],"strategy":"weighted","weights":{"ses":1,"smtp":1}}`},
		{name: "a standby", args: []string{"providers", "set", "sendgrid=1,ses=0"}, code: exitOK,
			stdout: []string{"weighted: sendgrid=1 (100%), ses=0 (standby)"},
			stored: `{"providers":["sendgrid","ses"],"strategy":"weighted","weights":{"sendgrid":1,"ses":0}}`},
		{name: "an existing SecureString keeps its type", initial: failover, secure: true, args: []string{"providers", "set", "sendgrid"}, code: exitOK,
			stored: `{"providers":["sendgrid"],"strategy":"failover"}`, storedType: ssmtypes.ParameterTypeSecureString, version: 2},
		{name: "unknown provider", args: []string{"providers", "set", "ses,postmark"}, code: exitUsage,
			stderr: []string{`"postmark" is not a provider (want sendgrid, mailgun, ses, smtp)`}},
		{name: "weights with failover", initial: failover, args: []string{"providers", "set", "sendgrid=3,ses=1", "--strategy", "failover"}, code: exitUsage,
			stderr: []string{"weights are only used with the weighted strategy"}, stored: failover, version: 1},
		{name: "a provider twice", args: []string{"providers", "set", "ses,ses"}, code: exitUsage, stderr: []string{`"ses" is listed twice`}},
		{name: "every weight 0", args: []string{"providers", "set", "ses=0,smtp=0"}, code: exitUsage, stderr: []string{"every weight is 0"}},
		{name: "bad strategy", args: []string{"providers", "set", "ses", "--strategy", "random"}, code: exitUsage, stderr: []string{`--strategy "random"`}},
		{name: "no LIST", args: []string{"providers", "set"}, code: exitUsage, stderr: []string{"LIST is required"}},
		{name: "two LISTs", args: []string{"providers", "set", "ses,", "sendgrid"}, code: exitUsage, stderr: []string{"one LIST, without spaces"}},
		{name: "dry run", initial: failover, args: []string{"providers", "set", "--dry-run", "mailgun"}, code: exitOK,
			stdout: []string{"before: failover: ses, then sendgrid (version 1)", "after:  failover: mailgun", "Dry run: nothing was written."},
			stored: failover, version: 1},
		{name: "unchanged", initial: failover, args: []string{"providers", "set", "SES, SendGrid"}, code: exitOK,
			stdout: []string{"unchanged; nothing written"}, stored: failover, version: 1},
		{name: "set replaces an invalid parameter", initial: `{"order":["ses"]}`, args: []string{"providers", "set", "ses"}, code: exitOK,
			stdout: []string{`before: invalid, version 1: "{\"order\":[\"ses\"]}"`, "after:  failover: ses (version 2)"},
			stored: `{"providers":["ses"],"strategy":"failover"}`},
		{name: "show", initial: weighted, args: []string{"providers", "show"}, code: exitOK,
			stdout: []string{def + " (version 1, modified ", "weighted: sendgrid=3 (75%), mailgun=1 (25%)"}, stored: weighted},
		{name: "show a missing parameter", args: []string{"providers", "show"}, code: exitFailed,
			stderr: []string{"parameter /cogmail/providers does not exist: dispatch routes by its COGMAIL_PROVIDERS", "cogmail providers set LIST"}},
		{name: "show an invalid parameter", initial: "ses,sendgrid", args: []string{"providers", "show"}, code: exitFailed,
			stdout: []string{`"ses,sendgrid"`}, stderr: []string{"is not a valid provider configuration", "Dispatch ignores it"}, stored: "ses,sendgrid"},
		{name: "COGMAIL_PROVIDERS_PARAM names the parameter", env: map[string]string{"COGMAIL_PROVIDERS_PARAM": "/cogmail/prod/providers"},
			args: []string{"providers", "set", "smtp"}, code: exitOK, stdout: []string{"/cogmail/prod/providers\n"}},
		{name: "--param wins", env: map[string]string{"COGMAIL_PROVIDERS_PARAM": "/cogmail/prod/providers"},
			args: []string{"providers", "set", "smtp", "--param", def}, code: exitOK, stdout: []string{def + "\n"},
			stored: `{"providers":["smtp"],"strategy":"failover"}`},
		{name: "set by ARN", args: []string{"providers", "set", "ses", "--param", "arn:aws:ssm:us-east-1:000000000000:parameter/cogmail/providers"}, code: exitOK,
			stdout: []string{def + "\n", "after:  failover: ses (version 1)"}, stored: `{"providers":["ses"],"strategy":"failover"}`},
		{name: "unknown subcommand", args: []string{"providers", "list"}, code: exitUsage, stderr: []string{`unknown subcommand "list"`}},
		{name: "show takes no argument", args: []string{"providers", "show", "ses"}, code: exitUsage, stderr: []string{`unexpected argument "ses"`}},
		{name: "help", args: []string{"providers", "--help"}, code: exitOK, stdout: []string{"Examples:", "Exit status: 0"}},
		{name: "set help", args: []string{"providers", "set", "--help"}, code: exitOK, stdout: []string{"-dry-run", "sendgrid=3,mailgun=1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(ssmlocal.New(ssmlocal.Options{}))
			t.Cleanup(srv.Close)
			client := testSSMClient(srv.URL, "us-east-1")
			if tt.initial != "" {
				typ := ssmtypes.ParameterTypeString
				if tt.secure {
					typ = ssmtypes.ParameterTypeSecureString
				}
				putParam(t, client, def, tt.initial, typ)
			}
			env := ssmEnv(srv.URL, "us-east-1")
			maps.Copy(env, tt.env)
			code, out, errOut := runCmdGetenv(t, env, "", tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, out, errOut)
			}
			for _, w := range tt.stdout {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tt.stderr {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut)
				}
			}
			value, typ, version := storedParam(t, client, def)
			if value != tt.stored {
				t.Errorf("parameter holds %q, want %q", value, tt.stored)
			}
			if tt.storedType != "" && typ != tt.storedType {
				t.Errorf("parameter type %s, want %s", typ, tt.storedType)
			}
			if tt.version != 0 && version != tt.version {
				t.Errorf("parameter version %d, want %d", version, tt.version)
			}
		})
	}
}

func TestProvidersJSON(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(ssmlocal.New(ssmlocal.Options{}))
	t.Cleanup(srv.Close)
	env := ssmEnv(srv.URL, "us-east-1")

	var set struct {
		Parameter string
		Before    struct{ Exists bool }
		After     routing.Config
		Version   int64
		Changed   bool
		DryRun    bool
	}
	var show routingParam
	steps := []struct {
		name string
		args []string
		code int
		into any
	}{
		{"set", []string{"providers", "set", "sendgrid=3,mailgun=1", "--json"}, exitOK, &set},
		{"show", []string{"providers", "show", "--json"}, exitOK, &show},
	}
	for _, s := range steps {
		code, out, errOut := runCmdGetenv(t, env, "", s.args...)
		if code != s.code {
			t.Fatalf("%s: exit %d\n%s%s", s.name, code, out, errOut)
		}
		if err := json.Unmarshal([]byte(out), s.into); err != nil {
			t.Fatalf("%s: not JSON: %v\n%s", s.name, err, out)
		}
	}
	want := routing.Config{Providers: []string{"sendgrid", "mailgun"}, Strategy: routing.Weighted, Weights: map[string]int{"sendgrid": 3, "mailgun": 1}}
	if set.Parameter != "/cogmail/providers" || set.Before.Exists || !set.Changed || set.DryRun || set.Version != 1 || !reflect.DeepEqual(set.After, want) {
		t.Errorf("set --json = %+v", set)
	}
	if !show.Exists || !show.Valid || show.Version != 1 || show.Routing == nil || !reflect.DeepEqual(*show.Routing, want) || show.LastModified == nil {
		t.Errorf("show --json = %+v", show)
	}
}

// TestProvidersMoto runs the switch against moto's SSM, and checks that
// what set writes is what dispatch's Source reads.
func TestProvidersMoto(t *testing.T) {
	url := motoserver.Shared(t)
	env := ssmEnv(url, motoserver.Region)
	param := fmt.Sprintf("/cogmail/test-%d/providers", time.Now().UnixNano())
	client := testSSMClient(url, motoserver.Region)

	steps := []struct {
		name   string
		args   []string
		code   int
		want   string
		stored string
	}{
		{"missing", []string{"providers", "show", "--param", param}, exitFailed, "", ""},
		{"create", []string{"providers", "set", "ses,sendgrid", "--param", param}, exitOK, "after:  failover: ses, then sendgrid (version 1)",
			`{"providers":["ses","sendgrid"],"strategy":"failover"}`},
		{"rejected", []string{"providers", "set", "mailchimp", "--param", param}, exitUsage, "",
			`{"providers":["ses","sendgrid"],"strategy":"failover"}`},
		{"switch", []string{"providers", "set", "sendgrid=3,ses=1", "--param", param}, exitOK, "after:  weighted: sendgrid=3 (75%), ses=1 (25%) (version 2)",
			`{"providers":["sendgrid","ses"],"strategy":"weighted","weights":{"sendgrid":3,"ses":1}}`},
		{"show", []string{"providers", "show", "--param", param}, exitOK, "weighted: sendgrid=3 (75%), ses=1 (25%)",
			`{"providers":["sendgrid","ses"],"strategy":"weighted","weights":{"sendgrid":3,"ses":1}}`},
	}
	for _, s := range steps {
		code, out, errOut := runCmdGetenv(t, env, "", s.args...)
		if code != s.code {
			t.Fatalf("%s: exit %d, want %d\n%s%s", s.name, code, s.code, out, errOut)
		}
		if !strings.Contains(out, s.want) {
			t.Errorf("%s: stdout lacks %q:\n%s", s.name, s.want, out)
		}
		if v, _, _ := storedParam(t, client, param); v != s.stored {
			t.Errorf("%s: parameter holds %q, want %q", s.name, v, s.stored)
		}
	}

	src, err := routing.NewSource(routing.SourceOptions{
		Client: ssmparam.Reader{Client: client}, Parameter: param, Available: []string{"ses", "sendgrid"},
		Fallback: routing.Config{Providers: []string{"ses"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := src.Load(context.Background()); err != nil {
		t.Fatalf("dispatch's Source rejects what set wrote: %v", err)
	}
	want := routing.Config{Providers: []string{"sendgrid", "ses"}, Strategy: routing.Weighted, Weights: map[string]int{"sendgrid": 3, "ses": 1}}
	if got := src.Current(context.Background()); !reflect.DeepEqual(got, want) {
		t.Errorf("dispatch routes by %+v, want %+v", got, want)
	}
}

func TestDescribeRouting(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		c    routing.Config
		want string
	}{
		{"failover by default", routing.Config{Providers: []string{"ses"}}, "failover: ses"},
		{"failover", routing.Config{Providers: []string{"ses", "sendgrid", "smtp"}, Strategy: routing.Failover}, "failover: ses, then sendgrid, then smtp"},
		{"missing weights weigh 1", routing.Config{Providers: []string{"ses", "smtp", "mailgun"}, Strategy: routing.Weighted, Weights: map[string]int{"ses": 2}},
			"weighted: ses=2 (50%), smtp=1 (25%), mailgun=1 (25%)"},
		{"thirds round", routing.Config{Providers: []string{"ses", "smtp"}, Strategy: routing.Weighted, Weights: map[string]int{"ses": 2, "smtp": 1}},
			"weighted: ses=2 (67%), smtp=1 (33%)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := describeRouting(tt.c); got != tt.want {
				t.Errorf("describeRouting = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParameterName(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"/cogmail/providers", "/cogmail/providers"},
		{"arn:aws:ssm:eu-west-1:123456789012:parameter/cogmail/prod/providers", "/cogmail/prod/providers"},
		{"arn:aws:ssm:eu-west-1:123456789012:parameter/providers", "providers"},
		{"arn:aws:ssm:eu-west-1:123456789012:document/x", "arn:aws:ssm:eu-west-1:123456789012:document/x"},
	}
	for _, tt := range tests {
		if got := parameterName(tt.in); got != tt.want {
			t.Errorf("parameterName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
