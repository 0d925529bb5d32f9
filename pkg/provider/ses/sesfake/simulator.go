package sesfake

import (
	"encoding/json"
	"strings"
	"time"
)

// The SES mailbox simulator's addresses this fake answers for, as SES does:
// mail to them is accepted, then an event is published.
const (
	SimulatorSuccess   = "success@simulator.amazonses.com"
	SimulatorBounce    = "bounce@simulator.amazonses.com"
	SimulatorComplaint = "complaint@simulator.amazonses.com"
)

// simulate builds the configuration-set event SES publishes for a message
// to a simulator address (Delivery, a Permanent Bounce, a Complaint), in
// SES's documented event JSON; nil for any other address.
func simulate(m Message, now time.Time) []byte {
	type recipient struct {
		EmailAddress string `json:"emailAddress"`
	}
	tags := map[string][]string{}
	for k, v := range m.Tags {
		tags[k] = []string{v}
	}
	if m.ConfigurationSet != "" {
		tags["ses:configuration-set"] = []string{m.ConfigurationSet}
	}
	ts := now.UTC().Format("2006-01-02T15:04:05.000Z")
	ev := map[string]any{
		"mail": map[string]any{
			"timestamp": ts, "messageId": m.MessageID, "source": m.From,
			"destination": []string{m.To}, "tags": tags,
		},
	}
	switch strings.ToLower(m.To) {
	case SimulatorSuccess:
		ev["eventType"] = "Delivery"
		ev["delivery"] = map[string]any{"timestamp": ts, "recipients": []string{m.To}, "smtpResponse": "250 2.6.0 Message received",
			"processingTimeMillis": 1}
	case SimulatorBounce:
		ev["eventType"] = "Bounce"
		ev["bounce"] = map[string]any{"bounceType": "Permanent", "bounceSubType": "General", "timestamp": ts,
			"feedbackId": m.MessageID + "-bounce",
			"bouncedRecipients": []map[string]string{{"emailAddress": m.To, "action": "failed", "status": "5.1.1",
				"diagnosticCode": "smtp; 550 5.1.1 user unknown"}}}
	case SimulatorComplaint:
		ev["eventType"] = "Complaint"
		ev["complaint"] = map[string]any{"timestamp": ts, "feedbackId": m.MessageID + "-complaint",
			"complaintFeedbackType": "abuse", "complainedRecipients": []recipient{{m.To}}}
	default:
		return nil
	}
	b, _ := json.Marshal(ev)
	return b
}
