package snsfake_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/smithy-go"

	"github.com/cogmail/cogmail/pkg/awsclient"
	"github.com/cogmail/cogmail/pkg/provider/sns/snsfake"
)

// TestContract drives the fake with the SDK's own client: what it accepts
// and the errors it answers, by code, as SNS documents them.
func TestContract(t *testing.T) {
	fake := snsfake.New(snsfake.Options{Credentials: &aws.Credentials{AccessKeyID: "AKIDFAKE", SecretAccessKey: "secret"}, OptedOut: []string{"+447700900123"}})
	defer fake.Close()
	client := func(secret string) *sns.Client {
		cfg := awsclient.Config("eu-west-1", credentials.NewStaticCredentialsProvider("AKIDFAKE", secret, ""))
		return sns.NewFromConfig(cfg, func(o *sns.Options) { o.BaseEndpoint = aws.String(fake.URL()); o.RetryMaxAttempts = 1 })
	}
	c := client("secret")
	attr := func(kv ...string) map[string]types.MessageAttributeValue {
		m := map[string]types.MessageAttributeValue{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(kv[i+1])}
		}
		return m
	}
	ctx := context.Background()
	tests := []struct {
		name string
		in   *sns.PublishInput
		c    *sns.Client
		code string
	}{
		{"accepted", &sns.PublishInput{PhoneNumber: aws.String("+14155552671"), Message: aws.String("hi"), MessageAttributes: attr("AWS.SNS.SMS.SMSType", "Transactional", "AWS.SNS.SMS.SenderID", "Cogmail")}, c, ""},
		{"not E.164", &sns.PublishInput{PhoneNumber: aws.String("4155552671"), Message: aws.String("hi")}, c, "InvalidParameter"},
		{"empty message", &sns.PublishInput{PhoneNumber: aws.String("+14155552671"), Message: aws.String("")}, c, "InvalidParameter"},
		{"too long", &sns.PublishInput{PhoneNumber: aws.String("+14155552671"), Message: aws.String(strings.Repeat("a", 1601))}, c, "InvalidParameter"},
		{"bad SMSType", &sns.PublishInput{PhoneNumber: aws.String("+14155552671"), Message: aws.String("hi"), MessageAttributes: attr("AWS.SNS.SMS.SMSType", "Urgent")}, c, "ParameterValueInvalid"},
		{"bad sender ID", &sns.PublishInput{PhoneNumber: aws.String("+14155552671"), Message: aws.String("hi"), MessageAttributes: attr("AWS.SNS.SMS.SenderID", "12345")}, c, "ParameterValueInvalid"},
		{"wrong secret", &sns.PublishInput{PhoneNumber: aws.String("+14155552671"), Message: aws.String("hi")}, client("other"), "SignatureDoesNotMatch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.c.Publish(ctx, tt.in)
			var api smithy.APIError
			switch {
			case tt.code == "" && err != nil:
				t.Fatalf("Publish: %v", err)
			case tt.code != "" && (!errors.As(err, &api) || api.ErrorCode() != tt.code):
				t.Fatalf("Publish: %v, want %s", err, tt.code)
			}
		})
	}
	out, err := c.CheckIfPhoneNumberIsOptedOut(ctx, &sns.CheckIfPhoneNumberIsOptedOutInput{PhoneNumber: aws.String("+447700900123")})
	if err != nil || !out.IsOptedOut {
		t.Errorf("CheckIfPhoneNumberIsOptedOut: %+v %v, want opted out", out, err)
	}
	if _, err := c.GetSMSAttributes(ctx, &sns.GetSMSAttributesInput{}); err != nil {
		t.Errorf("GetSMSAttributes: %v", err)
	}
	if n := len(fake.Messages()); n != 1 || fake.Messages()[0].SenderID != "Cogmail" {
		t.Errorf("messages %+v", fake.Messages())
	}
	// An unsigned request is refused as SNS refuses it.
	resp, err := http.PostForm(fake.URL()+"/", url.Values{"Action": {"Publish"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/xml") {
		t.Errorf("unsigned: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}
