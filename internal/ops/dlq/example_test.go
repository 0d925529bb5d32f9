package dlq_test

import (
	"context"
	"fmt"
	"log"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/cogmail/cogmail/internal/local/sqslocal"
	"github.com/cogmail/cogmail/internal/ops/dlq"
	"github.com/cogmail/cogmail/pkg/awsclient"
)

// List reads a DLQ through the real SQS client (here on sqslocal). A body
// that is not an envelope is described from its attributes, never quoted.
func ExampleQueue_List() {
	srv := sqslocal.New(sqslocal.Options{})
	defer srv.Close()
	url, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	cfg := awsclient.Config("us-east-1", credentials.NewStaticCredentialsProvider("local", "local", ""))
	client := sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = aws.String(url) })
	ctx := context.Background()
	q, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("emails-dlq")})
	if err != nil {
		log.Fatal(err)
	}
	str := func(v string) sqstypes.MessageAttributeValue {
		return sqstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
	}
	_, err = client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String("{truncated"),
		MessageAttributes: map[string]sqstypes.MessageAttributeValue{
			"cogmail.trigger": str("CustomEmailSender_ForgotPassword"),
			"cogmail.reason":  str("malformed"),
		}})
	if err != nil {
		log.Fatal(err)
	}

	d, err := dlq.New(dlq.Options{Client: client, QueueURL: aws.ToString(q.QueueUrl)})
	if err != nil {
		log.Fatal(err)
	}
	ms, err := d.List(ctx, dlq.Filter{Trigger: "ForgotPassword"})
	if err != nil {
		log.Fatal(err)
	}
	for _, m := range ms {
		fmt.Println(m.Trigger, m.Reason, m.Problem)
	}
	// Output: ForgotPassword malformed envelope: not an envelope: syntax error at byte 2
}

// The hash stands in for a user name that may be an address.
func ExampleUserHash() {
	fmt.Println(dlq.UserHash("us-east-1_Abc", "ana@example.com"))
	fmt.Println(dlq.UserHash("us-east-1_Abc", "ana@example.com") == dlq.UserHash("eu-west-1_Xyz", "ana@example.com"))
	// Output:
	// f52eae5e5c
	// false
}
