package queue_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/cogmail/cogmail/internal/local/sqslocal"
	"github.com/cogmail/cogmail/internal/testkit/motoserver"
	"github.com/cogmail/cogmail/pkg/awsclient"
	"github.com/cogmail/cogmail/pkg/cognito"
	"github.com/cogmail/cogmail/pkg/envelope"
	"github.com/cogmail/cogmail/pkg/queue"
	"github.com/cogmail/cogmail/pkg/seal"
)

func sampleEnvelope() *envelope.Envelope {
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	return &envelope.Envelope{
		Version: 1, ID: envelope.NewID(), DedupKey: "dk", Trigger: cognito.ForgotPassword, Pool: "us-east-1_P",
		UserName: "u", Locale: "en", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour),
		Sealed: seal.Sealed{Alg: seal.Algorithm, DataKey: []byte{1}, Nonce: []byte{2}, Ciphertext: []byte{3}},
	}
}

// TestPublish sends through the real SQS client to both our endpoint and
// moto, and reads the message back with its attributes.
func TestPublish(t *testing.T) {
	cfg := awsclient.Config("us-east-1", credentials.NewStaticCredentialsProvider("a", "b", ""))
	endpoints := map[string]func(t *testing.T) string{
		"sqslocal": func(t *testing.T) string {
			s := sqslocal.New(sqslocal.Options{})
			t.Cleanup(func() { _ = s.Close() })
			u, err := s.Listen("127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			return u
		},
		"moto": func(t *testing.T) string { return motoserver.Shared(t) },
	}
	for name, start := range endpoints {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			c := sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = aws.String(start(t)) })
			q, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("queue-publish-test")})
			if err != nil {
				t.Fatal(err)
			}
			p, err := queue.NewPublisher(c, aws.ToString(q.QueueUrl))
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Warm(ctx); err != nil { // reads the queue's ARN, sends nothing
				t.Fatal(err)
			}
			e := sampleEnvelope()
			const trace = "Root=1-67891233-abcdef012345678912345678;Parent=53995c3f42cd8ad8;Sampled=1"
			id, err := p.Publish(queue.WithTraceHeader(ctx, trace), e)
			if err != nil || id == "" {
				t.Fatalf("Publish = %q, %v", id, err)
			}
			r, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, MessageAttributeNames: []string{"All"}, WaitTimeSeconds: 1,
				MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAWSTraceHeader}})
			if err != nil || len(r.Messages) != 1 {
				t.Fatalf("receive: %v, %d messages", err, len(r.Messages))
			}
			got, err := envelope.Parse([]byte(aws.ToString(r.Messages[0].Body)))
			if err != nil || got.ID != e.ID {
				t.Fatalf("body: %v", err)
			}
			if got := r.Messages[0].Attributes[queue.AWSTraceHeader]; got != trace {
				t.Errorf("AWSTraceHeader = %q, want the invocation's trace header", got)
			}
			for k, v := range e.Attributes() {
				if a := r.Messages[0].MessageAttributes[k]; aws.ToString(a.StringValue) != v {
					t.Errorf("attribute %s = %q, want %q", k, aws.ToString(a.StringValue), v)
				}
			}
		})
	}
}

func TestPublishFailureIsAnError(t *testing.T) {
	cfg := awsclient.Config("us-east-1", credentials.NewStaticCredentialsProvider("a", "b", ""))
	cfg.RetryMaxAttempts = 1
	c := sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = aws.String("http://127.0.0.1:1") })
	p, err := queue.NewPublisher(c, "http://127.0.0.1:1/000000000000/q")
	if err != nil {
		t.Fatal(err)
	}
	e := sampleEnvelope()
	_, err = p.Publish(context.Background(), e)
	var qe *queue.Error
	if !errors.As(err, &qe) || qe.MessageID != e.ID {
		t.Fatalf("Publish to a closed port = %v, want *queue.Error", err)
	}
}

func TestWarm(t *testing.T) {
	ctx := context.Background()
	cfg := awsclient.Config("us-east-1", credentials.NewStaticCredentialsProvider("a", "b", ""))
	cfg.RetryMaxAttempts = 1
	s := sqslocal.New(sqslocal.Options{})
	t.Cleanup(func() { _ = s.Close() })
	u, err := s.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = aws.String(u) })
	q, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("queue-warm-test")})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		client  queue.Sender
		url     string
		wantErr string
	}{
		{"an existing queue", c, aws.ToString(q.QueueUrl), ""},
		{"a queue that does not exist", c, strings.Replace(aws.ToString(q.QueueUrl), "queue-warm-test", "nope", 1), "nope"},
		{"a client that cannot read attributes does nothing", sendOnly{}, "http://127.0.0.1:1/000000000000/q", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := queue.NewPublisher(tc.client, tc.url)
			if err != nil {
				t.Fatal(err)
			}
			err = p.Warm(ctx)
			if (err == nil) != (tc.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("Warm = %v, want an error naming %q", err, tc.wantErr)
			}
		})
	}
	r, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages}})
	if err != nil || r.Attributes["ApproximateNumberOfMessages"] != "0" {
		t.Errorf("after Warm the queue holds %v messages (%v), want 0", r.Attributes, err)
	}
}

// sendOnly is a Sender without GetQueueAttributes.
type sendOnly struct{}

func (sendOnly) SendMessage(context.Context, *sqs.SendMessageInput, ...func(*sqs.Options)) (*sqs.SendMessageOutput, error) {
	return nil, errors.New("not used")
}

func TestNewPublisherValidates(t *testing.T) {
	if _, err := queue.NewPublisher(nil, "u"); err == nil {
		t.Error("nil client accepted")
	}
}
