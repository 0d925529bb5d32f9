package ingest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/cogmail/cogmail/internal/testkit/fakekms"
	"github.com/cogmail/cogmail/pkg/cognito"
	"github.com/cogmail/cogmail/pkg/envelope"
	"github.com/cogmail/cogmail/pkg/ingest"
	"github.com/cogmail/cogmail/pkg/metrics"
	"github.com/cogmail/cogmail/pkg/recipient"
	"github.com/cogmail/cogmail/pkg/render"
	"github.com/cogmail/cogmail/pkg/seal"
	"github.com/cogmail/cogmail/pkg/secret"
)

// Fakes for the collaborators whose failures the handler must classify.

type fakeDecrypter struct {
	code string
	err  error
}

func (f fakeDecrypter) Decrypt(context.Context, string, string) (secret.Code, error) {
	return secret.New(f.code), f.err
}

type retryErr struct{ retry bool }

func (e retryErr) Error() string   { return "collaborator failed" }
func (e retryErr) Retryable() bool { return e.retry }

type fakePublisher struct {
	got []*envelope.Envelope
	err error
}

func (f *fakePublisher) Publish(_ context.Context, e *envelope.Envelope) (string, error) {
	if f.err != nil {
		return "", f.err
	}
	f.got = append(f.got, e)
	return "sqs-1", nil
}

const event = `{"version":"1","triggerSource":"CustomEmailSender_SignUp","region":"us-east-1",
"userPoolId":"us-east-1_Abc123","userName":"ana","callerContext":{"awsSdkVersion":"x","clientId":"c"},
"request":{"type":"customEmailSenderRequestV1","code":"AYADeLhj","clientMetadata":{"locale":"fr"},
"userAttributes":{"sub":"s-1","email":"ana@example.com","locale":"de"}},"response":{}}`

type harness struct {
	h    *ingest.Handler
	pub  *fakePublisher
	kms  *fakekms.KMS
	logs *bytes.Buffer
	emf  *bytes.Buffer
}

func newHarness(t *testing.T, dec ingest.Decrypter) *harness {
	t.Helper()
	r, err := render.New(render.Options{Brand: render.Brand{ProductName: "Acme"}})
	if err != nil {
		t.Fatal(err)
	}
	rc, err := recipient.New(recipient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	k := fakekms.New()
	sl, err := seal.NewSealer(seal.Options{KMS: k, KeyID: "k"})
	if err != nil {
		t.Fatal(err)
	}
	hs := &harness{pub: &fakePublisher{}, kms: k, logs: &bytes.Buffer{}, emf: &bytes.Buffer{}}
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	hs.h, err = ingest.New(ingest.Deps{
		Decrypter: dec, Recipient: rc, Renderer: r, Sealer: sl, Publisher: hs.pub,
		Logger: slog.New(slog.NewJSONHandler(hs.logs, nil)), Metrics: metrics.New(hs.emf, "ingest", nil),
	}, ingest.Options{
		Expiry: map[cognito.Trigger]time.Duration{cognito.ForgotPassword: 2 * time.Hour},
		Now:    func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	return hs
}

func TestHandleFailures(t *testing.T) {
	cases := []struct {
		name      string
		event     string
		dec       fakeDecrypter
		pubErr    error
		stage     ingest.Stage
		retryable bool
	}{
		{"malformed event", `{"triggerSource":"CustomEmailSender_SignUp"`, fakeDecrypter{code: "1"}, nil, ingest.StageParse, false},
		{"foreign trigger", strings.Replace(event, "CustomEmailSender_SignUp", "CustomMessage_SignUp", 1), fakeDecrypter{code: "1"}, nil, ingest.StageParse, false},
		{"bad ciphertext", event, fakeDecrypter{err: retryErr{false}}, nil, ingest.StageDecrypt, false},
		{"KMS unavailable", event, fakeDecrypter{err: retryErr{true}}, nil, ingest.StageDecrypt, true},
		{"no address", strings.Replace(event, `"email":"ana@example.com",`, "", 1), fakeDecrypter{code: "123456"}, nil, ingest.StageRecipient, false},
		{"invalid address", strings.Replace(event, `ana@example.com`, `ana@@example`, 1), fakeDecrypter{code: "123456"}, nil, ingest.StageRecipient, false},
		{"SQS down", event, fakeDecrypter{code: "123456"}, errors.New("dial tcp: connection refused"), ingest.StageEnqueue, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			hs := newHarness(t, tc.dec)
			hs.pub.err = tc.pubErr
			err := hs.h.Lambda(context.Background(), json.RawMessage(tc.event))
			var ie *ingest.Error
			if !errors.As(err, &ie) {
				t.Fatalf("Lambda() = %v, want *ingest.Error (the invocation must fail so Lambda retries)", err)
			}
			if ie.Stage != tc.stage || ie.Retryable != tc.retryable {
				t.Errorf("got stage %s retryable %v, want %s %v (%v)", ie.Stage, ie.Retryable, tc.stage, tc.retryable, err)
			}
			if len(hs.pub.got) != 0 {
				t.Errorf("a failed event was enqueued")
			}
			for _, leak := range []string{"123456", "ana@example.com"} {
				if strings.Contains(err.Error(), leak) || strings.Contains(hs.logs.String(), leak) {
					t.Errorf("error or logs contain %q", leak)
				}
			}
			if !strings.Contains(hs.logs.String(), `"stage":"`+string(tc.stage)+`"`) || !strings.Contains(hs.emf.String(), `"IngestFailed":1`) {
				t.Errorf("failure not logged or counted:\n%s%s", hs.logs, hs.emf)
			}
		})
	}
}

func TestHandleEnqueues(t *testing.T) {
	hs := newHarness(t, fakeDecrypter{code: "123456"})
	res, err := hs.h.Handle(context.Background(), []byte(event))
	if err != nil {
		t.Fatal(err)
	}
	if len(hs.pub.got) != 1 {
		t.Fatalf("enqueued %d", len(hs.pub.got))
	}
	e := hs.pub.got[0]
	if res.Locale != "fr" || e.Locale != "fr" {
		t.Errorf("locale = %q, want fr (clientMetadata wins over the attribute)", res.Locale)
	}
	if got := e.ExpiresAt.Sub(e.CreatedAt); got != 24*time.Hour {
		t.Errorf("expiry = %v, want 24h", got)
	}
	if e.ID != res.MessageID || res.SQSMessageID != "sqs-1" || res.Template != "SignUp" {
		t.Errorf("result = %+v", res)
	}
	// A retried invocation of the same event gets the same dedup key.
	res2, err := hs.h.Handle(context.Background(), []byte(event))
	if err != nil {
		t.Fatal(err)
	}
	if res2.DedupKey != res.DedupKey || res2.MessageID == res.MessageID {
		t.Errorf("retry: dedup %s vs %s, ids %s vs %s", res2.DedupKey, res.DedupKey, res2.MessageID, res.MessageID)
	}
	if hs.kms.Generate != 1 {
		t.Errorf("GenerateDataKey called %d times for 2 events, want 1", hs.kms.Generate)
	}
	// One EMF line per enqueued event carries both of its metrics.
	lines := strings.Split(strings.TrimSpace(hs.emf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d EMF lines for 2 events, want 2:\n%s", len(lines), hs.emf)
	}
	for _, l := range lines {
		var doc struct {
			Enqueued      *float64
			IngestLatency *float64
			Trigger       string
		}
		if err := json.Unmarshal([]byte(l), &doc); err != nil || doc.Enqueued == nil || *doc.Enqueued != 1 || doc.IngestLatency == nil || doc.Trigger != "SignUp" {
			t.Errorf("EMF line %s (%v): want Enqueued 1 and IngestLatency, Trigger SignUp", l, err)
		}
	}
}

func TestUnknownTriggerUsesGenericTemplate(t *testing.T) {
	hs := newHarness(t, fakeDecrypter{code: "424242"})
	res, err := hs.h.Handle(context.Background(), []byte(strings.Replace(event, "CustomEmailSender_SignUp", "CustomEmailSender_MagicLink", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if res.Template != render.Generic {
		t.Errorf("template = %q, want %q", res.Template, render.Generic)
	}
	if !strings.Contains(hs.logs.String(), "unknown trigger source") || !strings.Contains(hs.logs.String(), `"level":"WARN"`) {
		t.Errorf("no warning logged:\n%s", hs.logs)
	}
	if got := hs.pub.got[0].ExpiresAt.Sub(hs.pub.got[0].CreatedAt); got != time.Hour {
		t.Errorf("expiry = %v, want the generic 1h", got)
	}
}

func TestNewRequiresDependencies(t *testing.T) {
	_, err := ingest.New(ingest.Deps{}, ingest.Options{})
	if err == nil {
		t.Fatal("New accepted no dependencies")
	}
	for _, name := range []string{"Decrypter", "Recipient", "Renderer", "Sealer", "Publisher"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s: %v", name, err)
		}
	}
}
