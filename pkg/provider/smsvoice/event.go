package smsvoice

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/cogmail/cogmail/pkg/mailevent"
	"github.com/cogmail/cogmail/pkg/provider"
)

// ProviderName is the provider name delivery events carry. Their Address
// is the E.164 number (the suppression key for SMS).
const ProviderName = "smsvoice"

// snsEnvelope is an SNS notification as an SQS queue receives it from a
// topic without raw message delivery.
type snsEnvelope struct {
	Type    string  `json:"Type"`
	Message *string `json:"Message"`
}

// textEvent is the SMS event a configuration set's event destination
// publishes (End User Messaging's "SMS example log").
type textEvent struct {
	EventType              string            `json:"eventType"`
	EventTimestamp         *int64            `json:"eventTimestamp"`
	DestinationPhoneNumber string            `json:"destinationPhoneNumber"`
	MessageID              string            `json:"messageId"`
	MessageStatus          string            `json:"messageStatus"`
	Context                map[string]string `json:"context"`
}

// kinds maps eventType to what cogmail does with it. Types not listed
// (TEXT_QUEUED, TEXT_PENDING, voice and MMS events, new ones) give no event.
var kinds = map[string]struct {
	kind   mailevent.Kind
	bounce mailevent.BounceType
}{
	"TEXT_DELIVERED":  {mailevent.Delivered, ""},
	"TEXT_SUCCESSFUL": {mailevent.Delivered, ""},
	// The number does not exist, or its device or carrier blocks
	// messages to it: it will fail again, so it is suppressed.
	"TEXT_INVALID": {mailevent.Bounce, mailevent.Permanent},
	"TEXT_BLOCKED": {mailevent.Bounce, mailevent.Permanent},
	// Temporary, or about this message rather than the number.
	"TEXT_UNREACHABLE":         {mailevent.Bounce, mailevent.Transient},
	"TEXT_CARRIER_UNREACHABLE": {mailevent.Bounce, mailevent.Transient},
	"TEXT_TTL_EXPIRED":         {mailevent.Bounce, mailevent.Transient},
	"TEXT_CARRIER_BLOCKED":     {mailevent.Bounce, mailevent.Transient},
	"TEXT_SPAM":                {mailevent.Bounce, mailevent.Transient},
	"TEXT_UNKNOWN":             {mailevent.Bounce, mailevent.Transient},
	// Not tried: our protect configuration, or a body the service refused.
	"TEXT_PROTECT_BLOCKED": {mailevent.Dropped, ""},
	"TEXT_INVALID_MESSAGE": {mailevent.Dropped, ""},
}

// ParseEvent reads one SMS event of a configuration set's event
// destination, as the events queue receives it from the SNS topic (an SNS
// notification envelope, or the bare event with raw message delivery),
// into at most one delivery event keyed by the destination's E.164
// number, with the service's messageId and, from the message's Context,
// our message id. See kinds for the mapping. A body that is not such an
// event is a *mailevent.Error of kind ErrMalformed, whose text never
// quotes the number.
func ParseEvent(body []byte) ([]mailevent.Event, error) {
	var env snsEnvelope
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, malformed("body is not JSON")
	}
	if env.Message != nil {
		if env.Type != "Notification" {
			return nil, malformed("SNS message is not a Notification")
		}
		body = []byte(*env.Message)
	}
	var ev textEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		return nil, malformed("event is not a JSON object")
	}
	if ev.EventType == "" {
		return nil, malformed("eventType is missing")
	}
	k, ok := kinds[ev.EventType]
	if !ok {
		return nil, nil
	}
	switch {
	case !provider.E164(ev.DestinationPhoneNumber):
		return nil, malformed("destinationPhoneNumber is not an E.164 number")
	case ev.MessageID == "":
		return nil, malformed("messageId is missing")
	case ev.EventTimestamp == nil || *ev.EventTimestamp <= 0:
		return nil, malformed("eventTimestamp is missing")
	}
	return []mailevent.Event{{
		Kind:              k.kind,
		Bounce:            k.bounce,
		Provider:          ProviderName,
		Address:           ev.DestinationPhoneNumber,
		ProviderMessageID: ev.MessageID,
		MessageID:         ev.Context[ContextMessageID],
		Time:              time.UnixMilli(*ev.EventTimestamp).UTC(),
	}}, nil
}

func malformed(format string, args ...any) error {
	return &mailevent.Error{Provider: ProviderName, Kind: mailevent.ErrMalformed, Reason: fmt.Sprintf(format, args...)}
}
