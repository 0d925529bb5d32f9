package localstack_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/cogmail/cogmail/internal/local/localstack"
	"github.com/cogmail/cogmail/pkg/cognito"
	"github.com/cogmail/cogmail/pkg/envelope"
)

// TestOutageIsAbsorbed: every provider is down for 200 s (PUT /api/faults),
// then healed (PUT /api/faults with an empty body), on the local stack with
// the stack's own retry schedule and redrive numbers, in real time. Every
// ForgotPassword email sent during the outage (its code lives an hour) is
// delivered after recovery; every Authentication code (3 minutes) is
// dead-lettered as expired, saying how long it waited; nothing is
// dead-lettered as retries-exhausted or breakers-open, and nothing is
// delivered twice. It takes about four minutes of wall time, almost all of
// it waiting (the outage must outlive an Authentication code).
func TestOutageIsAbsorbed(t *testing.T) {
	t.Parallel()
	const (
		outage = 200 * time.Second
		forgot = 20 // ForgotPassword emails, over the outage's first 15 s
		auth   = 10 // Authentication codes, over its first 5 s
	)
	ctx := context.Background()
	s, err := localstack.Start(ctx, localstack.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	faults := func(body string) {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, s.URL+"/api/faults", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("PUT /api/faults %q: %s", body, resp.Status)
		}
	}

	faults("ses=1,sendgrid=1,mailgun=1,smtp=1")
	down := time.Now()
	var forgotIDs []string
	authIDs := map[string]bool{}
	for i := range forgot {
		if i < auth {
			authIDs[ingestAs(t, s, cognito.Authentication, fmt.Sprintf("auth%02d", i))] = true
		}
		forgotIDs = append(forgotIDs, ingestAs(t, s, cognito.ForgotPassword, fmt.Sprintf("forgot%02d", i)))
		time.Sleep(15 * time.Second / forgot)
	}
	if wait := time.Until(down.Add(outage)); wait > 0 {
		time.Sleep(wait)
	}
	if n := len(s.Delivered()); n != 0 {
		t.Fatalf("%d emails delivered while every provider was down", n)
	}
	faults("")
	healed := time.Now()

	wctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	got := s.WaitDelivered(wctx, forgotIDs...)
	var last time.Time
	for _, id := range forgotIDs {
		d, ok := got[id]
		if !ok {
			t.Errorf("ForgotPassword %s not delivered after the outage", id)
			continue
		}
		if d.DeliveredAt.After(last) {
			last = d.DeliveredAt
		}
	}
	t.Logf("providers back at +%v; the last of %d held ForgotPassword emails delivered %v later",
		healed.Sub(down).Round(time.Second), forgot, last.Sub(healed).Round(100*time.Millisecond))

	deliveries := map[string]int{}
	for _, d := range s.Delivered() {
		deliveries[d.MessageID]++
		if authIDs[d.MessageID] {
			t.Errorf("Authentication %s delivered after its code expired", d.MessageID)
		}
	}
	for id, n := range deliveries {
		if n > 1 {
			t.Errorf("%s delivered %d times", id, n)
		}
	}

	// The DLQ: every Authentication code, as expired, and nothing else.
	dead := map[string]string{}
	for deadline := time.Now().Add(30 * time.Second); len(dead) < auth && time.Now().Before(deadline); {
		r, err := s.SQSClient.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(s.DLQURL), MaxNumberOfMessages: 10,
			WaitTimeSeconds: 1, VisibilityTimeout: 300, MessageAttributeNames: []string{"All"}})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range r.Messages {
			id := aws.ToString(m.MessageAttributes[envelope.AttrMessageID].StringValue)
			reason := aws.ToString(m.MessageAttributes[envelope.AttrReason].StringValue)
			detail := aws.ToString(m.MessageAttributes[envelope.AttrError].StringValue)
			dead[id] = reason
			if !authIDs[id] || reason != string(envelope.ReasonExpired) {
				t.Errorf("dead-lettered %s as %q (%s): want only the Authentication codes, as expired", id, reason, detail)
			} else if !strings.Contains(detail, "the outage lasted at least") {
				t.Errorf("an expired code does not say how long it waited: %q", detail)
			}
		}
	}
	for id := range authIDs {
		if dead[id] == "" {
			t.Errorf("Authentication %s is not in the DLQ", id)
		}
	}
}

// ingestOne with a user of its own.
func ingestAs(t *testing.T, s *localstack.Stack, tr cognito.Trigger, user string) string {
	t.Helper()
	ctx := context.Background()
	ct, err := s.Encrypter.Encrypt(ctx, localstack.NewCode(tr), localstack.SamplePool)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := localstack.Event(localstack.EventSpec{Trigger: tr, Pool: localstack.SamplePool, UserName: user, Email: user + "@example.com"}, ct)
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Ingest.Handle(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	return res.MessageID
}
