package dispatch_test

// These tests build the handler the way the Lambda does, through
// functions/dispatch/dispatchwire, so they reuse this package's fixtures.

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/cogmail/cogmail/functions/dispatch/dispatchwire"
	"github.com/cogmail/cogmail/internal/testkit/motoserver"
	"github.com/cogmail/cogmail/pkg/config"
	"github.com/cogmail/cogmail/pkg/dispatch"
	"github.com/cogmail/cogmail/pkg/idempotency"
	"github.com/cogmail/cogmail/pkg/metrics"
	"github.com/cogmail/cogmail/pkg/provider/mailgun/mailgunfake"
	"github.com/cogmail/cogmail/pkg/provider/sendgrid/sendgridfake"
	"github.com/cogmail/cogmail/pkg/routing"
	"github.com/cogmail/cogmail/pkg/routing/ssmparam"
)

// moto holds clients for the shared moto_server.
type moto struct {
	url string
	ssm *ssm.Client
	sm  *secretsmanager.Client
	db  *dynamodb.Client
}

func newMoto(t testing.TB) moto {
	t.Helper()
	url := motoserver.Shared(t)
	cfg := motoserver.Config()
	return moto{
		url: url,
		ssm: ssm.NewFromConfig(cfg, func(o *ssm.Options) { o.BaseEndpoint = aws.String(url) }),
		sm:  secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) { o.BaseEndpoint = aws.String(url) }),
		db:  dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(url) }),
	}
}

func unique(prefix string) string { return fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano()) }

func (m moto) secret(t testing.TB, value string) string {
	t.Helper()
	out, err := m.sm.CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{Name: aws.String(unique("cogmail/key")), SecretString: aws.String(value)})
	if err != nil {
		t.Fatalf("CreateSecret: %v", err)
	}
	return aws.ToString(out.ARN)
}

func (m moto) table(t testing.TB) string {
	t.Helper()
	name := unique("cogmail-idem")
	ctx := context.Background()
	if _, err := m.db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		AttributeDefinitions: []dbtypes.AttributeDefinition{{AttributeName: aws.String(idempotency.AttrKey), AttributeType: dbtypes.ScalarAttributeTypeS}},
		KeySchema:            []dbtypes.KeySchemaElement{{AttributeName: aws.String(idempotency.AttrKey), KeyType: dbtypes.KeyTypeHash}},
		BillingMode:          dbtypes.BillingModePayPerRequest,
	}); err != nil {
		t.Fatalf("CreateTable: %v", err)
	}
	t.Cleanup(func() {
		_, _ = m.db.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)})
	})
	return name
}

func env(m map[string]string) config.Getenv { return func(k string) string { return m[k] } }

// TestBuildResolvesKeysFromSecretsManager: the key stored in Secrets
// Manager is the one the providers authenticate with.
func TestBuildResolvesKeysFromSecretsManager(t *testing.T) {
	mt := newMoto(t)
	const sgKey, mgKey = "SG.from-secrets-manager", "key-from-secrets-manager"
	sg := sendgridfake.New(sendgridfake.Options{APIKey: sgKey})
	defer sg.Close()
	mg := mailgunfake.New(mailgunfake.Options{APIKey: mgKey, Domain: "mg.example.com"})
	defer mg.Close()
	cfg, err := config.LoadDispatch(env(map[string]string{
		"COGMAIL_PROVIDERS":               "sendgrid,mailgun",
		"COGMAIL_SENDER_EMAIL":            "no-reply@example.com",
		"COGMAIL_DLQ_URL":                 "https://sqs.us-east-1.amazonaws.com/111122223333/dlq",
		"COGMAIL_SENDGRID_API_KEY_SECRET": mt.secret(t, sgKey),
		"COGMAIL_SENDGRID_BASE_URL":       sg.URL(),
		"COGMAIL_MAILGUN_API_KEY_SECRET":  mt.secret(t, mgKey+"\n"),
		"COGMAIL_MAILGUN_DOMAIN":          "mg.example.com",
		"COGMAIL_MAILGUN_BASE_URL":        mg.URL(),
	}))
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t)
	h, err := dispatchwire.Build(context.Background(), cfg, dispatchwire.Clients{AWS: motoserver.Config(), SQS: f.queue, KMS: f.kms, SecretsManager: mt.sm}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	rec, sec := f.message()
	resp, err := h.Handle(context.Background(), batch(rec))
	if err != nil || len(reported(resp)) != 0 {
		t.Fatalf("Handle = %v, %v", reported(resp), err)
	}
	if got := sg.Messages(); len(got) != 1 || got[0].To != sec.To {
		t.Fatalf("sendgrid received %d messages, want 1 to %s", len(got), sec.To)
	}
	// Mailgun's key works too (its secret had a trailing newline).
	sg.SetFault(sendgridfake.Fault{Status: 503})
	rec, sec = f.message()
	if resp, _ := h.Handle(context.Background(), batch(rec)); len(reported(resp)) != 0 {
		t.Fatalf("reported %v", reported(resp))
	}
	if got := mg.Messages(); len(got) != 1 || got[0].To != sec.To {
		t.Fatalf("mailgun received %d messages, want 1", len(got))
	}
}

func TestBuildErrors(t *testing.T) {
	mt := newMoto(t)
	const plain = "SG.plain-secret-value"
	base := map[string]string{
		"COGMAIL_SENDER_EMAIL": "no-reply@example.com",
		"COGMAIL_DLQ_URL":      "https://sqs.us-east-1.amazonaws.com/111122223333/dlq",
	}
	tests := []struct {
		name    string
		env     map[string]string
		clients func(f *fixture) dispatchwire.Clients
		want    []string
	}{
		{"a missing secret", map[string]string{"COGMAIL_PROVIDERS": "sendgrid",
			"COGMAIL_SENDGRID_API_KEY_SECRET": "arn:aws:secretsmanager:us-east-1:123456789012:secret:nope-AbCdEf"},
			func(f *fixture) dispatchwire.Clients {
				return dispatchwire.Clients{SQS: f.queue, KMS: f.kms, SecretsManager: mt.sm}
			}, []string{"COGMAIL_SENDGRID_API_KEY_SECRET", "nope-AbCdEf"}},
		{"no Secrets Manager client", map[string]string{"COGMAIL_PROVIDERS": "sendgrid", "COGMAIL_SENDGRID_API_KEY_SECRET": "x"},
			func(f *fixture) dispatchwire.Clients { return dispatchwire.Clients{SQS: f.queue, KMS: f.kms} },
			[]string{"COGMAIL_SENDGRID_API_KEY_SECRET", "Secrets Manager client"}},
		{"ses without AWS credentials", map[string]string{"COGMAIL_PROVIDERS": "ses"},
			func(f *fixture) dispatchwire.Clients { return dispatchwire.Clients{SQS: f.queue, KMS: f.kms} },
			[]string{"ses", "region or credentials"}},
		{"a parameter without an SSM client", map[string]string{"COGMAIL_PROVIDERS": "sendgrid", "COGMAIL_SENDGRID_API_KEY": plain,
			"COGMAIL_PROVIDERS_PARAM": "/p"},
			func(f *fixture) dispatchwire.Clients { return dispatchwire.Clients{SQS: f.queue, KMS: f.kms} },
			[]string{"COGMAIL_PROVIDERS_PARAM"}},
		{"a table without a DynamoDB client", map[string]string{"COGMAIL_PROVIDERS": "sendgrid", "COGMAIL_SENDGRID_API_KEY": plain,
			"COGMAIL_IDEMPOTENCY_TABLE": "t"},
			func(f *fixture) dispatchwire.Clients { return dispatchwire.Clients{SQS: f.queue, KMS: f.kms} },
			[]string{"COGMAIL_IDEMPOTENCY_TABLE"}},
		{"no SQS or KMS", map[string]string{"COGMAIL_PROVIDERS": "sendgrid", "COGMAIL_SENDGRID_API_KEY": plain},
			func(*fixture) dispatchwire.Clients { return dispatchwire.Clients{} }, []string{"SQS", "KMS"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := map[string]string{}
			for k, v := range base {
				e[k] = v
			}
			for k, v := range tt.env {
				e[k] = v
			}
			cfg, err := config.LoadDispatch(env(e))
			if err != nil {
				t.Fatal(err)
			}
			_, err = dispatchwire.Build(context.Background(), cfg, tt.clients(newFixture(t)), nil, nil)
			if err == nil {
				t.Fatal("Build accepted it")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), plain) {
				t.Errorf("error quotes the key: %v", err)
			}
		})
	}
}

// TestRoutingFollowsTheSSMParameter switches providers with PutParameter:
// the handler routes by the new value once the refresh interval passes.
func TestRoutingFollowsTheSSMParameter(t *testing.T) {
	mt := newMoto(t)
	ctx := context.Background()
	name := "/cogmail/" + unique("providers")
	put := func(v string) {
		t.Helper()
		if _, err := mt.ssm.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(name), Value: aws.String(v),
			Type: ssmtypes.ParameterTypeString, Overwrite: aws.Bool(true)}); err != nil {
			t.Fatalf("PutParameter: %v", err)
		}
	}
	put(`{"providers":["sendgrid","mailgun"]}`)
	sg, mg := newSender("sendgrid"), newSender("mailgun")
	f := newFixture(t, sg, mg)
	src, err := routing.NewSource(routing.SourceOptions{Client: ssmparam.Reader{Client: mt.ssm}, Parameter: name,
		Fallback: routing.Config{Providers: []string{"sendgrid"}}, Available: []string{"sendgrid", "mailgun"},
		Refresh: 60 * time.Second, Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	h := f.handler(func(d *dispatch.Deps, _ *dispatch.Options) { d.Routes = src })
	steps := []struct {
		name    string
		put     string
		advance time.Duration
		want    string // who sends
	}{
		{"the parameter routes", "", 0, "sendgrid"},
		{"a change waits for the refresh", `{"providers":["mailgun","sendgrid"]}`, 30 * time.Second, "sendgrid"},
		{"and takes effect within 60s", "", 30 * time.Second, "mailgun"},
	}
	for _, s := range steps {
		if s.put != "" {
			put(s.put)
		}
		f.clock.Add(s.advance)
		before := map[string]int{"sendgrid": len(sg.Sent()), "mailgun": len(mg.Sent())}
		rec, _ := f.message()
		if resp, _ := h.Handle(ctx, batch(rec)); len(reported(resp)) != 0 {
			t.Fatalf("%s: reported", s.name)
		}
		after := map[string]int{"sendgrid": len(sg.Sent()), "mailgun": len(mg.Sent())}
		if after[s.want] != before[s.want]+1 {
			t.Fatalf("%s: %s did not send (before %v, after %v)", s.name, s.want, before, after)
		}
	}
}

// TestIdempotencyAcrossContainers: two warm containers (two handlers with
// their own caches) get the same message; the DynamoDB table lets only one
// send it. The second container handles its copy while the first is in the
// middle of sending (the sender's hook), which is the race the table exists
// for, made deterministic: moto's threaded server does not promise atomic
// conditional writes under heavy load the way DynamoDB does, so the truly
// concurrent claims are tested in pkg/idempotency, not here.
func TestIdempotencyAcrossContainers(t *testing.T) {
	mt := newMoto(t)
	table := mt.table(t)
	sg := newSender("sendgrid")
	f := newFixture(t, sg)
	var handlers []*dispatch.Handler
	for i := range 2 {
		store, err := idempotency.New(mt.db, idempotency.Options{Table: table, Owner: fmt.Sprint("container-", i), Now: f.clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		handlers = append(handlers, f.handler(func(d *dispatch.Deps, _ *dispatch.Options) { d.Idempotency = store }))
	}
	ctx := context.Background()
	for range 5 {
		rec, _ := f.message()
		var during events.SQSEventResponse
		var once sync.Once
		sg.hook = func(context.Context) {
			once.Do(func() { during, _ = handlers[1].Handle(ctx, batch(rec)) })
		}
		if resp, _ := handlers[0].Handle(ctx, batch(rec)); len(reported(resp)) != 0 {
			t.Fatal("the first container did not send")
		}
		if len(reported(during)) != 1 {
			t.Fatal("the second container did not leave its copy for later while the first was sending")
		}
		// Redelivered later, the copy is recognised as sent.
		rec.Attributes["ApproximateReceiveCount"] = "2"
		if resp, _ := handlers[1].Handle(ctx, batch(rec)); len(reported(resp)) != 0 {
			t.Fatal("the redelivered copy is still reported")
		}
	}
	if n := len(sg.Sent()); n != 5 {
		t.Fatalf("%d sends for 5 messages delivered to two containers, want 5", n)
	}
	if got := counts(f.emf.String())["Duplicate"]; got != 5 {
		t.Fatalf("Duplicate = %v, want 5", got)
	}
}

// TestBuildEndToEndMetricsAndLogs sends through a Build-made handler and
// checks the EMF names and the stable log keys.
func TestBuildEndToEndMetricsAndLogs(t *testing.T) {
	sgf := sendgridfake.New(sendgridfake.Options{APIKey: "SG.k"})
	defer sgf.Close()
	cfg, err := config.LoadDispatch(env(map[string]string{
		"COGMAIL_PROVIDERS": "sendgrid", "COGMAIL_SENDER_EMAIL": "no-reply@example.com",
		"COGMAIL_DLQ_URL":          "https://sqs.us-east-1.amazonaws.com/111122223333/dlq",
		"COGMAIL_SENDGRID_API_KEY": "SG.k", "COGMAIL_SENDGRID_BASE_URL": sgf.URL(),
	}))
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t)
	log := slog.New(slog.NewJSONHandler(f.logs, nil))
	h, err := dispatchwire.Build(context.Background(), cfg, dispatchwire.Clients{SQS: f.queue, KMS: f.kms}, log, metrics.New(f.emf, "dispatch", nil))
	if err != nil {
		t.Fatal(err)
	}
	rec, sec := f.message()
	if resp, _ := h.Handle(context.Background(), batch(rec)); len(reported(resp)) != 0 {
		t.Fatal("reported")
	}
	got := counts(f.emf.String())
	for _, m := range []string{"Sent{Provider=sendgrid,Trigger=SignUp}", "ProviderLatency{Provider=sendgrid}"} {
		if _, ok := got[m]; !ok {
			t.Errorf("no %s metric in %v", m, keysOf(got))
		}
	}
	var sent map[string]any
	for _, l := range logLines(t, f.logs.String()) {
		if l["msg"] == "sent" {
			sent = l
		}
	}
	for _, k := range []string{"trigger", "pool", "provider", "messageId", "attempt"} {
		if _, ok := sent[k]; !ok {
			t.Errorf("the sent log lacks %q: %v", k, sent)
		}
	}
	assertNoSecrets(t, "logs", f.logs.String(), sec)
	assertNoSecrets(t, "metrics", f.emf.String(), sec)
}

// TestBuildWithAMissingParameter: a parameter that cannot be read at cold
// start does not stop the function; COGMAIL_PROVIDERS routes meanwhile.
func TestBuildWithAMissingParameter(t *testing.T) {
	mt := newMoto(t)
	sgf := sendgridfake.New(sendgridfake.Options{APIKey: "SG.k"})
	defer sgf.Close()
	cfg, err := config.LoadDispatch(env(map[string]string{
		"COGMAIL_PROVIDERS": "sendgrid", "COGMAIL_SENDER_EMAIL": "no-reply@example.com",
		"COGMAIL_DLQ_URL":          "https://sqs.us-east-1.amazonaws.com/111122223333/dlq",
		"COGMAIL_SENDGRID_API_KEY": "SG.k", "COGMAIL_SENDGRID_BASE_URL": sgf.URL(),
		"COGMAIL_PROVIDERS_PARAM": "/cogmail/" + unique("missing"),
	}))
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t)
	h, err := dispatchwire.Build(context.Background(), cfg, dispatchwire.Clients{SQS: f.queue, KMS: f.kms, SSM: mt.ssm},
		slog.New(slog.NewJSONHandler(f.logs, nil)), nil)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	rec, _ := f.message()
	if resp, _ := h.Handle(context.Background(), batch(rec)); len(reported(resp)) != 0 || len(sgf.Messages()) != 1 {
		t.Fatalf("reported %v, sendgrid got %d", reported(resp), len(sgf.Messages()))
	}
	if !strings.Contains(f.logs.String(), "provider parameter not used at cold start") {
		t.Fatalf("the unreadable parameter was not logged: %s", f.logs.String())
	}
}
