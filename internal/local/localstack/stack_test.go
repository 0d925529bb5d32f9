package localstack_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/cogmail/cogmail/internal/local/localstack"
	"github.com/cogmail/cogmail/internal/testkit/fixtures"
	"github.com/cogmail/cogmail/pkg/codecrypt"
	"github.com/cogmail/cogmail/pkg/cognito"
	"github.com/cogmail/cogmail/pkg/envelope"
	"github.com/cogmail/cogmail/pkg/ingest"
)

// TestSamplesWithEachKeyring: every sample goes ingest -> SQS -> dispatch ->
// a provider fake, with each keyring, and arrives with its recipient.
func TestSamplesWithEachKeyring(t *testing.T) {
	ev := fixtures.MustLoadEvents()
	cases := map[string]localstack.Options{
		"generated KMS key": {},
		"shared seed":       {KMSSeed: fixtures.KMSSeed()},
		"raw AES":           {AES: &codecrypt.RawAESKey{Namespace: ev.KeyNamespace, Name: ev.KeyName, Key: ev.AESKey()}},
	}
	for name, o := range cases {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s, err := localstack.Start(ctx, o)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			samples := s.RunSamples(ctx, 30*time.Second)
			if len(samples) != len(cognito.Triggers) {
				t.Fatalf("%d samples, want one per trigger", len(samples))
			}
			for _, smp := range samples {
				if smp.Err != nil || !smp.Delivered() {
					t.Errorf("%s: %v", smp.Trigger.Short(), smp.Err)
					continue
				}
				d := smp.Delivery
				if d.To != smp.Email || d.TriggerSource != string(smp.Trigger) || d.Provider != "ses" || d.Subject == "" {
					t.Errorf("%s: delivered %+v", smp.Trigger.Short(), d)
				}
				if smp.Trigger == cognito.AdminCreateUser && (!strings.Contains(d.Text, "Tmp<") || strings.Contains(d.Text, "&lt;")) {
					t.Errorf("temporary password not unescaped in the text body")
				}
			}
			if n := len(s.Delivered()); n != len(samples) {
				t.Errorf("inbox holds %d emails, want %d", n, len(samples))
			}
		})
	}
}

// TestFaultsFailoverAndDLQ: with the primary down the email arrives through
// the next provider and the inbox shows the failover; with every provider
// refusing the recipient it lands in the DLQ, not in an inbox.
func TestFaultsFailoverAndDLQ(t *testing.T) {
	ctx := context.Background()
	s, err := localstack.Start(ctx, localstack.Options{Faults: map[string]localstack.Fault{"ses": {Status: 503}}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	id := ingestOne(t, s, cognito.SignUp)
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	d, ok := s.WaitDelivered(wctx, id)[id]
	if !ok || d.Provider != "sendgrid" || len(d.Failovers) != 1 || !strings.HasPrefix(d.Failovers[0], "ses: ") {
		t.Fatalf("delivery = %+v (ok=%v), want sendgrid after ses failed", d, ok)
	}

	// Every provider rejects the message: permanent everywhere, dead-lettered.
	s.SetFaults(refuseAll)
	id = ingestOne(t, s, cognito.ForgotPassword)
	var dlq []string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline) && len(dlq) == 0; {
		r, err := s.SQSClient.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(s.DLQURL), WaitTimeSeconds: 1, MessageAttributeNames: []string{"All"}})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range r.Messages {
			if aws.ToString(m.MessageAttributes[envelope.AttrMessageID].StringValue) == id {
				dlq = append(dlq, aws.ToString(m.MessageAttributes["cogmail.reason"].StringValue))
			}
		}
	}
	if len(dlq) != 1 || dlq[0] == "" {
		t.Fatalf("DLQ holds %v for the rejected message, want one with a reason", dlq)
	}
	for _, d := range s.Delivered() {
		if d.MessageID == id {
			t.Errorf("a rejected message was delivered by %s", d.Provider)
		}
	}
}

// TestProviderSwitchReachesRunningDispatch: changing the SSM parameter (what
// `cogmail providers set` does) reroutes a running dispatch, no restart.
func TestProviderSwitchReachesRunningDispatch(t *testing.T) {
	ctx := context.Background()
	s, err := localstack.Start(ctx, localstack.Options{DispatchEnv: map[string]string{"COGMAIL_PROVIDERS_REFRESH": "1s"}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	first := ingestOne(t, s, cognito.SignUp)
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if d := s.WaitDelivered(wctx, first)[first]; d.Provider != "ses" {
		t.Fatalf("first email went through %q, want ses", d.Provider)
	}
	if _, err := s.SSMClient.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(localstack.ProvidersParam), Overwrite: aws.Bool(true),
		Value: aws.String(`{"providers":["mailgun","ses"],"strategy":"failover"}`)}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); {
		id := ingestOne(t, s, cognito.ResendCode)
		if d := s.WaitDelivered(wctx, id)[id]; d.Provider == "mailgun" {
			return
		}
		time.Sleep(300 * time.Millisecond)
	}
	t.Fatal("dispatch never switched to mailgun after the parameter changed")
}

// refuseAll makes every provider of the default routing refuse the message
// itself (permanent): a message is dead-lettered as permanent only when
// every provider refused it.
var refuseAll = map[string]localstack.Fault{
	"ses": {Status: 400}, "sendgrid": {Status: 400}, "mailgun": {Status: 400}, "smtp": {Status: 550},
}

func ingestOne(t *testing.T, s *localstack.Stack, tr cognito.Trigger) string {
	t.Helper()
	ctx := context.Background()
	ct, err := s.Encrypter.Encrypt(ctx, localstack.NewCode(tr), localstack.SamplePool)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := localstack.Event(localstack.EventSpec{Trigger: tr, Pool: localstack.SamplePool, UserName: "u", Email: "u@example.com"}, ct)
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Ingest.Handle(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	return res.MessageID
}

func TestEventIsValidAndEncryptedAsCognitoDoes(t *testing.T) {
	ctx := context.Background()
	s, err := localstack.Start(ctx, localstack.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ct, err := s.Encrypter.Encrypt(ctx, "123456", localstack.SamplePool)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := localstack.Event(localstack.EventSpec{Trigger: cognito.SignUp, Pool: localstack.SamplePool, UserName: "u", Email: "u@example.com", Locale: "fr"}, ct)
	if err != nil {
		t.Fatal(err)
	}
	e, err := cognito.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if e.Attr("locale") != "fr" || e.Ciphertext() != ct || e.Sub() == "" {
		t.Errorf("event = %+v", e)
	}
	res, err := s.Ingest.Handle(ctx, raw)
	if err != nil || res.Locale != "fr" {
		t.Fatalf("Handle = %+v, %v", res, err)
	}
	if _, err := localstack.Event(localstack.EventSpec{Trigger: cognito.SignUp, Pool: "bad pool"}, ct); err == nil {
		t.Error("an invalid event was built")
	}
}

func TestStartRefusesNonLoopback(t *testing.T) {
	_, err := localstack.Start(context.Background(), localstack.Options{Addr: "0.0.0.0:0"})
	if err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("err = %v", err)
	}
}

func TestInvokeAPI(t *testing.T) {
	ctx := context.Background()
	s, err := localstack.Start(ctx, localstack.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ct, err := s.Encrypter.Encrypt(ctx, "654321", localstack.SamplePool)
	if err != nil {
		t.Fatal(err)
	}
	good, err := localstack.Event(localstack.EventSpec{Trigger: cognito.ForgotPassword, Pool: localstack.SamplePool, UserName: "u", Email: "u@example.com"}, ct)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, fn, body string
		status         int
		funcErr        bool
		want           string
	}{
		{"delivers", "ingest", string(good), 200, false, `"trigger":"CustomEmailSender_ForgotPassword"`},
		{"function error", "ingest", `{"triggerSource":"nope"}`, 200, true, `"errorType":"ingest.parse"`},
		{"unknown function", "dispatch2", string(good), 404, false, "Function not found"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.Post(s.URL+"/2015-03-31/functions/"+tc.fn+"/invocations", "application/json", strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status || (resp.Header.Get("X-Amz-Function-Error") != "") != tc.funcErr || !strings.Contains(string(b), tc.want) {
				t.Errorf("got %d %q %s", resp.StatusCode, resp.Header.Get("X-Amz-Function-Error"), b)
			}
			if strings.Contains(string(b), "654321") {
				t.Error("the response carries the code")
			}
		})
	}
}

// TestUserPoolIDs: with Options.UserPoolIDs the samples use the first pool
// and an event of any other pool is refused before its code is decrypted.
func TestUserPoolIDs(t *testing.T) {
	ctx := context.Background()
	const mine = "eu-west-1_Mine01"
	s, err := localstack.Start(ctx, localstack.Options{UserPoolIDs: []string{mine}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, smp := range s.RunSamples(ctx, 30*time.Second) {
		if smp.Err != nil || !smp.Delivered() {
			t.Errorf("sample %s with --user-pool-id %s: %v", smp.Trigger.Short(), mine, smp.Err)
		}
	}
	ct, err := s.Encrypter.Encrypt(ctx, "123456", localstack.SamplePool)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := localstack.Event(localstack.EventSpec{Trigger: cognito.SignUp, Pool: localstack.SamplePool, UserName: "u", Email: "u@example.com"}, ct)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Ingest.Handle(ctx, raw)
	if !errors.Is(err, ingest.ErrForeignPool) || !strings.Contains(err.Error(), "user pool "+localstack.SamplePool+" is not one of "+mine) {
		t.Fatalf("Handle(event of %s) = %v, want ErrForeignPool naming both pools", localstack.SamplePool, err)
	}
}
