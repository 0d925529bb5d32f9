package motoserver_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/cogmail/cogmail/internal/testkit/motoserver"
)

func TestSharedServerAnswersSQS(t *testing.T) {
	url := motoserver.Shared(t)
	c := sqs.NewFromConfig(motoserver.Config(), func(o *sqs.Options) { o.BaseEndpoint = aws.String(url) })
	out, err := c.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String("motoserver-selftest")})
	if err != nil {
		t.Fatalf("CreateQueue: %v", err)
	}
	if aws.ToString(out.QueueUrl) == "" {
		t.Fatal("empty queue URL")
	}
}
