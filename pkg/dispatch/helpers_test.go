package dispatch_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	mrand "math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/cogmail/cogmail/internal/testkit/fakekms"
	"github.com/cogmail/cogmail/pkg/cognito"
	"github.com/cogmail/cogmail/pkg/dispatch"
	"github.com/cogmail/cogmail/pkg/dispatch/breaker"
	"github.com/cogmail/cogmail/pkg/envelope"
	"github.com/cogmail/cogmail/pkg/idempotency"
	"github.com/cogmail/cogmail/pkg/metrics"
	"github.com/cogmail/cogmail/pkg/provider"
	"github.com/cogmail/cogmail/pkg/routing"
	"github.com/cogmail/cogmail/pkg/seal"
)

// clock is the handler's injected time: Sleep advances it at once.
type clock struct {
	mu    sync.Mutex
	t     time.Time
	slept []time.Duration
}

func newClock() *clock { return &clock{t: time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

func (c *clock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	c.slept = append(c.slept, d)
	return nil
}

func (c *clock) Slept() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.slept)
}

// sender is an in-memory provider: it answers from its script in order,
// then with final; nil answers are successes.
type sender struct {
	name   string
	mu     sync.Mutex
	script []error
	final  error
	hook   func(ctx context.Context) // runs before each answer
	calls  int
	sent   []provider.Message
}

func newSender(name string, script ...error) *sender { return &sender{name: name, script: script} }

func (s *sender) Name() string { return s.name }

func (s *sender) Send(ctx context.Context, m provider.Message) (provider.Receipt, error) {
	if s.hook != nil {
		s.hook(ctx)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	err := s.final
	if len(s.script) > 0 {
		err = s.script[0]
		s.script = s.script[1:]
	}
	if err != nil {
		return provider.Receipt{}, err
	}
	s.sent = append(s.sent, m)
	return provider.Receipt{Provider: s.name, ID: fmt.Sprintf("%s-id-%d", s.name, len(s.sent))}, nil
}

func (s *sender) Calls() int { s.mu.Lock(); defer s.mu.Unlock(); return s.calls }

func (s *sender) Sent() []provider.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.sent)
}

func (s *sender) SetFinal(err error) { s.mu.Lock(); defer s.mu.Unlock(); s.final = err }

// queue records what the handler asks of SQS.
type queue struct {
	mu     sync.Mutex
	dlq    []*sqs.SendMessageInput
	vis    []*sqs.ChangeMessageVisibilityInput
	dlqErr error
	onVis  func() // called after each visibility change
}

func (q *queue) SendMessage(_ context.Context, in *sqs.SendMessageInput, _ ...func(*sqs.Options)) (*sqs.SendMessageOutput, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.dlqErr != nil {
		return nil, q.dlqErr
	}
	q.dlq = append(q.dlq, in)
	return &sqs.SendMessageOutput{MessageId: aws.String(fmt.Sprint("dlq-", len(q.dlq)))}, nil
}

func (q *queue) ChangeMessageVisibility(_ context.Context, in *sqs.ChangeMessageVisibilityInput, _ ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error) {
	q.mu.Lock()
	q.vis = append(q.vis, in)
	hook := q.onVis
	q.mu.Unlock()
	if hook != nil {
		hook()
	}
	return &sqs.ChangeMessageVisibilityOutput{}, nil
}

func (q *queue) DLQ() []*sqs.SendMessageInput {
	q.mu.Lock()
	defer q.mu.Unlock()
	return slices.Clone(q.dlq)
}

func (q *queue) Visibility() []*sqs.ChangeMessageVisibilityInput {
	q.mu.Lock()
	defer q.mu.Unlock()
	return slices.Clone(q.vis)
}

// reason returns the cogmail.reason of a DLQ message.
func reason(in *sqs.SendMessageInput) dispatch.Reason {
	return dispatch.Reason(aws.ToString(in.MessageAttributes[envelope.AttrReason].StringValue))
}

// idem is an in-memory Idempotency store with a forced answer.
type idem struct {
	mu                          sync.Mutex
	answer                      idempotency.Status
	err                         error
	claims, completes, releases []string
	until                       []time.Time
}

func (s *idem) Claim(_ context.Context, key string, until time.Time) (idempotency.Status, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.claims = append(s.claims, key)
	s.until = append(s.until, until)
	return s.answer, s.err
}

func (s *idem) Complete(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.completes = append(s.completes, key)
	return nil
}

func (s *idem) Release(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.releases = append(s.releases, key)
	return nil
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
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

// fixture wires a Handler to in-memory collaborators.
type fixture struct {
	t       testing.TB
	clock   *clock
	kms     *fakekms.KMS
	sealer  *seal.Sealer
	queue   *queue
	logs    *syncBuffer
	emf     *syncBuffer
	senders []*sender
	n       int
}

func newFixture(t testing.TB, senders ...*sender) *fixture {
	t.Helper()
	k := fakekms.New()
	sl, err := seal.NewSealer(seal.Options{KMS: k, KeyID: "alias/seal"})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, clock: newClock(), kms: k, sealer: sl, queue: &queue{}, logs: &syncBuffer{}, emf: &syncBuffer{}, senders: senders}
}

// handler builds a Handler routing over the fixture's senders in order
// (failover), with the options and deps adjusted by the callers.
func (f *fixture) handler(adjust ...func(*dispatch.Deps, *dispatch.Options)) *dispatch.Handler {
	f.t.Helper()
	h, err := dispatch.New(f.config(adjust...))
	if err != nil {
		f.t.Fatal(err)
	}
	return h
}

// config is what handler passes to dispatch.New.
func (f *fixture) config(adjust ...func(*dispatch.Deps, *dispatch.Options)) (dispatch.Deps, dispatch.Options) {
	f.t.Helper()
	opener, err := seal.NewOpener(seal.OpenerOptions{KMS: f.kms})
	if err != nil {
		f.t.Fatal(err)
	}
	var names []string
	var senders []dispatch.Sender
	for _, s := range f.senders {
		names = append(names, s.name)
		senders = append(senders, s)
	}
	d := dispatch.Deps{
		Senders:    senders,
		Routes:     routing.Static{Providers: names},
		Opener:     opener,
		DLQ:        f.queue,
		Visibility: f.queue,
		Logger:     slog.New(slog.NewJSONHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Metrics:    metrics.New(f.emf, "dispatch", f.clock.Now),
	}
	o := dispatch.Options{
		DLQURL:         "https://sqs.us-east-1.amazonaws.com/111122223333/cogmail-dlq",
		From:           provider.Address{Email: "no-reply@example.com", Name: "Example"},
		Now:            f.clock.Now,
		Sleep:          f.clock.Sleep,
		Rand:           mrand.New(mrand.NewPCG(1, 2)),
		Breaker:        breaker.Options{Threshold: 100, Cooldown: 30 * time.Second},
		DedupCacheSize: 100,
	}
	for _, a := range adjust {
		a(&d, &o)
	}
	return d, o
}

// secrets are what each test message carries that must never be logged.
type secrets struct{ To, Subject, Code string }

// message makes a queue record for a fresh sealed envelope; adjust may
// change the envelope and payload before sealing.
func (f *fixture) message(adjust ...func(*envelope.Envelope, *envelope.Payload)) (events.SQSMessage, secrets) {
	f.t.Helper()
	f.n++
	code := fmt.Sprintf("%06d", 100000+f.n*7919%900000)
	now := f.clock.Now()
	env := &envelope.Envelope{
		Version: envelope.SchemaVersion, ID: envelope.NewID(), DedupKey: fmt.Sprintf("dedup-%d-%d", f.n, now.UnixNano()),
		Trigger: cognito.SignUp, Pool: "us-east-1_TestPool", UserName: "user-" + strconv.Itoa(f.n), Locale: "en",
		CreatedAt: now, ExpiresAt: now.Add(time.Hour),
	}
	p := &envelope.Payload{
		To:      fmt.Sprintf("person%d@example.com", f.n),
		Subject: "Your verification code " + code,
		Text:    "Your code is " + code,
		HTML:    "<p>Your code is <b>" + code + "</b></p>",
	}
	for _, a := range adjust {
		a(env, p)
	}
	pt, err := json.Marshal(p)
	if err != nil {
		f.t.Fatal(err)
	}
	env.Sealed, err = f.sealer.Seal(context.Background(), env.ID, pt)
	if err != nil {
		f.t.Fatal(err)
	}
	body, err := json.Marshal(env)
	if err != nil {
		f.t.Fatal(err)
	}
	return record(string(body), env.Attributes(), 1, now), secrets{To: p.To, Subject: p.Subject, Code: code}
}

var recordN atomic.Int64

// record makes an SQS record as Lambda passes it.
func record(body string, attrs map[string]string, receives int, first time.Time) events.SQSMessage {
	n := recordN.Add(1)
	r := events.SQSMessage{
		MessageId:     fmt.Sprintf("sqs-%d-%d", n, first.UnixNano()),
		ReceiptHandle: fmt.Sprintf("handle-%d", n),
		Body:          body,
		Attributes: map[string]string{
			"ApproximateReceiveCount":          strconv.Itoa(receives),
			"ApproximateFirstReceiveTimestamp": strconv.FormatInt(first.UnixMilli(), 10),
			"SentTimestamp":                    strconv.FormatInt(first.UnixMilli(), 10),
		},
		EventSourceARN: "arn:aws:sqs:us-east-1:111122223333:cogmail",
		EventSource:    "aws:sqs",
		AWSRegion:      "us-east-1",
	}
	if len(attrs) > 0 {
		r.MessageAttributes = map[string]events.SQSMessageAttribute{}
		for k, v := range attrs {
			r.MessageAttributes[k] = events.SQSMessageAttribute{DataType: "String", StringValue: aws.String(v)}
		}
	}
	return r
}

func batch(recs ...events.SQSMessage) events.SQSEvent { return events.SQSEvent{Records: recs} }

// reported lists the ids in a response.
func reported(resp events.SQSEventResponse) []string {
	var out []string
	for _, f := range resp.BatchItemFailures {
		out = append(out, f.ItemIdentifier)
	}
	return out
}

// counts sums the EMF metrics by "Name" or "Name{Dim=Value,...}".
func counts(emf string) map[string]float64 {
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(emf))
	for sc.Scan() {
		var doc map[string]any
		if json.Unmarshal(sc.Bytes(), &doc) != nil {
			continue
		}
		aws, _ := doc["_aws"].(map[string]any)
		cms, _ := aws["CloudWatchMetrics"].([]any)
		for _, cm := range cms {
			cm := cm.(map[string]any)
			var dims []string
			for _, set := range cm["Dimensions"].([]any) {
				for _, d := range set.([]any) {
					if d != "Function" {
						dims = append(dims, fmt.Sprintf("%s=%v", d, doc[d.(string)]))
					}
				}
			}
			slices.Sort(dims)
			for _, m := range cm["Metrics"].([]any) {
				name := m.(map[string]any)["Name"].(string)
				v, _ := doc[name].(float64)
				out[name] += v
				if len(dims) > 0 {
					out[name+"{"+strings.Join(dims, ",")+"}"] += v
				}
			}
		}
	}
	return out
}

// logLines decodes the JSON log lines.
func logLines(t testing.TB, logs string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(logs))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", sc.Text())
		}
		out = append(out, m)
	}
	return out
}

// assertNoSecrets fails when any of the secrets appears in the text.
func assertNoSecrets(t testing.TB, what, text string, ss ...secrets) {
	t.Helper()
	for _, s := range ss {
		for _, v := range []string{s.To, s.Subject, s.Code} {
			if v != "" && strings.Contains(text, v) {
				t.Errorf("%s contains %q", what, v)
			}
		}
	}
}

func keysOf[M ~map[string]V, V any](m M) []string { return slices.Sorted(maps.Keys(m)) }
