// Package queue puts envelopes on SQS with their clear metadata as message
// attributes. Any failure is retryable: the caller returns it so that the
// Lambda invocation fails and the event is retried, never dropped.
package queue

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/cogmail/cogmail/pkg/envelope"
)

// MaxVisibility is SQS's longest visibility timeout (12 hours): the cap on
// dispatch's retry backoff and on how long the DLQ tools may hold a message.
const MaxVisibility = 12 * time.Hour

// MaxRetention is SQS's longest message retention (14 days): a message
// retried longer than its queue keeps it would vanish unsent.
const MaxRetention = 14 * 24 * time.Hour

// MaxReceiveCount is the largest maxReceiveCount a redrive policy takes.
const MaxReceiveCount = 1000

// Sender is the part of the SQS client that publishing needs; *sqs.Client
// satisfies it.
type Sender interface {
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
}

// Publisher sends envelopes to one queue.
type Publisher struct {
	sqs Sender
	url string
}

// NewPublisher returns a Publisher for the queue URL.
func NewPublisher(client Sender, queueURL string) (*Publisher, error) {
	if client == nil || queueURL == "" {
		return nil, fmt.Errorf("queue: an SQS client and a queue URL are required")
	}
	return &Publisher{sqs: client, url: queueURL}, nil
}

// Error is a failed enqueue. It is always retryable from the caller's view.
type Error struct {
	MessageID string
	Err       error
}

func (e *Error) Error() string { return "queue: send " + e.MessageID + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// attributeReader is what Warm needs beyond Sender; *sqs.Client has it.
type attributeReader interface {
	GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, optFns ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
}

// Warm asks SQS for the queue's ARN (sqs:GetQueueAttributes), so that the
// client's first-use work and its connection to SQS are done before the
// first Publish instead of during it, and a queue that does not exist or
// cannot be reached shows at cold start. It sends nothing. With a client
// that cannot read attributes it does nothing.
func (p *Publisher) Warm(ctx context.Context) error {
	r, ok := p.sqs.(attributeReader)
	if !ok {
		return nil
	}
	_, err := r.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(p.url),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
	})
	if err != nil {
		return fmt.Errorf("queue: warm %s: %w", p.url, err)
	}
	return nil
}

// Publish sends the envelope and returns the SQS message id.
func (p *Publisher) Publish(ctx context.Context, e *envelope.Envelope) (string, error) {
	body, err := e.Marshal()
	if err != nil {
		return "", &Error{MessageID: e.ID, Err: err}
	}
	in := &sqs.SendMessageInput{
		QueueUrl:          aws.String(p.url),
		MessageBody:       aws.String(string(body)),
		MessageAttributes: Attributes(e.Attributes()),
	}
	if h := TraceHeader(ctx); h != "" {
		// SQS hands it to dispatch as the AWSTraceHeader system attribute,
		// which Lambda's event source mapping and X-Ray follow.
		in.MessageSystemAttributes = map[string]sqstypes.MessageSystemAttributeValue{
			AWSTraceHeader: {DataType: aws.String("String"), StringValue: aws.String(h)},
		}
	}
	out, err := p.sqs.SendMessage(ctx, in)
	if err != nil {
		return "", &Error{MessageID: e.ID, Err: err}
	}
	return aws.ToString(out.MessageId), nil
}

// AWSTraceHeader is the SQS message system attribute that carries an X-Ray
// trace header from the sender to the consumer.
const AWSTraceHeader = "AWSTraceHeader"

// lambdaTraceKey is the context key under which aws-lambda-go puts the
// invocation's X-Ray trace header ("Root=1-...;Parent=...;Sampled=1"); it is
// a plain string in that library, so it is one here.
const lambdaTraceKey = "x-amzn-trace-id"

// TraceHeader returns the invocation's X-Ray trace header from ctx, or "".
// No tracing SDK is needed: the Lambda runtime client puts the header there
// (and in _X_AMZN_TRACE_ID) for every invocation, traced or not.
func TraceHeader(ctx context.Context) string {
	h, _ := ctx.Value(lambdaTraceKey).(string)
	return h
}

// WithTraceHeader returns ctx carrying a trace header as aws-lambda-go
// carries it, for callers that invoke a handler outside Lambda (the local stack).
func WithTraceHeader(ctx context.Context, h string) context.Context {
	return context.WithValue(ctx, lambdaTraceKey, h) //nolint:staticcheck // the key aws-lambda-go uses
}

// Attributes converts string metadata to SQS message attributes.
func Attributes(m map[string]string) map[string]sqstypes.MessageAttributeValue {
	out := make(map[string]sqstypes.MessageAttributeValue, len(m))
	for k, v := range m {
		out[k] = sqstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
	}
	return out
}
