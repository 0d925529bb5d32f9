package smsvoicefake_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	sv "github.com/aws/aws-sdk-go-v2/service/pinpointsmsvoicev2"
	"github.com/aws/aws-sdk-go-v2/service/pinpointsmsvoicev2/types"

	"github.com/cogmail/cogmail/pkg/awsclient"
	"github.com/cogmail/cogmail/pkg/provider/smsvoice/smsvoicefake"
)

// TestContract drives the fake with the SDK's own client: what it accepts
// and the typed errors (with their Reason) it answers.
func TestContract(t *testing.T) {
	fake := smsvoicefake.New(smsvoicefake.Options{
		Credentials:           &aws.Credentials{AccessKeyID: "AKIDFAKE", SecretAccessKey: "secret"},
		OriginationIdentities: []string{"+12065550100"}, ConfigurationSets: []string{"cogmail"}, OptedOut: []string{"+447700900123"},
	})
	defer fake.Close()
	cfg := awsclient.Config("eu-west-1", credentials.NewStaticCredentialsProvider("AKIDFAKE", "secret", ""))
	c := sv.NewFromConfig(cfg, func(o *sv.Options) { o.BaseEndpoint = aws.String(fake.URL()); o.RetryMaxAttempts = 1 })
	send := func(mod func(*sv.SendTextMessageInput)) error {
		in := &sv.SendTextMessageInput{DestinationPhoneNumber: aws.String("+14155552671"), MessageBody: aws.String("hi"),
			MessageType: types.MessageTypeTransactional, OriginationIdentity: aws.String("+12065550100"), ConfigurationSetName: aws.String("cogmail")}
		if mod != nil {
			mod(in)
		}
		_, err := c.SendTextMessage(context.Background(), in)
		return err
	}
	if err := send(nil); err != nil {
		t.Fatalf("SendTextMessage: %v", err)
	}
	var (
		validation *types.ValidationException
		conflict   *types.ConflictException
		notFound   *types.ResourceNotFoundException
	)
	if err := send(func(in *sv.SendTextMessageInput) { in.DestinationPhoneNumber = aws.String("0044") }); !errors.As(err, &validation) || validation.Reason != types.ValidationExceptionReasonInvalidParameter || len(validation.Fields) != 1 {
		t.Errorf("bad number: %v", err)
	}
	if err := send(func(in *sv.SendTextMessageInput) { in.MessageBody = aws.String(strings.Repeat("a", 1601)) }); !errors.As(err, &validation) {
		t.Errorf("long body: %v", err)
	}
	if err := send(func(in *sv.SendTextMessageInput) { in.MaxPrice = aws.String("1") }); !errors.As(err, &validation) {
		t.Errorf("bad MaxPrice: %v", err)
	}
	if err := send(func(in *sv.SendTextMessageInput) { in.DestinationPhoneNumber = aws.String("+447700900123") }); !errors.As(err, &conflict) || conflict.Reason != types.ConflictExceptionReasonDestinationPhoneNumberOptedOut {
		t.Errorf("opted out: %v", err)
	}
	if err := send(func(in *sv.SendTextMessageInput) { in.OriginationIdentity = aws.String("+12065550199") }); !errors.As(err, &notFound) || notFound.ResourceType != types.ResourceTypePhoneNumber {
		t.Errorf("unknown identity: %v", err)
	}
	if err := send(func(in *sv.SendTextMessageInput) { in.ConfigurationSetName = aws.String("other") }); !errors.As(err, &notFound) || notFound.ResourceType != types.ResourceTypeConfigurationSet {
		t.Errorf("unknown configuration set: %v", err)
	}
	if _, err := c.DescribeAccountAttributes(context.Background(), &sv.DescribeAccountAttributesInput{}); err != nil {
		t.Errorf("DescribeAccountAttributes: %v", err)
	}
	if n := len(fake.Messages()); n != 1 {
		t.Errorf("%d messages accepted, want 1", n)
	}
	resp, err := http.Post(fake.URL()+"/", "application/x-amz-json-1.0", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("no target: %d", resp.StatusCode)
	}
}
