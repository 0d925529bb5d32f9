package sqslocal_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/cogmail/cogmail/internal/local/sqslocal"
	"github.com/cogmail/cogmail/pkg/awsclient"
)

// The real SDK client talks to a Server through its BaseEndpoint.
func Example() {
	srv := sqslocal.New(sqslocal.Options{})
	defer srv.Close()
	url, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	cfg := awsclient.Config("us-east-1", credentials.NewStaticCredentialsProvider("local", "local", ""))
	client := sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = aws.String(url) })

	ctx := context.Background()
	q, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("emails")})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String("hello")}); err != nil {
		log.Fatal(err)
	}
	out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, WaitTimeSeconds: 1})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(aws.ToString(out.Messages[0].Body))
	// Output: hello
}

// Stats feeds a status page with each queue's counts and dead-letter links.
func ExampleServer_Stats() {
	srv := sqslocal.New(sqslocal.Options{})
	defer srv.Close()
	url, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	cfg := awsclient.Config("us-east-1", credentials.NewStaticCredentialsProvider("local", "local", ""))
	client := sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = aws.String(url) })
	ctx := context.Background()
	if _, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("emails-dlq")}); err != nil {
		log.Fatal(err)
	}
	q, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("emails"), Attributes: map[string]string{
		"RedrivePolicy": `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:emails-dlq","maxReceiveCount":5}`,
	}})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String("hi")}); err != nil {
		log.Fatal(err)
	}

	for _, st := range srv.Stats() {
		fmt.Printf("%s visible=%d in-flight=%d delayed=%d dlq=%q sources=%v\n",
			st.Name, st.Visible, st.InFlight, st.Delayed, st.DeadLetterQueue, st.DeadLetterSources)
	}
	// Output:
	// emails visible=1 in-flight=0 delayed=0 dlq="emails-dlq" sources=[]
	// emails-dlq visible=0 in-flight=0 delayed=0 dlq="" sources=[emails]
}

// A Server can share one listener with other emulators: it dispatches on
// X-Amz-Target alone and builds queue URLs from the request's Host.
func ExampleServer_ServeHTTP() {
	srv := sqslocal.New(sqslocal.Options{})
	defer srv.Close()
	shared := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.Header.Get("X-Amz-Target"), "AmazonSQS.") {
			srv.ServeHTTP(w, r)
			return
		}
		http.Error(w, "not routed here", http.StatusNotFound) // e.g. another emulator
	}))
	defer shared.Close()

	cfg := awsclient.Config("us-east-1", credentials.NewStaticCredentialsProvider("local", "local", ""))
	client := sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = aws.String(shared.URL) })
	q, err := client.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String("emails")})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(strings.TrimPrefix(aws.ToString(q.QueueUrl), shared.URL))
	// Output: /000000000000/emails
}
