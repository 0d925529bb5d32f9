package ingest_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"html"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go/middleware"

	"github.com/cogmail/cogmail/functions/ingest/ingestwire"
	"github.com/cogmail/cogmail/internal/local/kmslocal"
	"github.com/cogmail/cogmail/internal/local/sqslocal"
	"github.com/cogmail/cogmail/internal/testkit/fixtures"
	"github.com/cogmail/cogmail/pkg/awsclient"
	"github.com/cogmail/cogmail/pkg/cognito"
	"github.com/cogmail/cogmail/pkg/config"
	"github.com/cogmail/cogmail/pkg/envelope"
	"github.com/cogmail/cogmail/pkg/ingest"
	"github.com/cogmail/cogmail/pkg/metrics"
	"github.com/cogmail/cogmail/pkg/seal"
)

// stack is the ingest handler wired, through the real AWS SDK clients, to
// local-kms and the project's SQS endpoint on 127.0.0.1.
type stack struct {
	h        *ingest.Handler
	sqs      *sqs.Client
	queueURL string
	opener   *seal.Opener
	logs     *bytes.Buffer
	emf      *bytes.Buffer
	kmsOps   *opCounter // the KMS calls of the handler's client
	sqsOps   *opCounter // the SQS calls of the handler's client
}

// opCounter counts a client's successful calls by operation name, and
// signals each completed call of the operation signal names.
type opCounter struct {
	mu        sync.Mutex
	n         map[string]int
	signal    string
	generated chan struct{} // one per completed call of signal
}

func newOpCounter(signal string) *opCounter {
	return &opCounter{n: map[string]int{}, signal: signal, generated: make(chan struct{}, 100)}
}

func (c *opCounter) kmsOption(o *kms.Options) { o.APIOptions = append(o.APIOptions, c.middleware) }
func (c *opCounter) sqsOption(o *sqs.Options) { o.APIOptions = append(o.APIOptions, c.middleware) }

func (c *opCounter) middleware(st *middleware.Stack) error {
	count := func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
		out, md, err := next.HandleInitialize(ctx, in)
		if err == nil {
			op := awsmiddleware.GetOperationName(ctx)
			c.mu.Lock()
			c.n[op]++
			c.mu.Unlock()
			if op == c.signal {
				c.generated <- struct{}{}
			}
		}
		return out, md, err
	}
	return st.Initialize.Add(middleware.InitializeMiddlewareFunc("countOps", count), middleware.After)
}

func (c *opCounter) count(op string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[op]
}

// newStack builds the handler with keyring; extra are more settings, as
// name, value pairs.
func newStack(t *testing.T, keyring config.Keyring, extra ...string) *stack {
	t.Helper()
	s, err := buildStack(t, keyring, extra...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// buildStack is newStack returning Build's error.
func buildStack(t *testing.T, keyring config.Keyring, extra ...string) (*stack, error) {
	t.Helper()
	ctx := context.Background()
	ev := fixtures.MustLoadEvents()
	kmsSrv, err := kmslocal.Start(kmslocal.Options{Seed: fixtures.KMSSeed()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = kmsSrv.Close() })
	sq := sqslocal.New(sqslocal.Options{AccountID: kmslocal.DefaultAccountID})
	t.Cleanup(func() { _ = sq.Close() })
	sqsURL, err := sq.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	awsCfg := awsclient.Config("us-east-1", credentials.NewStaticCredentialsProvider("local", "local", ""))
	sqsOps := newOpCounter("GetQueueAttributes")
	sqsClient := sqs.NewFromConfig(awsCfg, func(o *sqs.Options) { o.BaseEndpoint = aws.String(sqsURL) }, sqsOps.sqsOption)
	q, err := sqsClient.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("cogmail-" + strings.ReplaceAll(string(keyring), "-", ""))})
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"COGMAIL_QUEUE_URL":   aws.ToString(q.QueueUrl),
		"COGMAIL_KEYRING":     string(keyring),
		"COGMAIL_KMS_KEY_ARN": ev.KMSKeyARN,
		"COGMAIL_SEAL_KEY_ID": ev.KMSKeyARN,
	}
	if keyring == config.KeyringRawAES {
		env["COGMAIL_AES_KEY_HEX"] = hex.EncodeToString(ev.AESKey())
		env["COGMAIL_AES_KEY_NAMESPACE"] = ev.KeyNamespace
		env["COGMAIL_AES_KEY_NAME"] = ev.KeyName
	}
	for i := 0; i+1 < len(extra); i += 2 {
		env[extra[i]] = extra[i+1]
	}
	cfg, err := config.LoadIngest(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	s := &stack{sqs: sqsClient, queueURL: aws.ToString(q.QueueUrl), logs: &bytes.Buffer{}, emf: &bytes.Buffer{},
		kmsOps: newOpCounter("GenerateDataKey"), sqsOps: sqsOps}
	log := slog.New(slog.NewJSONHandler(s.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	kmsClient := kmsSrv.Client(s.kmsOps.kmsOption)
	s.h, err = ingestwire.Build(ctx, cfg, ingestwire.Clients{KMS: kmsClient, SQS: sqsClient}, log, metrics.New(s.emf, "ingest", nil))
	if err != nil {
		return nil, err
	}
	s.opener, err = seal.NewOpener(seal.OpenerOptions{KMS: kmsClient})
	if err != nil {
		t.Fatal(err)
	}
	return s, nil
}

// TestEmailOnlyLongProductName: a pool that sends only email, whose product
// name is too long for the built-in SMS texts to fit one segment, starts and
// delivers its emails (the SMS check refuses only a limit or texts the
// operator set); with COGMAIL_SMS_SEGMENTS=1 set, the same name is refused
// at cold start.
func TestEmailOnlyLongProductName(t *testing.T) {
	name := strings.Repeat("P", 60)
	s := newStack(t, config.KeyringRawAES, "COGMAIL_PRODUCT_NAME", name)
	var c fixtures.Case
	for _, e := range fixtures.MustLoadEvents().ByKeyring("raw-aes") {
		if ev, err := cognito.Parse(e.Event); err == nil && e.Deliver() && ev.TriggerSource.Channel() == cognito.ChannelEmail {
			c = e
			break
		}
	}
	if c.Name == "" {
		t.Fatal("no email event to deliver among the shared events")
	}
	if _, err := s.h.Handle(context.Background(), c.Event); err != nil {
		t.Fatalf("Handle(%s) = %v", c.Name, err)
	}
	if n := len(s.drain(t)); n != 1 {
		t.Errorf("enqueued %d, want 1", n)
	}
	_, err := buildStack(t, config.KeyringRawAES, "COGMAIL_PRODUCT_NAME", name, "COGMAIL_SMS_SEGMENTS", "1")
	if err == nil || !strings.Contains(err.Error(), "ingest: templates:") || !strings.Contains(err.Error(), "over the brand's limit of 1") {
		t.Errorf("Build with COGMAIL_SMS_SEGMENTS=1: %v", err)
	}
}

// drain receives every message on the queue.
func (s *stack) drain(t *testing.T) []queued {
	t.Helper()
	var out []queued
	for {
		r, err := s.sqs.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(s.queueURL), MaxNumberOfMessages: 10, MessageAttributeNames: []string{"All"},
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Messages) == 0 {
			return out
		}
		for _, m := range r.Messages {
			attrs := map[string]string{}
			for k, v := range m.MessageAttributes {
				attrs[k] = aws.ToString(v.StringValue)
			}
			out = append(out, queued{body: aws.ToString(m.Body), attrs: attrs})
			_, _ = s.sqs.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: aws.String(s.queueURL), ReceiptHandle: m.ReceiptHandle})
		}
	}
}

type queued struct {
	body  string
	attrs map[string]string
}

// TestSharedEvents runs every shared event, made by the reference JavaScript
// Encryption SDK, through the real handler with its keyring: deliver cases
// are enqueued sealed with their secret inside; reject cases fail and
// enqueue nothing; no log line, metric or queue body carries a secret.
// TestColdStartWarmsUp: Build fetches the sealer's data key and reads the
// queue's attributes in the background, before any event; the first event
// seals with that key instead of asking KMS for another.
func TestColdStartWarmsUp(t *testing.T) {
	s := newStack(t, config.KeyringKMS)
	for _, w := range []struct {
		ops  *opCounter
		what string
	}{{s.kmsOps, "GenerateDataKey: the sealing key is not prefetched"}, {s.sqsOps, "GetQueueAttributes: the queue is not warmed"}} {
		select { // with no event handled yet
		case <-w.ops.generated:
		case <-time.After(30 * time.Second): // a bound on a hang, not a speed test
			t.Fatalf("no %s within 30 s of Build", w.what)
		}
	}
	if d := s.kmsOps.count("Decrypt"); d != 0 {
		t.Fatalf("%d KMS Decrypt calls before any event", d)
	}
	c := fixtures.MustLoadEvents().ByKeyring("kms")[0]
	if _, err := s.h.Handle(context.Background(), c.Event); err != nil {
		t.Fatal(err)
	}
	if len(s.drain(t)) != 1 {
		t.Fatal("the first event was not enqueued")
	}
	if g, d := s.kmsOps.count("GenerateDataKey"), s.kmsOps.count("Decrypt"); g != 1 || d != 1 {
		t.Errorf("KMS calls: GenerateDataKey %d (want 1: the prefetched key), Decrypt %d (want 1: the code)", g, d)
	}
	if a, m := s.sqsOps.count("GetQueueAttributes"), s.sqsOps.count("SendMessage"); a != 1 || m != 1 {
		t.Errorf("SQS calls: GetQueueAttributes %d (want 1, at cold start), SendMessage %d (want 1)", a, m)
	}
}

func TestSharedEvents(t *testing.T) {
	ev := fixtures.MustLoadEvents()
	for _, keyring := range []config.Keyring{config.KeyringRawAES, config.KeyringKMS} {
		t.Run(string(keyring), func(t *testing.T) {
			s := newStack(t, keyring)
			fixtureKeyring := map[config.Keyring]string{config.KeyringRawAES: "raw-aes", config.KeyringKMS: "kms"}[keyring]
			var secrets []string
			for _, c := range ev.ByKeyring(fixtureKeyring) {
				e, err := cognito.Parse(c.Event)
				if err != nil {
					t.Fatal(err)
				}
				secrets = append(secrets, e.Attr("email"))
				if c.Secret != "" {
					secrets = append(secrets, c.Secret, html.UnescapeString(c.Secret))
				}
				t.Run(c.Name, func(t *testing.T) {
					res, err := s.h.Handle(context.Background(), c.Event)
					msgs := s.drain(t)
					if !c.Deliver() {
						if err == nil {
							t.Fatal("a reject case was accepted")
						}
						var ie *ingest.Error
						if !errors.As(err, &ie) || ie.Stage != ingest.StageDecrypt || ie.Retryable {
							t.Errorf("want a permanent decrypt error, got %v", err)
						}
						if len(msgs) != 0 {
							t.Errorf("a rejected event enqueued %d messages", len(msgs))
						}
						return
					}
					if err != nil {
						t.Fatalf("Handle: %v", err)
					}
					if len(msgs) != 1 {
						t.Fatalf("enqueued %d messages, want 1", len(msgs))
					}
					checkQueued(t, s, e, c, res, msgs[0])
				})
			}
			for _, out := range []struct{ name, text string }{{"logs", s.logs.String()}, {"metrics", s.emf.String()}} {
				for _, sec := range secrets {
					if strings.Contains(out.text, sec) {
						t.Errorf("%s contain a secret or address %q", out.name, sec)
					}
				}
			}
			if !strings.Contains(s.logs.String(), `"msg":"enqueued"`) || !strings.Contains(s.emf.String(), `"Enqueued":1`) {
				t.Errorf("expected enqueued logs and metrics, got:\n%s\n%s", s.logs, s.emf)
			}
		})
	}
}

func checkQueued(t *testing.T, s *stack, e *cognito.Event, c fixtures.Case, res ingest.Result, m queued) {
	t.Helper()
	want := html.UnescapeString(c.Secret) // Cognito HTML-escapes temporary passwords
	email := e.Attr("email")
	for _, leak := range []string{want, email, c.Secret} {
		if leak != "" && strings.Contains(m.body, leak) {
			t.Errorf("queue body contains %q in plaintext", leak)
		}
	}
	env, err := envelope.Parse([]byte(m.body))
	if err != nil {
		t.Fatal(err)
	}
	if env.ID != res.MessageID || env.Trigger != e.TriggerSource || env.Pool != e.UserPoolID || env.DedupKey != envelope.DedupKey(e) {
		t.Errorf("envelope metadata wrong: %+v", env)
	}
	if m.attrs[envelope.AttrTrigger] != string(e.TriggerSource) || m.attrs[envelope.AttrSchema] != "1" || m.attrs[envelope.AttrDedupKey] != env.DedupKey || m.attrs[envelope.AttrExpiresAt] == "" {
		t.Errorf("message attributes wrong: %v", m.attrs)
	}
	plain, err := s.opener.Open(context.Background(), env.ID, env.Sealed)
	if err != nil {
		t.Fatal(err)
	}
	var p envelope.Payload
	if err := json.Unmarshal(plain, &p); err != nil {
		t.Fatal(err)
	}
	if p.To != email {
		t.Errorf("recipient = %q, want %q", p.To, email)
	}
	if want != "" {
		if !strings.Contains(p.Text, want) {
			t.Errorf("text body lacks the secret %q", want)
		}
		if !strings.Contains(p.HTML, html.EscapeString(want)) {
			t.Errorf("HTML body lacks the escaped secret %q", html.EscapeString(want))
		}
	} else if !strings.Contains(p.Text, e.Attr(cognito.AttrIPAddress)) {
		t.Errorf("account-takeover notice lacks the sign-in details")
	}
	if p.Subject == "" || strings.ContainsAny(p.Subject, "\r\n") {
		t.Errorf("bad subject %q", p.Subject)
	}
}

// otherPool is the pool the shared "-wrong-pool" codes are bound to.
const otherPool = "us-east-1_Other"

// otherPoolEvent is a shared "-wrong-pool" case made consistent: the event
// names the pool its code is bound to, as another pool's Cognito would
// send it. Its code opens under the shared keys.
func otherPoolEvent(t *testing.T, keyring string) []byte {
	t.Helper()
	for _, c := range fixtures.MustLoadEvents().ByKeyring(keyring) {
		if !strings.HasSuffix(c.Name, "-wrong-pool") {
			continue
		}
		var ev map[string]any
		if err := json.Unmarshal(c.Event, &ev); err != nil {
			t.Fatal(err)
		}
		ev["userPoolId"] = otherPool
		b, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	t.Fatalf("no %s wrong-pool case in the shared events", keyring)
	return nil
}

// TestUserPoolIDs: another pool's event, whose code is bound to that pool,
// decrypts under the same key and is delivered unless COGMAIL_USER_POOL_IDS
// names the pools served; then it is refused before any decrypt, and the
// shared pool's events still go through.
func TestUserPoolIDs(t *testing.T) {
	ev := fixtures.MustLoadEvents()
	for _, keyring := range []config.Keyring{config.KeyringRawAES, config.KeyringKMS} {
		fixtureKeyring := map[config.Keyring]string{config.KeyringRawAES: "raw-aes", config.KeyringKMS: "kms"}[keyring]
		other := otherPoolEvent(t, fixtureKeyring)
		own := ev.ByKeyring(fixtureKeyring)[0]
		t.Run(string(keyring), func(t *testing.T) {
			t.Run("unset: any pool", func(t *testing.T) {
				s := newStack(t, keyring)
				if _, err := s.h.Handle(context.Background(), other); err != nil {
					t.Fatalf("Handle(other pool) = %v: the gap this setting closes is not reproduced", err)
				}
				if n := len(s.drain(t)); n != 1 {
					t.Fatalf("enqueued %d, want 1", n)
				}
			})
			t.Run("set: other pool refused", func(t *testing.T) {
				s := newStack(t, keyring, "COGMAIL_USER_POOL_IDS", ev.UserPoolID)
				_, err := s.h.Handle(context.Background(), other)
				var ie *ingest.Error
				if !errors.As(err, &ie) || ie.Stage != ingest.StagePool || ie.Retryable || !errors.Is(err, ingest.ErrForeignPool) {
					t.Fatalf("Handle(other pool) = %v, want a permanent StagePool ErrForeignPool error", err)
				}
				if want := "user pool " + otherPool + " is not one of " + ev.UserPoolID; !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
				if n := len(s.drain(t)); n != 0 {
					t.Errorf("a refused event enqueued %d messages", n)
				}
				if d := s.kmsOps.count("Decrypt"); d != 0 {
					t.Errorf("%d KMS Decrypt calls for a refused pool", d)
				}
				if !strings.Contains(s.emf.String(), `"Stage":"pool"`) {
					t.Errorf("no IngestFailed metric with Stage pool:\n%s", s.emf)
				}
				if _, err := s.h.Handle(context.Background(), own.Event); err != nil {
					t.Fatalf("Handle(%s) = %v", own.Name, err)
				}
				if n := len(s.drain(t)); n != 1 {
					t.Errorf("the served pool's event enqueued %d, want 1", n)
				}
			})
			t.Run("set: both pools", func(t *testing.T) {
				s := newStack(t, keyring, "COGMAIL_USER_POOL_IDS", ev.UserPoolID+", "+otherPool)
				if _, err := s.h.Handle(context.Background(), other); err != nil {
					t.Fatalf("Handle(other pool, listed) = %v", err)
				}
				if n := len(s.drain(t)); n != 1 {
					t.Errorf("enqueued %d, want 1", n)
				}
			})
		})
	}
}
