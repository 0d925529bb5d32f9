package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cogmail/cogmail/internal/testkit/motoserver"
)

// attachRun runs `cogmail attach` in-process with the given stdin and
// environment (nothing is read from the real environment's AWS settings).
func attachRun(t *testing.T, stdin string, vars map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb, getenv: func(k string) string { return vars[k] }}
	code := run(context.Background(), e, append([]string{"attach"}, args...))
	return code, out.String(), errb.String()
}

func TestAttachFlags(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		code      int
		out, err  string // substrings of stdout, stderr
		notStdout string
	}{
		{"help", []string{"--help"}, exitOK, "Examples:", "", ""},
		{"help lists every flag", []string{"-h"}, exitOK, "-dry-run", "", ""},
		{"no flags", nil, exitUsage, "", `user pool id ""`, "LambdaConfig"},
		{"missing ARNs", []string{"--user-pool-id", "eu-west-1_AbC"}, exitUsage, "", "Lambda ARN", ""},
		{"alias instead of key ARN", []string{"--user-pool-id", "eu-west-1_AbC", "--lambda-arn", "arn:aws:lambda:eu-west-1:123456789012:function:f",
			"--kms-key-arn", "alias/cogmail"}, exitUsage, "", "does not take an alias", ""},
		{"detach with an ARN", []string{"--user-pool-id", "eu-west-1_AbC", "--detach", "--lambda-arn", "arn:aws:lambda:eu-west-1:123456789012:function:f"},
			exitUsage, "", "detach takes no", ""},
		{"region not the pool's", []string{"--user-pool-id", "eu-west-1_AbC", "--detach", "--region", "us-east-1"}, exitUsage, "", "not the pool's region (eu-west-1)", ""},
		{"stray argument", []string{"--user-pool-id", "eu-west-1_AbC", "--detach", "now"}, exitUsage, "", `unexpected argument "now"`, ""},
		{"unknown flag", []string{"--force"}, exitUsage, "", "unknown flag --force", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, stderr := attachRun(t, "", nil, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, out, stderr)
			}
			if !strings.Contains(out, tt.out) || !strings.Contains(stderr, tt.err) {
				t.Errorf("stdout %q (want %q)\nstderr %q (want %q)", out, tt.out, stderr, tt.err)
			}
			if tt.notStdout != "" && strings.Contains(out, tt.notStdout) {
				t.Errorf("stdout has %q", tt.notStdout)
			}
		})
	}
	t.Run("listed in cogmail help", func(t *testing.T) {
		var out bytes.Buffer
		run(context.Background(), &env{stdout: &out, stderr: &out, getenv: func(string) string { return "" }}, []string{"help"})
		if !strings.Contains(out.String(), "attach") {
			t.Errorf("help:\n%s", out.String())
		}
	})
}

// The command against moto_server's Cognito, step by step on one pool.
func TestAttachCommandAgainstMoto(t *testing.T) {
	url := motoserver.Shared(t)
	missing := filepath.Join(t.TempDir(), "none")
	vars := map[string]string{
		"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
		"AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER": url,
		"AWS_CONFIG_FILE": missing, "AWS_SHARED_CREDENTIALS_FILE": missing,
	}
	client := cip.NewFromConfig(motoserver.Config(), func(o *cip.Options) { o.BaseEndpoint = aws.String(url) })
	ctx := context.Background()
	const (
		preSignUp = "arn:aws:lambda:us-east-1:123456789012:function:pre-sign-up"
		ingest    = "arn:aws:lambda:us-east-1:123456789012:function:cogmail-IngestFunction-1AB2"
		key       = "arn:aws:kms:us-east-1:123456789012:key/0d7b1c3e-1111-2222-3333-444455556666"
	)
	created, err := client.CreateUserPool(ctx, &cip.CreateUserPoolInput{
		PoolName:     aws.String("cli"),
		LambdaConfig: &types.LambdaConfigType{PreSignUp: aws.String(preSignUp)},
		Policies:     &types.UserPoolPolicyType{PasswordPolicy: &types.PasswordPolicyType{MinimumLength: aws.Int32(16), TemporaryPasswordValidityDays: 2}},
		UserPoolTags: map[string]string{"team": "identity"},
	})
	if err != nil {
		t.Fatal(err)
	}
	pool := aws.ToString(created.UserPool.Id)
	state := func() (sender, kms string) {
		out, err := client.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: aws.String(pool)})
		if err != nil {
			t.Fatal(err)
		}
		p := out.UserPool
		if aws.ToString(p.LambdaConfig.PreSignUp) != preSignUp || p.UserPoolTags["team"] != "identity" || aws.ToInt32(p.Policies.PasswordPolicy.MinimumLength) != 16 {
			t.Fatalf("other settings were lost: %+v", p)
		}
		if cs := p.LambdaConfig.CustomEmailSender; cs != nil {
			sender = aws.ToString(cs.LambdaArn)
		}
		return sender, aws.ToString(p.LambdaConfig.KMSKeyID)
	}
	attachArgs := []string{"--user-pool-id", pool, "--lambda-arn", ingest, "--kms-key-arn", key}
	steps := []struct {
		name       string
		stdin      string
		args       []string
		code       int
		out        []string
		wantSender string
		wantKey    string
	}{
		{"dry run", "", append(attachArgs, "--dry-run"), exitOK, []string{"+ CustomEmailSender.LambdaArn", "  PreSignUp", "Dry run: nothing was changed."}, "", ""},
		{"declined", "n\n", attachArgs, exitAborted, []string{"[y/N]", "Aborted"}, "", ""},
		{"no answer (a script without --yes)", "", attachArgs, exitAborted, []string{"Aborted"}, "", ""},
		{"confirmed", "y\n", attachArgs, exitOK, []string{"Updated user pool " + pool, "cogmail event --trigger SignUp"}, ingest, key},
		{"again: nothing to do", "", append(attachArgs, "--yes"), exitOK, []string{"Nothing to change"}, ingest, key},
		{"detach", "", []string{"--user-pool-id", pool, "--detach", "--yes"}, exitOK, []string{"- CustomEmailSender.LambdaArn", "Updated user pool"}, "", ""},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			code, out, stderr := attachRun(t, st.stdin, vars, st.args...)
			if code != st.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, st.code, out, stderr)
			}
			for _, w := range st.out {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			if sender, kms := state(); sender != st.wantSender || kms != st.wantKey {
				t.Errorf("pool has sender %q key %q, want %q %q", sender, kms, st.wantSender, st.wantKey)
			}
		})
	}
	t.Run("unknown pool", func(t *testing.T) {
		code, _, stderr := attachRun(t, "", vars, "--user-pool-id", "us-east-1_Nope", "--detach", "--yes")
		if code != exitFailed || !strings.Contains(stderr, "describe user pool us-east-1_Nope") {
			t.Errorf("exit %d, stderr %s", code, stderr)
		}
	})
}
