package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/cogmail/cogmail/internal/local/localstack"
	"github.com/cogmail/cogmail/internal/testkit/motoserver"
	"github.com/cogmail/cogmail/pkg/awsclient"
	"github.com/cogmail/cogmail/pkg/reputationtable"
)

// suppressionsSession runs the commands ops would, in order, against one
// list, and checks what each prints and returns.
func suppressionsSession(t *testing.T, vars map[string]string, where ...string) {
	t.Helper()
	steps := []struct {
		args   []string
		code   int
		stdout []string
	}{
		{[]string{"list"}, exitOK, []string{"0 suppressed"}},
		{[]string{"check", "Ana@Example.com"}, exitOK, []string{"Ana@example.com is not suppressed"}},
		{[]string{"add", "Ana@Example.com", "--reason", "complaint"}, exitOK, []string{"suppressed Ana@example.com (complaint)"}},
		{[]string{"add", "typo@gmial.com"}, exitOK, []string{"suppressed typo@gmial.com (manual)"}},
		{[]string{"list"}, exitOK, []string{"Ana@example.com", "complaint", "ops", "typo@gmial.com", "manual", "2 suppressed"}},
		{[]string{"check", "Ana@example.COM"}, exitFailed, []string{"complaint", "stopped SignUp, ResendCode, AdminCreateUser, AccountTakeOverNotification", "still sent ForgotPassword"}},
		{[]string{"remove", "Ana@example.com"}, exitOK, []string{"lifted 1 suppression(s) of Ana@example.com"}},
		{[]string{"check", "Ana@example.com"}, exitOK, []string{"not suppressed"}},
		{[]string{"remove", "Ana@example.com"}, exitOK, []string{"was not suppressed"}},
		{[]string{"--json", "list"}, exitOK, []string{"typo@gmial.com"}}, // flags before the verb too
		{[]string{"list", "extra"}, exitUsage, nil},
		{[]string{"add", "x@example.com", "--reason", "spite"}, exitUsage, nil},
		{[]string{"check"}, exitUsage, nil},
		{[]string{"add", "not-an-address"}, exitUsage, nil},
	}
	for _, s := range steps {
		args := append(append([]string{"suppressions"}, s.args...), where...)
		code, out, errOut := runCmdGetenv(t, vars, "", args...)
		if code != s.code {
			t.Fatalf("%v: exit %d, want %d\nstdout: %s\nstderr: %s", s.args, code, s.code, out, errOut)
		}
		for _, w := range s.stdout {
			if !strings.Contains(out, w) {
				t.Errorf("%v: stdout lacks %q:\n%s", s.args, w, out)
			}
		}
	}
}

func TestSuppressionsLocalStack(t *testing.T) {
	s, err := localstack.Start(context.Background(), localstack.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	suppressionsSession(t, nil, "--local", s.URL)
}

func TestSuppressionsTable(t *testing.T) {
	url := motoserver.Shared(t)
	cfg := awsclient.Config(motoserver.Region, credentials.NewStaticCredentialsProvider("testing", "testing", ""))
	db := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(url) })
	name := fmt.Sprintf("reputation-cli-%d", time.Now().UnixNano())
	if _, err := db.CreateTable(context.Background(), &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String(reputationtable.AttrKey), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String(reputationtable.AttrKey), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
	}); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"AWS_ENDPOINT_URL_DYNAMODB": url, "AWS_REGION": motoserver.Region,
		"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "COGMAIL_REPUTATION_TABLE": name}
	suppressionsSession(t, vars)
	if code, _, errOut := runCmdGetenv(t, map[string]string{}, "", "suppressions", "list"); code != exitUsage || !strings.Contains(errOut, "--table") {
		t.Errorf("no table: exit %d, %s", code, errOut)
	}
}
