package motoserver_test

import (
	"context"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
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

// TestSerialServerAnswersDynamoDB: the one-request-at-a-time moto serves
// the SDK as moto_server does, concurrent clients included.
func TestSerialServerAnswersDynamoDB(t *testing.T) {
	url := motoserver.SharedSerial(t)
	c := dynamodb.NewFromConfig(motoserver.Config(), func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(url) })
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := c.ListTables(context.Background(), &dynamodb.ListTablesInput{}); err != nil {
				t.Errorf("ListTables: %v", err)
			}
		})
	}
	wg.Wait()
}
