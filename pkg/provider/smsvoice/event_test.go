package smsvoice_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cogmail/cogmail/pkg/mailevent"
	"github.com/cogmail/cogmail/pkg/provider/smsvoice"
)

// event is an SMS event in the shape of the service's documented example.
func event(eventType string) string {
	return `{"eventType":"` + eventType + `","eventVersion":"1.0","eventTimestamp":1686975103470,"isFinal":true,` +
		`"originationPhoneNumber":"+12065550152","destinationPhoneNumber":"+14255550156","isInternationalSend":false,` +
		`"mcc":"310","mnc":"800","messageId":"862a8790-60c0-4430-9b2b-658bdexample","messageRequestTimestamp":1686975103170,` +
		`"messageEncoding":"GSM","messageType":"TRANSACTIONAL","messageStatus":"SUCCESSFUL",` +
		`"messageStatusDescription":"Message has been accepted by phone carrier","context":{"cogmail_message_id":"msg-9"},` +
		`"totalMessageParts":1,"totalMessagePrice":0.00581,"totalCarrierFee":0.0}`
}

func envelope(msg string) string {
	b, _ := json.Marshal(map[string]string{"Type": "Notification", "MessageId": "m-1", "TopicArn": "arn:aws:sns:eu-west-1:123456789012:sms-events", "Message": msg})
	return string(b)
}

func TestParseEvent(t *testing.T) {
	at := time.UnixMilli(1686975103470).UTC()
	ev := func(kind mailevent.Kind, b mailevent.BounceType) []mailevent.Event {
		return []mailevent.Event{{Kind: kind, Bounce: b, Provider: "smsvoice", Address: "+14255550156",
			ProviderMessageID: "862a8790-60c0-4430-9b2b-658bdexample", MessageID: "msg-9", Time: at}}
	}
	tests := []struct {
		name string
		body string
		want []mailevent.Event
		err  error
	}{
		{"delivered, raw", event("TEXT_DELIVERED"), ev(mailevent.Delivered, ""), nil},
		{"successful, through SNS", envelope(event("TEXT_SUCCESSFUL")), ev(mailevent.Delivered, ""), nil},
		{"invalid number", envelope(event("TEXT_INVALID")), ev(mailevent.Bounce, mailevent.Permanent), nil},
		{"blocked", event("TEXT_BLOCKED"), ev(mailevent.Bounce, mailevent.Permanent), nil},
		{"unreachable", event("TEXT_UNREACHABLE"), ev(mailevent.Bounce, mailevent.Transient), nil},
		{"carrier unreachable", event("TEXT_CARRIER_UNREACHABLE"), ev(mailevent.Bounce, mailevent.Transient), nil},
		{"ttl expired", event("TEXT_TTL_EXPIRED"), ev(mailevent.Bounce, mailevent.Transient), nil},
		{"carrier blocked", event("TEXT_CARRIER_BLOCKED"), ev(mailevent.Bounce, mailevent.Transient), nil},
		{"spam", event("TEXT_SPAM"), ev(mailevent.Bounce, mailevent.Transient), nil},
		{"unknown", event("TEXT_UNKNOWN"), ev(mailevent.Bounce, mailevent.Transient), nil},
		{"protect blocked", event("TEXT_PROTECT_BLOCKED"), ev(mailevent.Dropped, ""), nil},
		{"invalid message", event("TEXT_INVALID_MESSAGE"), ev(mailevent.Dropped, ""), nil},
		{"queued: no event", event("TEXT_QUEUED"), nil, nil},
		{"voice: no event", event("VOICE_COMPLETED"), nil, nil},
		{"not JSON", "hello", nil, mailevent.ErrMalformed},
		{"SNS subscription confirmation", `{"Type":"SubscriptionConfirmation","Message":"x"}`, nil, mailevent.ErrMalformed},
		{"no eventType", `{"destinationPhoneNumber":"+14255550156"}`, nil, mailevent.ErrMalformed},
		{"bad number", strings.Replace(event("TEXT_INVALID"), `"+14255550156"`, `"4255550156"`, 1), nil, mailevent.ErrMalformed},
		{"no message id", strings.Replace(event("TEXT_INVALID"), `"messageId":"862a8790-60c0-4430-9b2b-658bdexample"`, `"messageId":""`, 1), nil, mailevent.ErrMalformed},
		{"no timestamp", strings.Replace(event("TEXT_INVALID"), `"eventTimestamp":1686975103470,`, ``, 1), nil, mailevent.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := smsvoice.ParseEvent([]byte(tt.body))
			if !errors.Is(err, tt.err) || (tt.err == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if len(got) != len(tt.want) || (len(got) == 1 && got[0] != tt.want[0]) {
				t.Errorf("events %+v, want %+v", got, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "5550156") {
				t.Errorf("error %q quotes the number", err)
			}
		})
	}
}

// FuzzParseEvent: any body gives at most one event with an E.164 address,
// or a malformed (400) error that quotes no number.
func FuzzParseEvent(f *testing.F) {
	f.Add(event("TEXT_INVALID"))
	f.Add(envelope(event("TEXT_DELIVERED")))
	f.Add(`{"Type":"Notification","Message":"{\"eventType\":\"TEXT_BLOCKED\",\"destinationPhoneNumber\":\"+1\"}"}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, body string) {
		evs, err := smsvoice.ParseEvent([]byte(body))
		if err != nil {
			if mailevent.Status(err) != http.StatusBadRequest {
				t.Fatalf("error %v: status %d", err, mailevent.Status(err))
			}
			if strings.ContainsAny(err.Error(), "0123456789") && strings.Contains(err.Error(), "+") {
				t.Fatalf("error %q may quote a number", err)
			}
			return
		}
		if len(evs) > 1 {
			t.Fatalf("%d events", len(evs))
		}
		for _, e := range evs {
			if e.Provider != "smsvoice" || e.Kind == "" || len(e.Address) < 8 || e.Address[0] != '+' || e.ProviderMessageID == "" {
				t.Fatalf("event %+v", e)
			}
		}
	})
}

func ExampleParseEvent() {
	evs, err := smsvoice.ParseEvent([]byte(envelope(event("TEXT_INVALID"))))
	fmt.Println(evs[0], evs[0].MessageID, evs[0].Suppresses(), err)
	// Output: smsvoice bounce (permanent) msg-9 true <nil>
}
