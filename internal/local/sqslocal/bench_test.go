package sqslocal_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/cogmail/cogmail/internal/local/sqslocal"
)

// BenchmarkSendReceiveDelete is one message's round trip through the real
// SDK client over loopback: what the local stack pays per email.
func BenchmarkSendReceiveDelete(b *testing.B) {
	ctx := context.Background()
	c := newClient(startLocal(b, sqslocal.Options{}))
	url, _ := createQueue(b, c, "bench", nil)
	body := aws.String(strings.Repeat("x", 2048))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: body, MessageAttributes: sampleAttrs}); err != nil {
			b.Fatal(err)
		}
		out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MessageAttributeNames: []string{"All"}})
		if err != nil || len(out.Messages) != 1 {
			b.Fatalf("receive: %v, %d messages", err, len(out.Messages))
		}
		if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: out.Messages[0].ReceiptHandle}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHandlerSendMessage is the server's own cost of one SendMessage,
// without client or network.
func BenchmarkHandlerSendMessage(b *testing.B) {
	s := sqslocal.New(sqslocal.Options{})
	b.Cleanup(func() { _ = s.Close() })
	do := func(target, body string) int {
		req := httptest.NewRequest(http.MethodPost, "http://localhost/", strings.NewReader(body))
		req.Header.Set("X-Amz-Target", target)
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		return rec.Code
	}
	if code := do("AmazonSQS.CreateQueue", `{"QueueName":"bench"}`); code != http.StatusOK {
		b.Fatalf("CreateQueue: %d", code)
	}
	const send = `{"QueueUrl":"http://localhost/000000000000/bench","MessageBody":"hello","MessageAttributes":{"trigger":{"DataType":"String","StringValue":"CustomEmailSender_SignUp"}}}`
	b.ReportAllocs()
	for b.Loop() {
		if code := do("AmazonSQS.SendMessage", send); code != http.StatusOK {
			b.Fatalf("SendMessage: %d", code)
		}
	}
}
