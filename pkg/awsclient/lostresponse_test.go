package awsclient_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/cogmail/cogmail/internal/local/sqslocal"
	"github.com/cogmail/cogmail/internal/testkit/lostresponse"
	"github.com/cogmail/cogmail/pkg/awsclient"
)

// The regression tests for the lost-response bug that HTTPClient works
// around (docs/upstream/smithy-go-writeto-eof.md): many concurrent
// ReceiveMessage calls against the local SQS endpoint on loopback, each of
// which must reach the server exactly once, and no message may end up in
// flight without a caller having received it.

// countingHandler counts the requests the server sees, per SQS operation.
type countingHandler struct {
	next http.Handler
	mu   sync.Mutex
	seen map[string]int
}

func (h *countingHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "AmazonSQS.")
	h.mu.Lock()
	h.seen[op]++
	h.mu.Unlock()
	h.next.ServeHTTP(w, r)
}

func (h *countingHandler) count(op string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.seen[op]
}

type receiveRun struct {
	workers, callsEach int
	body               int // bytes per message; with 10 a response outgrows the transport's 4 KiB read buffer
	// receiver builds the client under test from the fixed configuration.
	receiver func(cfg aws.Config, url string) *sqs.Client
}

func TestNoReceiveIsRetriedOnLoopback(t *testing.T) {
	t.Parallel()
	runReceives(t, receiveRun{workers: 16, callsEach: 40, body: 1000,
		receiver: func(cfg aws.Config, url string) *sqs.Client {
			return sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = aws.String(url) })
		}})
}

// The same, with every attempt forced into the interleaving that loses the
// response (internal/testkit/lostresponse): this fails on every call without the
// workaround (each call is tried three times and gives up with "use of
// closed network connection", hiding 30 messages).
func TestNoReceiveIsRetriedWhenTheSDKClosesTheBodyFirst(t *testing.T) {
	t.Parallel()
	runReceives(t, receiveRun{workers: 8, callsEach: 10, body: 1000,
		receiver: func(cfg aws.Config, url string) *sqs.Client {
			return sqs.NewFromConfig(lostresponse.Apply(cfg), func(o *sqs.Options) { o.BaseEndpoint = aws.String(url) })
		}})
}

func runReceives(t *testing.T, r receiveRun) {
	srv := sqslocal.New(sqslocal.Options{})
	t.Cleanup(func() { _ = srv.Close() })
	counter := &countingHandler{next: srv, seen: map[string]int{}}
	url := listen(t, &http.Server{Handler: counter})

	cfg := awsclient.Config("us-east-1", credentials.NewStaticCredentialsProvider("local", "local", ""))
	setup := sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = aws.String(url) })
	ctx := context.Background()
	q, err := setup.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("receives")})
	if err != nil {
		t.Fatal(err)
	}
	total := r.workers * r.callsEach * 10
	body := strings.Repeat("b", r.body)
	for i := 0; i < total; i += 10 {
		entries := make([]types.SendMessageBatchRequestEntry, 10)
		for j := range entries {
			entries[j] = types.SendMessageBatchRequestEntry{Id: aws.String(fmt.Sprint(j)), MessageBody: aws.String(fmt.Sprint(i+j, body))}
		}
		if _, err := setup.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: q.QueueUrl, Entries: entries}); err != nil {
			t.Fatal(err)
		}
	}
	sent := counter.count("SendMessageBatch")
	if sent != total/10 {
		t.Fatalf("%d SendMessageBatch calls reached the server as %d requests", total/10, sent)
	}

	client := r.receiver(cfg, url)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		received = map[string]int{}
		failed   []error
	)
	for range r.workers {
		wg.Go(func() {
			for range r.callsEach {
				out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 3600})
				mu.Lock()
				if err != nil {
					failed = append(failed, err)
				}
				if out != nil {
					for _, m := range out.Messages {
						received[aws.ToString(m.MessageId)]++
					}
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()

	calls := r.workers * r.callsEach
	if seen := counter.count("ReceiveMessage"); seen != calls {
		t.Errorf("%d ReceiveMessage calls reached the server as %d requests: %d retried", calls, seen, seen-calls)
	}
	if len(failed) > 0 {
		t.Errorf("%d of %d calls failed; the first: %v", len(failed), calls, failed[0])
	}
	for id, n := range received {
		if n > 1 {
			t.Errorf("message %s received %d times within its visibility timeout", id, n)
		}
	}
	for _, st := range srv.Stats() {
		if st.InFlight != len(received) {
			t.Errorf("%d messages in flight, %d received by a caller: %d hidden by lost answers", st.InFlight, len(received), st.InFlight-len(received))
		}
	}
}
