package awsclient_test

import (
	"context"
	"fmt"
	"log"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/cogmail/cogmail/internal/local/sqslocal"
	"github.com/cogmail/cogmail/pkg/awsclient"
)

// In a Lambda, awsclient.Load replaces config.LoadDefaultConfig; against a
// local endpoint, awsclient.Config gives fixed credentials. Either way the
// clients built from the result carry the workaround.
func Example() {
	srv := sqslocal.New(sqslocal.Options{})
	defer srv.Close()
	url, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	cfg := awsclient.Config("us-east-1", credentials.NewStaticCredentialsProvider("local", "local", ""))
	client := sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = aws.String(url) })
	q, err := client.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String("emails")})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(aws.ToString(q.QueueUrl) != "", awsclient.Wrapped(cfg.HTTPClient))
	// Output: true true
}
