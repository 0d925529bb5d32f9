package localstack_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/cogmail/cogmail/internal/local/localstack"
	"github.com/cogmail/cogmail/pkg/cognito"
	"github.com/cogmail/cogmail/pkg/envelope"
)

// ingestTo ingests a SignUp event for addr and returns its message id.
func ingestTo(t *testing.T, s *localstack.Stack, addr string) string {
	t.Helper()
	ctx := context.Background()
	ct, err := s.Encrypter.Encrypt(ctx, localstack.NewCode(cognito.SignUp), localstack.SamplePool)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := localstack.Event(localstack.EventSpec{Trigger: cognito.SignUp, Pool: localstack.SamplePool, UserName: "u", Email: addr}, ct)
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Ingest.Handle(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	return res.MessageID
}

// TestInternationalAddresses: through the whole stack, a domain reaches the
// provider (and the inbox and /api/messages) in IDNA ASCII form; a
// non-ASCII local part goes to the first provider that takes one (Mailgun
// in the default routing, after SES and SendGrid); with SES alone it is
// dead-lettered at once as address-unsupported, as SES would refuse it.
func TestInternationalAddresses(t *testing.T) {
	ctx := context.Background()
	t.Run("default routing", func(t *testing.T) {
		s, err := localstack.Start(ctx, localstack.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		idnDomain := ingestTo(t, s, "juergen@Bücher.example")
		idnLocal := ingestTo(t, s, "jürgen@bücher.example")
		wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		got := s.WaitDelivered(wctx, idnDomain, idnLocal)
		if d := got[idnDomain]; d.Provider != "ses" || d.To != "juergen@xn--bcher-kva.example" {
			t.Errorf("IDN domain: delivered %+v, want ses to juergen@xn--bcher-kva.example", d)
		}
		if d := got[idnLocal]; d.Provider != "mailgun" || d.To != "jürgen@xn--bcher-kva.example" || len(d.Failovers) != 0 {
			t.Errorf("non-ASCII local part: delivered %+v, want mailgun (no failover) to jürgen@xn--bcher-kva.example", d)
		}
		resp, err := http.Get(s.URL + "/api/messages")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var listed []map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&listed); err != nil {
			t.Fatal(err)
		}
		tos := map[string]bool{}
		for _, m := range listed {
			if to, ok := m["to"].(string); ok {
				tos[to] = true
			}
		}
		if !tos["juergen@xn--bcher-kva.example"] || !tos["jürgen@xn--bcher-kva.example"] {
			t.Errorf("/api/messages shows to %v, want the addresses as handed to the providers", tos)
		}
	})
	t.Run("ses alone", func(t *testing.T) {
		s, err := localstack.Start(ctx, localstack.Options{Providers: "ses"})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		id := ingestTo(t, s, "jürgen@bücher.example")
		var reasons []string
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline) && len(reasons) == 0; {
			r, err := s.SQSClient.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(s.DLQURL), WaitTimeSeconds: 1, MessageAttributeNames: []string{"All"}})
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range r.Messages {
				if aws.ToString(m.MessageAttributes[envelope.AttrMessageID].StringValue) == id {
					reasons = append(reasons, aws.ToString(m.MessageAttributes[envelope.AttrReason].StringValue)+
						" after "+aws.ToString(m.MessageAttributes[envelope.AttrAttempts].StringValue))
				}
			}
		}
		if len(reasons) != 1 || reasons[0] != string(envelope.ReasonAddressUnsupported)+" after 1" {
			t.Fatalf("DLQ holds %v for the message, want address-unsupported after 1 (dead-lettered at once)", reasons)
		}
		for _, d := range s.Delivered() {
			if d.MessageID == id {
				t.Errorf("delivered by %s", d.Provider)
			}
		}
	})
}
