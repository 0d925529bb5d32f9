package eventsource

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Receiver is the part of the SQS client a Poller needs; *sqs.Client
// satisfies it.
type Receiver interface {
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, optFns ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessageBatch(ctx context.Context, in *sqs.DeleteMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error)
	GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, optFns ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
}

// BatchHandler handles one SQS event the way a Lambda function with
// ReportBatchItemFailures does; (*Handler).Handle is one.
type BatchHandler func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error)

// PollerOptions configures a Poller. Zero values mean the defaults.
type PollerOptions struct {
	QueueURL string // required
	// QueueARN is the records' eventSourceARN; default the queue's QueueArn.
	QueueARN string
	// BatchSize is the most records per event, 1 to 10 (default 10).
	BatchSize int
	// BatchWindow gathers records for up to this long before calling the
	// handler with fewer than BatchSize (Lambda's MaximumBatchingWindowInSeconds);
	// default 0: call it with what one receive returned.
	BatchWindow time.Duration
	// WaitTime is the long poll of each receive, at most 20s (default 1s).
	WaitTime time.Duration
	// VisibilityTimeout of received messages; default the queue's.
	VisibilityTimeout time.Duration
	// FunctionTimeout is the handler's deadline, as a Lambda function's
	// timeout (default 30s).
	FunctionTimeout time.Duration
	Logger          *slog.Logger // default discards
}

// Poller plays Lambda's SQS event source mapping for a local stack and
// tests: it receives batches, hands them to a handler as an events.SQSEvent
// (with the system attributes, ApproximateReceiveCount included, and the
// message attributes), and deletes every record the handler did not report
// in BatchItemFailures. As with Lambda, a handler error, or a response
// naming a record that was not in the batch, fails the whole batch: nothing
// is deleted and every record comes back after its visibility timeout.
type Poller struct {
	sqs    Receiver
	handle BatchHandler
	o      PollerOptions

	mu     sync.Mutex // guards arn and region, read once from the queue
	arn    string
	region string
}

// PollResult counts what one Poll did.
type PollResult struct {
	Received int // records handed to the handler
	Deleted  int // records deleted from the queue
	Retried  int // records left for redelivery
}

// NewPoller checks the options and returns a Poller.
func NewPoller(c Receiver, h BatchHandler, o PollerOptions) (*Poller, error) {
	if c == nil || h == nil || o.QueueURL == "" {
		return nil, errors.New("dispatch: a Poller needs an SQS client, a handler and a queue URL")
	}
	if o.BatchSize < 0 || o.BatchSize > 10 {
		return nil, fmt.Errorf("dispatch: BatchSize %d is not between 1 and 10", o.BatchSize)
	}
	if o.WaitTime > 20*time.Second {
		return nil, errors.New("dispatch: WaitTime is over SQS's 20s")
	}
	if o.BatchSize == 0 {
		o.BatchSize = 10
	}
	if o.WaitTime == 0 {
		o.WaitTime = time.Second
	}
	if o.FunctionTimeout <= 0 {
		o.FunctionTimeout = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	p := &Poller{sqs: c, handle: h, o: o, arn: o.QueueARN}
	p.region = regionOf(o.QueueARN)
	return p, nil
}

// Run polls until ctx ends. Receive errors are logged and retried after a
// second; the handler's failures are the records' own business.
func (p *Poller) Run(ctx context.Context) error {
	for ctx.Err() == nil {
		if _, err := p.Poll(ctx); err != nil && ctx.Err() == nil {
			p.o.Logger.WarnContext(ctx, "poll failed", "error", err.Error())
			select { // back off a second before the next receive
			case <-time.After(time.Second):
			case <-ctx.Done():
			}
		}
	}
	return ctx.Err()
}

// Poll receives one batch (waiting up to WaitTime, and gathering for up to
// BatchWindow), calls the handler, and deletes the records it did not
// report. It returns a zero result when the queue had nothing.
func (p *Poller) Poll(ctx context.Context) (PollResult, error) {
	arn, region, err := p.source(ctx)
	if err != nil {
		return PollResult{}, err
	}
	msgs, err := p.receive(ctx)
	if err != nil || len(msgs) == 0 {
		return PollResult{}, err
	}
	ev := events.SQSEvent{Records: make([]events.SQSMessage, len(msgs))}
	for i, m := range msgs {
		ev.Records[i] = record(m, arn, region)
	}
	hctx, cancel := context.WithTimeout(ctx, p.o.FunctionTimeout)
	resp, herr := p.handle(hctx, ev)
	cancel()
	res := PollResult{Received: len(msgs)}
	failed, ok := failures(ev, resp)
	if herr != nil || !ok {
		if herr == nil {
			herr = errors.New("the response names a record that is not in the batch")
		}
		p.o.Logger.WarnContext(ctx, "batch failed as a whole; every record will be redelivered", "error", herr.Error(), "records", len(msgs))
		res.Retried = len(msgs)
		return res, nil
	}
	var entries []sqstypes.DeleteMessageBatchRequestEntry
	for i, m := range msgs {
		if failed[aws.ToString(m.MessageId)] {
			res.Retried++
			continue
		}
		entries = append(entries, sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle})
	}
	if len(entries) == 0 {
		return res, nil
	}
	out, err := p.sqs.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(p.o.QueueURL), Entries: entries})
	if err != nil {
		return res, fmt.Errorf("dispatch: delete handled records: %w", err)
	}
	res.Deleted = len(out.Successful)
	if len(out.Failed) > 0 {
		p.o.Logger.WarnContext(ctx, "some handled records were not deleted; they will be redelivered", "failed", len(out.Failed))
	}
	return res, nil
}

func (p *Poller) receive(ctx context.Context) ([]sqstypes.Message, error) {
	var msgs []sqstypes.Message
	windowEnd := time.Now().Add(p.o.BatchWindow)
	wait := p.o.WaitTime
	for {
		in := &sqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(p.o.QueueURL),
			MaxNumberOfMessages:         int32(p.o.BatchSize - len(msgs)),
			WaitTimeSeconds:             int32(max(wait.Round(time.Second), 0) / time.Second),
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
			MessageAttributeNames:       []string{"All"},
		}
		if p.o.VisibilityTimeout > 0 {
			in.VisibilityTimeout = int32(p.o.VisibilityTimeout / time.Second)
		}
		out, err := p.sqs.ReceiveMessage(ctx, in)
		if err != nil {
			if len(msgs) > 0 {
				return msgs, nil // hand over what we have; they are in flight already
			}
			return nil, fmt.Errorf("dispatch: receive: %w", err)
		}
		msgs = append(msgs, out.Messages...)
		left := time.Until(windowEnd)
		if len(msgs) >= p.o.BatchSize || left <= 0 || (len(msgs) == 0 && p.o.BatchWindow == 0) {
			return msgs, nil
		}
		// Within the window, long-poll for the rest but no longer than it.
		wait = min(left, 20*time.Second)
		if len(out.Messages) == 0 && wait < time.Second {
			return msgs, nil
		}
	}
}

// source returns the records' eventSourceARN and awsRegion, reading the
// queue's ARN once when it was not given.
func (p *Poller) source(ctx context.Context) (arn, region string, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.arn != "" {
		return p.arn, p.region, nil
	}
	out, err := p.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(p.o.QueueURL),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
	})
	if err != nil {
		return "", "", fmt.Errorf("dispatch: read the queue's ARN: %w", err)
	}
	p.arn = out.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]
	p.region = regionOf(p.arn)
	return p.arn, p.region, nil
}

func regionOf(arn string) string {
	if parts := strings.Split(arn, ":"); len(parts) == 6 {
		return parts[3]
	}
	return ""
}

// record converts a received message to the record Lambda would pass.
func record(m sqstypes.Message, arn, region string) events.SQSMessage {
	r := events.SQSMessage{
		MessageId:              aws.ToString(m.MessageId),
		ReceiptHandle:          aws.ToString(m.ReceiptHandle),
		Body:                   aws.ToString(m.Body),
		Md5OfBody:              aws.ToString(m.MD5OfBody),
		Md5OfMessageAttributes: aws.ToString(m.MD5OfMessageAttributes),
		Attributes:             m.Attributes,
		EventSourceARN:         arn,
		EventSource:            "aws:sqs",
		AWSRegion:              region,
	}
	if len(m.MessageAttributes) > 0 {
		r.MessageAttributes = make(map[string]events.SQSMessageAttribute, len(m.MessageAttributes))
		for k, v := range m.MessageAttributes {
			r.MessageAttributes[k] = events.SQSMessageAttribute{
				DataType:    aws.ToString(v.DataType),
				StringValue: v.StringValue,
				BinaryValue: v.BinaryValue,
			}
		}
	}
	return r
}

// failures returns the reported record ids; ok is false when the response
// names one that is not in the batch (Lambda then fails the whole batch).
func failures(ev events.SQSEvent, resp events.SQSEventResponse) (map[string]bool, bool) {
	in := make(map[string]bool, len(ev.Records))
	for _, r := range ev.Records {
		in[r.MessageId] = true
	}
	out := map[string]bool{}
	for _, f := range resp.BatchItemFailures {
		if !in[f.ItemIdentifier] {
			return nil, false
		}
		out[f.ItemIdentifier] = true
	}
	return out, true
}
