package mailevent

import (
	"encoding/json"
	"time"
)

// SESMessageIDTag is the email tag that carries cogmail's message id
// (pkg/provider/ses sends it); configuration-set event publishing echoes
// tags in mail.tags.
const SESMessageIDTag = "cogmail_message_id"

// snsEnvelope is an SNS notification as SNS delivers it to an SQS queue
// without raw message delivery: the SES JSON is a string in Message.
type snsEnvelope struct {
	Type    string  `json:"Type"`
	Message *string `json:"Message"`
}

// sesNotification is SES's bounce, complaint and delivery JSON: eventType
// for configuration-set event publishing, notificationType for identity
// notifications. Field names are SES's.
type sesNotification struct {
	EventType        string `json:"eventType"`
	NotificationType string `json:"notificationType"`
	Mail             struct {
		MessageID   string              `json:"messageId"`
		Timestamp   string              `json:"timestamp"`
		Destination []string            `json:"destination"`
		Tags        map[string][]string `json:"tags"`
	} `json:"mail"`
	Bounce *struct {
		BounceType        string `json:"bounceType"` // Permanent, Transient, Undetermined
		BouncedRecipients []struct {
			EmailAddress string `json:"emailAddress"`
		} `json:"bouncedRecipients"`
		Timestamp string `json:"timestamp"`
	} `json:"bounce"`
	Complaint *struct {
		ComplainedRecipients []struct {
			EmailAddress string `json:"emailAddress"`
		} `json:"complainedRecipients"`
		Timestamp string `json:"timestamp"`
	} `json:"complaint"`
	Delivery *struct {
		Recipients []string `json:"recipients"`
		Timestamp  string   `json:"timestamp"`
	} `json:"delivery"`
	Reject *struct {
		Reason string `json:"reason"`
	} `json:"reject"`
}

// ParseSES reads one SES notification, either wrapped in the SNS envelope
// (an SQS message from an SNS subscription) or raw (raw message delivery).
// A bounce or complaint names several recipients: one Event each. Events
// cogmail does not act on (Send, Open, Click, DeliveryDelay, ...) and SNS
// messages that are not notifications give none. Mapping: Delivery →
// Delivered; Bounce Permanent → permanent Bounce, Transient or Undetermined
// → transient Bounce; Complaint → Complaint; Reject → Dropped.
func ParseSES(body []byte) ([]Event, error) {
	var env snsEnvelope
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, malformed(SES, "the body is not a JSON object")
	}
	if env.Type != "" {
		if env.Type != "Notification" {
			return nil, nil // SubscriptionConfirmation and the like
		}
		if env.Message == nil {
			return nil, malformed(SES, "the SNS notification has no Message")
		}
		body = []byte(*env.Message)
	}
	var n sesNotification
	if err := json.Unmarshal(body, &n); err != nil {
		return nil, malformed(SES, "the notification is not SES's JSON")
	}
	kind := n.EventType
	if kind == "" {
		kind = n.NotificationType
	}
	base := Event{Provider: SES, ProviderMessageID: n.Mail.MessageID}
	if ids := n.Mail.Tags[SESMessageIDTag]; len(ids) > 0 {
		base.MessageID = ids[0]
	}
	var (
		addrs []string
		when  string
	)
	switch kind {
	case "Bounce":
		if n.Bounce == nil {
			return nil, malformed(SES, "a Bounce without a bounce object")
		}
		base.Kind, base.Bounce = Bounce, Transient
		switch n.Bounce.BounceType {
		case "Permanent":
			base.Bounce = Permanent
		case "Transient", "Undetermined":
		default:
			return nil, malformed(SES, "bounceType %q is not Permanent, Transient or Undetermined", n.Bounce.BounceType)
		}
		for _, r := range n.Bounce.BouncedRecipients {
			addrs = append(addrs, r.EmailAddress)
		}
		when = n.Bounce.Timestamp
	case "Complaint":
		if n.Complaint == nil {
			return nil, malformed(SES, "a Complaint without a complaint object")
		}
		base.Kind = Complaint
		for _, r := range n.Complaint.ComplainedRecipients {
			addrs = append(addrs, r.EmailAddress)
		}
		when = n.Complaint.Timestamp
	case "Delivery":
		if n.Delivery == nil {
			return nil, malformed(SES, "a Delivery without a delivery object")
		}
		base.Kind = Delivered
		addrs, when = n.Delivery.Recipients, n.Delivery.Timestamp
	case "Reject":
		base.Kind = Dropped
		addrs, when = n.Mail.Destination, n.Mail.Timestamp
	case "":
		return nil, malformed(SES, "neither eventType nor notificationType")
	default:
		return nil, nil
	}
	if len(addrs) == 0 {
		return nil, malformed(SES, "%s names no recipient", kind)
	}
	t, err := time.Parse(time.RFC3339Nano, when)
	if err != nil {
		return nil, malformed(SES, "%s has no valid timestamp", kind)
	}
	out := make([]Event, 0, len(addrs))
	for i, s := range addrs {
		a, ok := address(s)
		if !ok {
			return nil, malformed(SES, "%s recipient %d is not a valid address", kind, i)
		}
		ev := base
		ev.Address, ev.Time = a, t.UTC()
		out = append(out, ev)
	}
	return out, nil
}
