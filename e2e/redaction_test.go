package e2e_test

import (
	"context"
	"encoding/json"
	"html"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/cogmail/cogmail/pkg/ingest"
	"github.com/cogmail/cogmail/pkg/provider/mailgun/mailgunfake"
	"github.com/cogmail/cogmail/pkg/provider/sendgrid/sendgridfake"
)

// TestNoSecretsInLogsOrMetrics runs every shared event through both
// functions, with a failover, a permanent rejection and a malformed message
// on the way, and checks that no code, password, address, subject, body or
// API key appears in any log line, EMF line or DLQ attribute.
func TestNoSecretsInLogsOrMetrics(t *testing.T) {
	s := newStack(t, 5)
	ctx := context.Background()
	handlers := map[string]*ingest.Handler{"raw-aes": s.ingest("raw-aes"), "kms": s.ingest("kms")}
	forbidden := []string{sendgridKey, mailgunKey}
	for _, c := range s.events.Cases {
		_, _ = handlers[c.Keyring].Handle(ctx, c.Event) // rejects log their failure
		i := info(t, c)
		forbidden = append(forbidden, i.to)
		if c.Secret != "" {
			forbidden = append(forbidden, c.Secret, i.secret, html.EscapeString(i.secret))
		}
	}
	if _, err := s.sqs.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(s.queueURL),
		MessageBody: aws.String(`{"v":1,"to":"stray@example.com","text":"code 123456"}`)}); err != nil {
		t.Fatal(err)
	}
	forbidden = append(forbidden, "stray@example.com", "123456")

	// The first message is rejected by SendGrid and Mailgun for good (every
	// provider refuses it: dead-lettered as permanent); the next three find
	// SendGrid down and go to Mailgun; the rest go to SendGrid again.
	s.sg.SetFault(sendgridfake.Fault{Status: 400, Field: "personalizations.0.to.0.email", Message: "Does not contain a valid address.", Count: 1})
	s.mg.SetFault(mailgunfake.Fault{Status: 400, Message: "to parameter is not a valid address", Count: 1})
	h := s.dispatcher(s.dispatchEnv("sendgrid,mailgun", map[string]string{"COGMAIL_CONCURRENCY": "1"}))
	p := newPoller(t, s, h)
	if _, err := p.Poll(ctx); err != nil { // the first batch meets the permanent fault
		t.Fatal(err)
	}
	s.sg.SetFault(sendgridfake.Fault{Status: 503, Count: 3})
	s.mg.SetFault(mailgunfake.Fault{})
	s.drain(h)

	for _, d := range s.deliveries() {
		forbidden = append(forbidden, d.Subject, d.Text, d.HTML)
		for _, line := range strings.Split(d.Text, "\n") {
			if len(strings.TrimSpace(line)) >= 24 {
				forbidden = append(forbidden, strings.TrimSpace(line))
			}
		}
	}
	var dlqAttrs strings.Builder
	reasons := map[string]int{}
	for _, d := range s.deadLetters() {
		reasons[d.Reason]++
		for k, v := range d.Attrs {
			dlqAttrs.WriteString(k + "=" + v + "\n")
		}
	}
	if reasons["permanent"] != 1 || reasons["malformed"] != 1 {
		t.Fatalf("DLQ reasons %v, want one permanent and one malformed", reasons)
	}

	outputs := map[string]string{
		"ingest logs": s.ingestLogs.String(), "dispatch logs": s.dispatchLogs.String(),
		"ingest EMF": s.ingestEMF.String(), "dispatch EMF": s.dispatchEMF.String(),
		"DLQ attributes": dlqAttrs.String(),
	}
	for name, out := range outputs {
		if strings.TrimSpace(out) == "" {
			t.Errorf("%s: empty: nothing was checked", name)
		}
		for _, f := range forbidden {
			if f != "" && strings.Contains(out, f) {
				t.Errorf("%s contain %q", name, f)
			}
		}
	}
	// What the logs must say, with the stable keys.
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(s.ingestLogs.String()+s.dispatchLogs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("a log line is not JSON: %q", line)
		}
		msg, _ := m["msg"].(string)
		seen[msg] = true
		if msg == "sent" || msg == "delivered by a fallback provider" {
			for _, k := range []string{"trigger", "pool", "provider", "messageId", "attempt"} {
				if _, ok := m[k]; !ok {
					t.Errorf("%q lacks %q: %s", msg, k, line)
				}
			}
		}
	}
	for _, msg := range []string{"enqueued", "event not enqueued", "sent", "delivered by a fallback provider", "provider failed", "dead-lettered"} {
		if !seen[msg] {
			t.Errorf("no %q log line", msg)
		}
	}
}
