package localstack_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/cogmail/cogmail/internal/fixtures"
	"github.com/cogmail/cogmail/pkg/codecrypt"
	"github.com/cogmail/cogmail/pkg/cognito"
	"github.com/cogmail/cogmail/pkg/envelope"
	"github.com/cogmail/cogmail/pkg/localstack"
	"github.com/cogmail/cogmail/pkg/seal"
)

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
			samples := s.RunSamples(ctx)
			if len(samples) != len(cognito.Triggers) {
				t.Fatalf("%d samples, want one per trigger", len(samples))
			}
			for _, smp := range samples {
				if smp.Err != nil {
					t.Errorf("%s: %v", smp.Trigger.Short(), smp.Err)
				}
			}
			opener, err := seal.NewOpener(seal.OpenerOptions{KMS: s.KMSClient})
			if err != nil {
				t.Fatal(err)
			}
			got := 0
			for got < len(samples) {
				r, err := s.SQSClient.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(s.QueueURL), MaxNumberOfMessages: 10})
				if err != nil || len(r.Messages) == 0 {
					t.Fatalf("received %d of %d: %v", got, len(samples), err)
				}
				for _, m := range r.Messages {
					e, err := envelope.Parse([]byte(aws.ToString(m.Body)))
					if err != nil {
						t.Fatal(err)
					}
					plain, err := opener.Open(ctx, e.ID, e.Sealed)
					if err != nil {
						t.Fatal(err)
					}
					var p envelope.Payload
					if err := json.Unmarshal(plain, &p); err != nil || !strings.HasSuffix(p.To, "@example.com") {
						t.Errorf("payload: %v %q", err, p.To)
					}
					if e.Trigger == cognito.AdminCreateUser && (!strings.Contains(p.Text, "Tmp<") || strings.Contains(p.Text, "&lt;")) {
						t.Errorf("temporary password not unescaped in the text body")
					}
					got++
				}
			}
		})
	}
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
