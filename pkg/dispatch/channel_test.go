package dispatch_test

import (
	"context"
	"strings"
	"testing"

	"github.com/cogmail/cogmail/pkg/cognito"
	"github.com/cogmail/cogmail/pkg/envelope"
)

// TestSMSEnvelopeIsDeadLettered: until dispatch has SMS providers, a text
// message's envelope is dead-lettered at once as channel-unsupported, whole
// and with its reason, and no email provider is called; nothing of its
// number or text reaches the logs or the DLQ's attributes.
func TestSMSEnvelopeIsDeadLettered(t *testing.T) {
	t.Parallel()
	ses := newSender("ses")
	f := newFixture(t, ses)
	h := f.handler()
	rec, sec := f.message(func(e *envelope.Envelope, p *envelope.Payload) {
		e.Version, e.Trigger, e.Channel = envelope.SchemaVersionSMS, cognito.SMSSignUp, cognito.ChannelSMS
		e.SMS = &envelope.SMS{Country: "GB", Encoding: "GSM-7", Segments: 1}
		p.Channel, p.To, p.Subject, p.HTML = cognito.ChannelSMS, "+442071234567", "", ""
	})
	resp, err := h.Handle(context.Background(), batch(rec))
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.BatchItemFailures) != 0 {
		t.Errorf("batch item failures %v: the message should be dead-lettered, not retried", resp.BatchItemFailures)
	}
	if ses.Calls() != 0 {
		t.Errorf("an email provider was called %d times for a text message", ses.Calls())
	}
	dlq := f.queue.DLQ()
	if len(dlq) != 1 || reason(dlq[0]) != envelope.ReasonChannelUnsupported {
		t.Fatalf("DLQ %d messages, want one dead-lettered as channel-unsupported", len(dlq))
	}
	if aws := dlq[0]; *aws.MessageBody != rec.Body {
		t.Errorf("the dead letter is not the original body")
	}
	for _, s := range []string{"+442071234567", "2071234567", sec.Code} {
		if strings.Contains(f.logs.String(), s) {
			t.Errorf("logs contain %q", s)
		}
		for k, v := range dlq[0].MessageAttributes {
			if v.StringValue != nil && strings.Contains(*v.StringValue, s) {
				t.Errorf("DLQ attribute %s contains %q", k, s)
			}
		}
	}
	if !strings.Contains(f.logs.String(), "no provider for the channel") {
		t.Errorf("the logs do not say why:\n%s", f.logs.String())
	}
}
