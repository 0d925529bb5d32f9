package dlq

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/cogmail/cogmail/pkg/envelope"
)

// FuzzDecode feeds decode what a DLQ may hold: any body, any attribute
// values. It must not panic, and what it says of a body it cannot read
// must not quote the body.
func FuzzDecode(f *testing.F) {
	f.Add(`{"v":1,"id":"abc","dedupKey":"d","trigger":"CustomEmailSender_SignUp","pool":"p","userName":"u","createdAt":"2026-01-01T00:00:00Z","expiresAt":"2026-01-02T00:00:00Z","sealed":{"alg":"AES-256-GCM","dk":"AQ==","iv":"Ag==","ct":"Aw=="}}`,
		"CustomEmailSender_SignUp", "permanent", "3", "2026-01-02T00:00:00Z", "1767225600000")
	f.Add(`{"v":1,"id":"secret-in-body@example.com"`, "", "", "x", "not a time", "-1")
	f.Add(`not json secret-in-body@example.com`, "CustomEmailSender_", "", "", "", "")
	f.Fuzz(func(t *testing.T, body, trigger, reason, attempts, expires, sent string) {
		attrs := map[string]sqstypes.MessageAttributeValue{}
		for name, v := range map[string]string{"cogmail.trigger": trigger, envelope.AttrReason: reason, envelope.AttrAttempts: attempts,
			"cogmail.expiresAt": expires, envelope.AttrLastError + "sendgrid": reason} {
			attrs[name] = sqstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
		}
		attrs["bin"] = sqstypes.MessageAttributeValue{DataType: aws.String("Binary"), BinaryValue: []byte(body)}
		m := decode(sqstypes.Message{MessageId: aws.String("id"), Body: aws.String(body), MessageAttributes: attrs,
			Attributes: map[string]string{"SentTimestamp": sent, "ApproximateReceiveCount": attempts}}, time.Unix(1767225600, 0))
		if m.Reason == "" {
			t.Error("no reason")
		}
		if m.Problem != "" && len(body) > 8 && strings.Contains(m.Problem, body) {
			t.Errorf("problem %q quotes the body", m.Problem)
		}
		if !strings.HasPrefix(m.Attributes["bin"], "(Binary, ") {
			t.Errorf("binary attribute shown as %q, not by its size", m.Attributes["bin"])
		}
	})
}
