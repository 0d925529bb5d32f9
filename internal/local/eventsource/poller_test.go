package eventsource_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/cogmail/cogmail/internal/local/eventsource"
	"github.com/cogmail/cogmail/internal/local/sqslocal"
	"github.com/cogmail/cogmail/pkg/awsclient"
)

// clock is the local SQS endpoint's injected time, moved by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

// localQueue starts sqslocal on a fake clock with one queue and returns
// the client, the queue URL, the server and the clock.
func localQueue(t testing.TB, name string) (*sqs.Client, string, *sqslocal.Server, *clock) {
	t.Helper()
	clk := newClock()
	srv := sqslocal.New(sqslocal.Options{Now: clk.Now})
	t.Cleanup(func() { _ = srv.Close() })
	base, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := sqs.NewFromConfig(awsclient.Config("us-east-1", credentials.NewStaticCredentialsProvider("local", "local", "")),
		func(o *sqs.Options) { o.BaseEndpoint = aws.String(base) })
	out, err := c.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String(name),
		Attributes: map[string]string{"VisibilityTimeout": "30"}})
	if err != nil {
		t.Fatal(err)
	}
	return c, aws.ToString(out.QueueUrl), srv, clk
}

func sendBodies(t testing.TB, c *sqs.Client, url string, bodies ...string) {
	t.Helper()
	for _, b := range bodies {
		if _, err := c.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(b),
			MessageAttributes: map[string]sqstypes.MessageAttributeValue{"cogmail.trigger": {DataType: aws.String("String"), StringValue: aws.String("CustomEmailSender_SignUp")}}}); err != nil {
			t.Fatal(err)
		}
	}
}

func stats(srv *sqslocal.Server, name string) sqslocal.QueueStats {
	for _, s := range srv.Stats() {
		if s.Name == name {
			return s
		}
	}
	return sqslocal.QueueStats{}
}

// recorder is a BatchHandler that keeps the events and reports the records
// whose body starts with "fail", or answers as told.
type recorder struct {
	mu     sync.Mutex
	events []events.SQSEvent
	err    error
	bogus  bool // report a record that is not in the batch
}

func (r *recorder) handle(_ context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
	var resp events.SQSEventResponse
	for _, rec := range ev.Records {
		if strings.HasPrefix(rec.Body, "fail") {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
		}
	}
	if r.bogus {
		resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: "not-in-the-batch"})
	}
	return resp, r.err
}

func TestPollerPartialBatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		rec         *recorder
		wantDeleted int
		wantRetried int
	}{
		{"deletes what was not reported", &recorder{}, 5, 2},
		{"a handler error fails the whole batch", &recorder{err: errors.New("boom")}, 0, 7},
		{"an unknown id fails the whole batch", &recorder{bogus: true}, 0, 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, url, srv, clk := localQueue(t, "poll")
			sendBodies(t, c, url, "ok-1", "fail-1", "ok-2", "ok-3", "fail-2", "ok-4", "ok-5")
			p, err := eventsource.NewPoller(c, tt.rec.handle, eventsource.PollerOptions{QueueURL: url})
			if err != nil {
				t.Fatal(err)
			}
			res, err := p.Poll(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if res.Received != 7 || res.Deleted != tt.wantDeleted || res.Retried != tt.wantRetried {
				t.Fatalf("Poll = %+v, want 7 received, %d deleted, %d retried", res, tt.wantDeleted, tt.wantRetried)
			}
			if st := stats(srv, "poll"); st.InFlight != tt.wantRetried || st.Visible != 0 {
				t.Fatalf("queue %+v, want %d in flight", st, tt.wantRetried)
			}
			// After the visibility timeout the retried records come back,
			// received a second time.
			clk.Add(31 * time.Second)
			res, err = p.Poll(context.Background())
			if err != nil || res.Received != tt.wantRetried {
				t.Fatalf("second Poll = %+v, %v; want the %d retried records", res, err, tt.wantRetried)
			}
			last := tt.rec.events[len(tt.rec.events)-1]
			for _, r := range last.Records {
				if r.Attributes["ApproximateReceiveCount"] != "2" {
					t.Fatalf("ApproximateReceiveCount = %q on redelivery, want 2", r.Attributes["ApproximateReceiveCount"])
				}
			}
		})
	}
}

func TestPollerRecords(t *testing.T) {
	t.Parallel()
	c, url, _, _ := localQueue(t, "records")
	sendBodies(t, c, url, "hello")
	rec := &recorder{}
	p, err := eventsource.NewPoller(c, rec.handle, eventsource.PollerOptions{QueueURL: url})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	r := rec.events[0].Records[0]
	tests := []struct {
		name, got, want string
	}{
		{"body", r.Body, "hello"},
		{"event source", r.EventSource, "aws:sqs"},
		{"event source ARN", r.EventSourceARN, "arn:aws:sqs:us-east-1:000000000000:records"},
		{"region", r.AWSRegion, "us-east-1"},
		{"receive count", r.Attributes["ApproximateReceiveCount"], "1"},
		{"message attribute", aws.ToString(r.MessageAttributes["cogmail.trigger"].StringValue), "CustomEmailSender_SignUp"},
		{"attribute type", r.MessageAttributes["cogmail.trigger"].DataType, "String"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %q, want %q", tt.name, tt.got, tt.want)
		}
	}
	if r.MessageId == "" || r.ReceiptHandle == "" || r.Attributes["SentTimestamp"] == "" || r.Attributes["ApproximateFirstReceiveTimestamp"] == "" {
		t.Errorf("record lacks ids or timestamps: %+v", r)
	}
}

// fewAtATime is an SQS fake that hands out one message per receive.
type fewAtATime struct {
	mu       sync.Mutex
	left     int
	receives int
	deleted  int
}

func (f *fewAtATime) ReceiveMessage(_ context.Context, in *sqs.ReceiveMessageInput, _ ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.receives++
	if f.left == 0 || in.MaxNumberOfMessages < 1 {
		return &sqs.ReceiveMessageOutput{}, nil
	}
	f.left--
	id := fmt.Sprint("m", f.left)
	return &sqs.ReceiveMessageOutput{Messages: []sqstypes.Message{{MessageId: aws.String(id), ReceiptHandle: aws.String("h" + id), Body: aws.String("x")}}}, nil
}

func (f *fewAtATime) DeleteMessageBatch(_ context.Context, in *sqs.DeleteMessageBatchInput, _ ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deleted += len(in.Entries)
	out := &sqs.DeleteMessageBatchOutput{}
	for _, e := range in.Entries {
		out.Successful = append(out.Successful, sqstypes.DeleteMessageBatchResultEntry{Id: e.Id})
	}
	return out, nil
}

func (f *fewAtATime) GetQueueAttributes(context.Context, *sqs.GetQueueAttributesInput, ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error) {
	return nil, errors.New("not asked when QueueARN is given")
}

func TestPollerBatchWindow(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		window    time.Duration
		batchSize int
		want      []int // records per event
	}{
		{"without a window, what one receive returns", 0, 2, []int{1, 1, 1, 1}},
		{"a window gathers up to the batch size", time.Hour, 2, []int{2, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := &fewAtATime{left: 4}
			rec := &recorder{}
			p, err := eventsource.NewPoller(fake, rec.handle, eventsource.PollerOptions{QueueURL: "https://sqs.us-east-1.amazonaws.com/1/q",
				QueueARN: "arn:aws:sqs:us-east-1:1:q", BatchSize: tt.batchSize, BatchWindow: tt.window})
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for fake.left > 0 {
				res, err := p.Poll(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, res.Received)
			}
			if !slices.Equal(got, tt.want) || fake.deleted != 4 {
				t.Fatalf("events of %v records, %d deleted; want %v, 4 deleted", got, fake.deleted, tt.want)
			}
		})
	}
}

func TestNewPollerChecks(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	tests := []struct {
		name string
		c    eventsource.Receiver
		o    eventsource.PollerOptions
	}{
		{"no client", nil, eventsource.PollerOptions{QueueURL: "u"}},
		{"no queue", &fewAtATime{}, eventsource.PollerOptions{}},
		{"batch over 10", &fewAtATime{}, eventsource.PollerOptions{QueueURL: "u", BatchSize: 11}},
		{"wait over 20s", &fewAtATime{}, eventsource.PollerOptions{QueueURL: "u", WaitTime: time.Minute}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := eventsource.NewPoller(tt.c, rec.handle, tt.o); err == nil {
				t.Fatal("NewPoller accepted it")
			}
		})
	}
}
