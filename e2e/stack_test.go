package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/cogmail/cogmail/functions/dispatch/dispatchwire"
	"github.com/cogmail/cogmail/functions/ingest/ingestwire"
	"github.com/cogmail/cogmail/internal/local/eventsource"
	"github.com/cogmail/cogmail/internal/local/kmslocal"
	"github.com/cogmail/cogmail/internal/local/sqslocal"
	"github.com/cogmail/cogmail/internal/testkit/fixtures"
	"github.com/cogmail/cogmail/pkg/awsclient"
	"github.com/cogmail/cogmail/pkg/config"
	"github.com/cogmail/cogmail/pkg/dispatch"
	"github.com/cogmail/cogmail/pkg/envelope"
	"github.com/cogmail/cogmail/pkg/ingest"
	"github.com/cogmail/cogmail/pkg/metrics"
	"github.com/cogmail/cogmail/pkg/provider/mailgun"
	"github.com/cogmail/cogmail/pkg/provider/mailgun/mailgunfake"
	"github.com/cogmail/cogmail/pkg/provider/sendgrid"
	"github.com/cogmail/cogmail/pkg/provider/sendgrid/sendgridfake"
	"github.com/cogmail/cogmail/pkg/provider/ses"
	"github.com/cogmail/cogmail/pkg/provider/ses/sesfake"
	"github.com/cogmail/cogmail/pkg/provider/smtp"
	"github.com/cogmail/cogmail/pkg/provider/smtp/smtpfake"
)

// Credentials of the fakes.
const (
	sendgridKey   = "SG.e2e-sendgrid-key"
	mailgunKey    = "key-e2e-mailgun"
	mailgunDomain = "mg.example.com"
	senderEmail   = "no-reply@example.com"
)

// syncBuffer collects a function's output (logs or EMF) from many goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// stack is the local pipeline: local-kms (seeded with the shared events'
// key), sqslocal with the queue and its DLQ, both ingest keyrings, and the
// four provider fakes. Everything listens on 127.0.0.1 and stops at cleanup.
type stack struct {
	t        testing.TB
	events   *fixtures.Events
	kms      *kms.Client
	sqsSrv   *sqslocal.Server
	sqs      *sqs.Client
	queueURL string
	dlqURL   string
	aws      aws.Config

	sg   *sendgridfake.Server
	mg   *mailgunfake.Server
	ses  *sesfake.Server
	smtp *smtpfake.Server

	// What each function wrote: slog JSON and EMF lines.
	ingestLogs, dispatchLogs, ingestEMF, dispatchEMF *syncBuffer
}

const queueName, dlqName = "cogmail", "cogmail-dlq"

func newStack(t testing.TB, maxReceiveCount int) *stack {
	t.Helper()
	s := &stack{t: t, events: fixtures.MustLoadEvents(),
		ingestLogs: &syncBuffer{}, dispatchLogs: &syncBuffer{}, ingestEMF: &syncBuffer{}, dispatchEMF: &syncBuffer{}}
	ks, err := kmslocal.Start(kmslocal.Options{Seed: fixtures.KMSSeed()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ks.Close() })
	s.kms = ks.Client()

	s.sqsSrv = sqslocal.New(sqslocal.Options{})
	t.Cleanup(func() { _ = s.sqsSrv.Close() })
	base, err := s.sqsSrv.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.aws = awsclient.Config("us-east-1", credentials.NewStaticCredentialsProvider("AKIDE2E", "e2e-secret", ""))
	s.sqs = sqs.NewFromConfig(s.aws, func(o *sqs.Options) { o.BaseEndpoint = aws.String(base) })
	ctx := context.Background()
	dlq, err := s.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(dlqName)})
	if err != nil {
		t.Fatal(err)
	}
	s.dlqURL = aws.ToString(dlq.QueueUrl)
	q, err := s.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(queueName), Attributes: map[string]string{
		"VisibilityTimeout": "30",
		"RedrivePolicy": fmt.Sprintf(`{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:%s:%s","maxReceiveCount":%d}`,
			sqslocal.DefaultAccountID, dlqName, maxReceiveCount),
	}})
	if err != nil {
		t.Fatal(err)
	}
	s.queueURL = aws.ToString(q.QueueUrl)

	s.sg = sendgridfake.New(sendgridfake.Options{APIKey: sendgridKey})
	s.mg = mailgunfake.New(mailgunfake.Options{APIKey: mailgunKey, Domain: mailgunDomain})
	creds, _ := s.aws.Credentials.Retrieve(ctx)
	s.ses = sesfake.New(sesfake.Options{Credentials: &creds})
	s.smtp = smtpfake.New(smtpfake.Options{})
	t.Cleanup(func() { s.sg.Close(); s.mg.Close(); s.ses.Close(); s.smtp.Close() })
	return s
}

// ingest builds the ingest handler for a keyring ("raw-aes" or "kms"),
// sealing with the shared events' KMS key, as the Lambda would from its
// environment.
func (s *stack) ingest(keyring string) *ingest.Handler {
	s.t.Helper()
	e := map[string]string{
		"COGMAIL_QUEUE_URL":   s.queueURL,
		"COGMAIL_KEYRING":     keyring,
		"COGMAIL_SEAL_KEY_ID": s.events.KMSKeyARN,
	}
	if keyring == "kms" {
		e["COGMAIL_KMS_KEY_ARN"] = s.events.KMSKeyARN
	} else {
		e["COGMAIL_AES_KEY_HEX"] = s.events.AESKeyHex
		e["COGMAIL_AES_KEY_NAMESPACE"] = s.events.KeyNamespace
		e["COGMAIL_AES_KEY_NAME"] = s.events.KeyName
	}
	cfg, err := config.LoadIngest(func(k string) string { return e[k] })
	if err != nil {
		s.t.Fatal(err)
	}
	h, err := ingestwire.Build(context.Background(), cfg, ingestwire.Clients{KMS: s.kms, SQS: s.sqs},
		slog.New(slog.NewJSONHandler(s.ingestLogs, nil)), metrics.New(s.ingestEMF, "ingest", nil))
	if err != nil {
		s.t.Fatal(err)
	}
	return h
}

// dispatchEnv is the dispatch function's environment for this stack.
func (s *stack) dispatchEnv(providers string, extra map[string]string) map[string]string {
	e := map[string]string{
		"COGMAIL_PROVIDERS":         providers,
		"COGMAIL_SENDER_EMAIL":      senderEmail,
		"COGMAIL_SENDER_NAME":       "Example",
		"COGMAIL_DLQ_URL":           s.dlqURL,
		"COGMAIL_QUEUE_URL":         s.queueURL,
		"COGMAIL_SENDGRID_API_KEY":  sendgridKey,
		"COGMAIL_SENDGRID_BASE_URL": s.sg.URL(),
		"COGMAIL_MAILGUN_API_KEY":   mailgunKey,
		"COGMAIL_MAILGUN_DOMAIN":    mailgunDomain,
		"COGMAIL_MAILGUN_BASE_URL":  s.mg.URL(),
		"COGMAIL_SES_ENDPOINT":      s.ses.URL(),
		"COGMAIL_SMTP_HOST":         s.smtp.Host(),
		"COGMAIL_SMTP_PORT":         strconv.Itoa(s.smtp.Port()),
		"COGMAIL_SMTP_TLS":          "none",
	}
	maps.Copy(e, extra)
	return e
}

// dispatcher builds a dispatch handler (one warm container) the way
// functions/dispatch does, from an environment.
func (s *stack) dispatcher(env map[string]string) *dispatch.Handler {
	s.t.Helper()
	cfg, err := config.LoadDispatch(func(k string) string { return env[k] })
	if err != nil {
		s.t.Fatal(err)
	}
	h, err := dispatchwire.Build(context.Background(), cfg, dispatchwire.Clients{AWS: s.aws, SQS: s.sqs, KMS: s.kms},
		slog.New(slog.NewJSONHandler(s.dispatchLogs, nil)), metrics.New(s.dispatchEMF, "dispatch", nil))
	if err != nil {
		s.t.Fatal(err)
	}
	return h
}

// senders builds the four providers against the fakes, for tests that wrap
// them; timeout bounds each call.
func (s *stack) senders(timeout time.Duration) []dispatch.Sender {
	s.t.Helper()
	sg, err1 := sendgrid.New(sendgrid.Config{APIKey: sendgridKey, BaseURL: s.sg.URL(), Timeout: timeout})
	mg, err2 := mailgun.New(mailgun.Config{APIKey: mailgunKey, Domain: mailgunDomain, BaseURL: s.mg.URL(), Timeout: timeout})
	sesP, err3 := ses.New(ses.Config{AWS: s.aws, Endpoint: s.ses.URL(), Timeout: timeout})
	sm, err4 := smtp.New(smtp.Config{Host: s.smtp.Host(), Port: s.smtp.Port(), TLS: smtp.NoTLS, Timeout: timeout})
	for _, err := range []error{err1, err2, err3, err4} {
		if err != nil {
			s.t.Fatal(err)
		}
	}
	return []dispatch.Sender{sg, mg, sesP, sm}
}

// queued reports how many messages the source queue still holds.
func (s *stack) queued() int {
	for _, st := range s.sqsSrv.Stats() {
		if st.Name == queueName {
			return st.Visible + st.InFlight + st.Delayed
		}
	}
	s.t.Fatalf("no queue %s", queueName)
	return 0
}

// drain runs pollers (each a warm container's event source mapping) until
// the source queue is empty.
func (s *stack) drain(handlers ...*dispatch.Handler) {
	s.t.Helper()
	s.drainUntil(func() bool { return s.queued() == 0 }, handlers...)
}

// drainUntil runs pollers until done reports true (checked every few
// milliseconds), then stops them and returns when done was first seen. The
// timeout only guards against a hang.
//
// The pollers stop between polls, never in the middle of one: a receive
// abandoned during its long poll is still waiting on the server (SQS too
// cannot know the client left), takes the next messages sent, and answers
// a closed connection; those messages then stay hidden for the queue's
// visibility timeout. That was the pipeline benchmark's 30 s stall: the
// next iteration's first messages went to the previous iteration's
// cancelled long polls.
func (s *stack) drainUntil(done func() bool, handlers ...*dispatch.Handler) time.Time {
	s.t.Helper()
	guard, cancelGuard := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancelGuard()
	var stopping atomic.Bool
	var wg sync.WaitGroup
	for _, h := range handlers {
		p, err := eventsource.NewPoller(s.sqs, h.Handle, eventsource.PollerOptions{QueueURL: s.queueURL, BatchSize: 10, WaitTime: time.Second})
		if err != nil {
			s.t.Fatal(err)
		}
		wg.Go(func() {
			for !stopping.Load() && guard.Err() == nil {
				if _, err := p.Poll(guard); err != nil && guard.Err() == nil {
					s.t.Errorf("poll: %v", err)
					return
				}
			}
		})
	}
	for guard.Err() == nil && !done() {
		time.Sleep(5 * time.Millisecond)
	}
	doneAt := time.Now()
	stopping.Store(true)
	wg.Wait()
	if guard.Err() != nil {
		s.t.Fatalf("the pipeline did not drain: %d messages still queued", s.queued())
	}
	return doneAt
}

// delivery is a message some fake provider accepted, whichever it was.
type delivery struct {
	Provider, ID, To, Subject, Text, HTML string
}

func (s *stack) deliveries() []delivery {
	var out []delivery
	for _, m := range s.sg.Messages() {
		out = append(out, delivery{"sendgrid", m.CustomArgs[sendgrid.MessageIDArg], m.To, m.Subject, m.Text, m.HTML})
	}
	for _, m := range s.mg.Messages() {
		out = append(out, delivery{"mailgun", m.Variables[mailgun.MessageIDVariable], m.To, m.Subject, m.Text, m.HTML})
	}
	for _, m := range s.ses.Messages() {
		out = append(out, delivery{"ses", m.Tags[ses.MessageIDTag], m.To, m.Subject, m.Text, m.HTML})
	}
	for _, m := range s.smtp.Messages() {
		var id, to string
		if v := m.Header[smtp.MessageIDHeader]; len(v) > 0 {
			id = v[0]
		}
		if len(m.To) > 0 {
			to = m.To[0]
		}
		out = append(out, delivery{"smtp", id, to, m.Subject, m.Text, m.HTML})
	}
	return out
}

func (s *stack) clearDeliveries() {
	s.sg.ClearMessages()
	s.mg.ClearMessages()
	s.ses.ClearMessages()
	s.smtp.ClearMessages()
}

// dead is a message in the DLQ.
type dead struct {
	ID     string // the envelope id
	Reason string // cogmail.reason; "" when SQS's redrive moved it
	Attrs  map[string]string
}

// deadLetters receives everything in the DLQ.
func (s *stack) deadLetters() []dead {
	s.t.Helper()
	var out []dead
	for {
		res, err := s.sqs.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(s.dlqURL),
			MaxNumberOfMessages: 10, VisibilityTimeout: 600, MessageAttributeNames: []string{"All"}})
		if err != nil {
			s.t.Fatal(err)
		}
		if len(res.Messages) == 0 {
			return out
		}
		for _, m := range res.Messages {
			out = append(out, deadLetter(m))
		}
	}
}

func deadLetter(m sqstypes.Message) dead {
	d := dead{Attrs: map[string]string{}}
	for k, v := range m.MessageAttributes {
		d.Attrs[k] = aws.ToString(v.StringValue)
	}
	d.Reason = d.Attrs[envelope.AttrReason]
	var env struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal([]byte(aws.ToString(m.Body)), &env)
	d.ID = env.ID
	if d.ID == "" {
		d.ID = d.Attrs[envelope.AttrMessageID]
	}
	return d
}

func newPoller(t testing.TB, s *stack, h *dispatch.Handler) *eventsource.Poller {
	t.Helper()
	p, err := eventsource.NewPoller(s.sqs, h.Handle, eventsource.PollerOptions{QueueURL: s.queueURL, BatchSize: 10, WaitTime: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return p
}
