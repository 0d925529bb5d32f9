// Package dlqtest fills a dead-letter queue with messages shaped as
// cogmail's dispatch and SQS's own redrive leave them, their payloads sealed
// around secrets that no output of the DLQ tools may show. It serves the
// tests of internal/ops/dlq and of the `cogmail dlq` command.
package dlqtest

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/cogmail/cogmail/internal/local/sqslocal"
	"github.com/cogmail/cogmail/internal/testkit/fakekms"
	"github.com/cogmail/cogmail/internal/testkit/motoserver"
	"github.com/cogmail/cogmail/pkg/awsclient"
	"github.com/cogmail/cogmail/pkg/cognito"
	"github.com/cogmail/cogmail/pkg/envelope"
	"github.com/cogmail/cogmail/pkg/queue"
	"github.com/cogmail/cogmail/pkg/seal"
)

// The secrets sealed into every payload (the address is also the user name
// of messages with EmailUser set). No output may contain them.
const (
	SecretCode    = "493817"
	SecretAddress = "ana.secret@example.com"
)

// Secrets lists what must never be printed.
var Secrets = []string{SecretCode, SecretAddress}

// Pool is the user pool of every message.
const Pool = "us-east-1_DLQtest"

// Message describes one message to put in the DLQ.
type Message struct {
	User       string          // user name (default: a unique name; SecretAddress when EmailUser)
	EmailUser  bool            // the pool uses the email address as the user name
	Trigger    cognito.Trigger // default SignUp
	Reason     string          // dispatch's cogmail.reason; "" makes SQS's redrive move it
	Detail     string          // cogmail.error
	LastErrors map[string]string
	Attempts   int
	Age        time.Duration // CreatedAt is Now less Age
	ExpiresIn  time.Duration // ExpiresAt is Now plus ExpiresIn (default 24h; negative: expired)
	Malformed  bool          // a body that is not an envelope (dispatch's "malformed")
}

// Fixture is a DLQ and its source queue on one endpoint.
type Fixture struct {
	Client *sqs.Client
	DLQ    string // URL
	Source string // URL; its RedrivePolicy names DLQ with maxReceiveCount 1
	Now    time.Time

	sealer *seal.Sealer
}

var seq atomic.Int64

// SQSLocal starts an sqslocal server on 127.0.0.1 for the test and returns
// a real SQS client for it, and its URL.
func SQSLocal(t testing.TB) (*sqs.Client, string) {
	t.Helper()
	srv := sqslocal.New(sqslocal.Options{})
	url, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	cfg := awsclient.Config("us-east-1", credentials.NewStaticCredentialsProvider("local", "local", ""))
	return sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = aws.String(url) }), url
}

// Moto returns a real SQS client for the package's shared moto_server
// (skipped where moto_server is missing, except under CI), and its URL.
func Moto(t testing.TB) (*sqs.Client, string) {
	t.Helper()
	url := motoserver.Shared(t)
	return sqs.NewFromConfig(motoserver.Config(), func(o *sqs.Options) { o.BaseEndpoint = aws.String(url) }), url
}

// New creates a DLQ and a source queue with unique names.
func New(t testing.TB, c *sqs.Client, now time.Time) *Fixture {
	t.Helper()
	ctx := context.Background()
	name := fmt.Sprintf("dlqtest-%d-%d", time.Now().UnixNano()%1e9, seq.Add(1))
	dlq, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name + "-dlq")})
	if err != nil {
		t.Fatal(err)
	}
	a, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: dlq.QueueUrl,
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatal(err)
	}
	src, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: map[string]string{
		"RedrivePolicy": fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":1}`, a.Attributes["QueueArn"]),
	}})
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := seal.NewSealer(seal.Options{KMS: fakekms.New(), KeyID: "alias/cogmail"})
	if err != nil {
		t.Fatal(err)
	}
	return &Fixture{Client: c, DLQ: aws.ToString(dlq.QueueUrl), Source: aws.ToString(src.QueueUrl), Now: now, sealer: sealer}
}

// Add puts m in the DLQ and returns its cogmail message id: sent there with
// dispatch's attributes when m.Reason is set, else moved there by SQS's
// redrive after one delivery from the source queue.
func (f *Fixture) Add(t testing.TB, m Message) string {
	t.Helper()
	ctx := context.Background()
	if m.Trigger == "" {
		m.Trigger = cognito.SignUp
	}
	if m.ExpiresIn == 0 {
		m.ExpiresIn = 24 * time.Hour
	}
	switch {
	case m.EmailUser:
		m.User = SecretAddress
	case m.User == "":
		m.User = "user-" + strconv.FormatInt(seq.Add(1), 10)
	}
	env := &envelope.Envelope{
		Version: envelope.SchemaVersion, ID: envelope.NewID(), DedupKey: envelope.NewID(),
		Trigger: m.Trigger, Pool: Pool, UserName: m.User, Locale: "en",
		CreatedAt: f.Now.Add(-m.Age).UTC(), ExpiresAt: f.Now.Add(m.ExpiresIn).UTC(),
	}
	payload, _ := json.Marshal(envelope.Payload{To: SecretAddress, Subject: "Your code is " + SecretCode,
		Text: "Your code is " + SecretCode, HTML: "<p>Your code is <b>" + SecretCode + "</b></p>"})
	sealed, err := f.sealer.Seal(ctx, env.ID, payload)
	if err != nil {
		t.Fatal(err)
	}
	env.Sealed = sealed
	b, err := env.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	body := string(b)
	attrs := queue.Attributes(env.Attributes())
	if m.Malformed {
		body = `{"v":1,"id":"` + env.ID + `","note":"truncated`
	}
	if m.Reason == "" {
		f.redrive(t, body, attrs)
		return env.ID
	}
	str := func(name, v string) {
		if v != "" {
			attrs[name] = sqstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
		}
	}
	// dispatch keeps at most 10 attributes: its own first, then the
	// envelope's in its priority order.
	delete(attrs, envelope.AttrSchema)
	delete(attrs, envelope.AttrDedupKey)
	str("cogmail.reason", m.Reason)
	str("cogmail.error", m.Detail)
	if m.Attempts > 0 {
		attrs["cogmail.attempts"] = sqstypes.MessageAttributeValue{DataType: aws.String("Number"), StringValue: aws.String(strconv.Itoa(m.Attempts))}
		str("cogmail.firstAttempt", f.Now.Add(-m.Age).UTC().Format(time.RFC3339Nano))
		str("cogmail.lastAttempt", f.Now.Add(-m.Age/2).UTC().Format(time.RFC3339Nano))
	}
	for p, e := range m.LastErrors {
		str("cogmail.lastError."+p, e)
	}
	if len(attrs) > 10 {
		delete(attrs, envelope.AttrPool)
	}
	if len(attrs) > 10 {
		t.Fatalf("dlqtest: %d attributes; SQS takes 10", len(attrs))
	}
	if _, err := f.Client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(f.DLQ), MessageBody: aws.String(body), MessageAttributes: attrs}); err != nil {
		t.Fatal(err)
	}
	return env.ID
}

// redrive sends the message to the source queue and receives it until SQS
// moves it to the DLQ (maxReceiveCount 1: the second receive moves it).
func (f *Fixture) redrive(t testing.TB, body string, attrs map[string]sqstypes.MessageAttributeValue) {
	t.Helper()
	ctx := context.Background()
	if _, err := f.Client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(f.Source), MessageBody: aws.String(body), MessageAttributes: attrs}); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		out, err := f.Client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(f.Source), MaxNumberOfMessages: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			return
		}
		// (A zero VisibilityTimeout is not sent by ReceiveMessage: give it back here.)
		for _, m := range out.Messages {
			if _, err := f.Client.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(f.Source),
				ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0}); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Fatal("SQS did not redrive the message to the DLQ")
}

// Received is a message read back from a queue.
type Received struct {
	Envelope   *envelope.Envelope // nil when the body is not one
	Attributes map[string]string
}

// Drain receives and deletes every visible message of the queue at url.
func (f *Fixture) Drain(t testing.TB, url string) []Received {
	t.Helper()
	ctx := context.Background()
	var out []Received
	// sqslocal and moto count exactly: no long poll needed to know the
	// queue is empty. Messages a replay has just released may still count
	// as in flight for a moment on a loaded emulator: wait for them, briefly.
	settle := time.Now().Add(3 * time.Second)
	for {
		v, inFlight := f.Count(t, url)
		if v == 0 && inFlight > 0 && time.Now().Before(settle) {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		if v == 0 {
			return out
		}
		r, err := f.Client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10,
			VisibilityTimeout: 60, MessageAttributeNames: []string{"All"}})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range r.Messages {
			rec := Received{Attributes: map[string]string{}}
			rec.Envelope, _ = envelope.Parse([]byte(aws.ToString(m.Body)))
			for k, v := range m.MessageAttributes {
				rec.Attributes[k] = aws.ToString(v.StringValue)
			}
			out = append(out, rec)
			if _, err := f.Client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// IDs is the cogmail ids of received messages (from the attributes when the
// body is not an envelope).
func IDs(rs []Received) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Attributes[envelope.AttrMessageID]
		if r.Envelope != nil {
			out[i] = r.Envelope.ID
		}
	}
	return out
}

// Count is the number of messages in the queue at url, visible or not.
func (f *Fixture) Count(t testing.TB, url string) (visible, inFlight int) {
	t.Helper()
	a, err := f.Client.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
	if err != nil {
		t.Fatal(err)
	}
	visible, _ = strconv.Atoi(a.Attributes["ApproximateNumberOfMessages"])
	inFlight, _ = strconv.Atoi(a.Attributes["ApproximateNumberOfMessagesNotVisible"])
	return visible, inFlight
}

// CheckNoSecrets fails the test if out contains a secret.
func CheckNoSecrets(t testing.TB, what, out string) {
	t.Helper()
	for _, s := range Secrets {
		if strings.Contains(out, s) {
			t.Errorf("%s shows the secret %q:\n%s", what, s, out)
		}
	}
}
