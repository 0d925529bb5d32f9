package eventsource_test

import (
	"context"
	"fmt"
	"log"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/cogmail/cogmail/internal/local/eventsource"
	"github.com/cogmail/cogmail/internal/local/sqslocal"
	"github.com/cogmail/cogmail/pkg/awsclient"
)

// A Poller plays Lambda's event source mapping against any SQS endpoint:
// here sqslocal, in the local stack.
func ExampleNewPoller() {
	srv := sqslocal.New(sqslocal.Options{})
	defer srv.Close()
	url, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	client := sqs.NewFromConfig(awsclient.Config("us-east-1", credentials.NewStaticCredentialsProvider("local", "local", "")),
		func(o *sqs.Options) { o.BaseEndpoint = aws.String(url) })
	ctx := context.Background()
	q, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("emails")})
	if err != nil {
		log.Fatal(err)
	}
	for _, body := range []string{"one", "two"} {
		if _, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String(body)}); err != nil {
			log.Fatal(err)
		}
	}
	handler := func(_ context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		var resp events.SQSEventResponse
		for _, r := range ev.Records {
			if r.Body == "two" { // not handled: SQS delivers it again
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
			}
		}
		return resp, nil
	}
	p, err := eventsource.NewPoller(client, handler, eventsource.PollerOptions{QueueURL: aws.ToString(q.QueueUrl), BatchSize: 10})
	if err != nil {
		log.Fatal(err)
	}
	res, err := p.Poll(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("received %d, deleted %d, retried %d\n", res.Received, res.Deleted, res.Retried)
	// Output: received 2, deleted 1, retried 1
}
