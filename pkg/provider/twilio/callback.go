package twilio

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	twclient "github.com/twilio/twilio-go/client"

	"github.com/cogmail/cogmail/pkg/mailevent"
	"github.com/cogmail/cogmail/pkg/provider"
)

// SignatureHeader is the header Twilio signs its webhooks with.
const SignatureHeader = "X-Twilio-Signature"

// CallbackVerifier checks X-Twilio-Signature on status callbacks with
// twilio-go's request validator. Twilio signs with the account's auth
// token (also when messages are sent with an API key), over the exact URL
// it posted to, scheme, host, port, path and query included: the events
// function must know its own public URL (its function URL plus /twilio,
// given in COGMAIL_TWILIO_STATUS_CALLBACK), not rebuild it from the
// request it got behind a proxy.
type CallbackVerifier struct {
	v twclient.RequestValidator
}

// NewCallbackVerifier returns a verifier for the account's auth token.
func NewCallbackVerifier(authToken string) (*CallbackVerifier, error) {
	if authToken == "" {
		return nil, errors.New("twilio: " + EnvAuthToken + " is required to verify status callbacks")
	}
	return &CallbackVerifier{v: twclient.NewRequestValidator(authToken)}, nil
}

// Verify checks that signature is Twilio's for a POST of form to
// publicURL. A failure is a *mailevent.Error of kind ErrSignature (401),
// or ErrMalformed (400) for a form with a repeated field, which Twilio
// never sends.
func (v *CallbackVerifier) Verify(publicURL string, form url.Values, signature string) error {
	params := make(map[string]string, len(form))
	for k, vs := range form {
		if len(vs) != 1 {
			return &mailevent.Error{Provider: ProviderName, Kind: mailevent.ErrMalformed, Reason: "field " + strconv.Quote(k) + " is repeated"}
		}
		params[k] = vs[0]
	}
	if signature == "" {
		return &mailevent.Error{Provider: ProviderName, Kind: mailevent.ErrSignature, Reason: SignatureHeader + " is missing"}
	}
	if !v.v.Validate(publicURL, params, signature) {
		return &mailevent.Error{Provider: ProviderName, Kind: mailevent.ErrSignature, Reason: SignatureHeader + " does not match the URL and form"}
	}
	return nil
}

// ProviderName is the provider name delivery events carry. Their Address
// is the E.164 number (the suppression key for SMS), not an email address.
const ProviderName = "twilio"

// Error codes Twilio reports in a failed or undelivered callback that
// mean the number will not receive SMS from us again: the event is a
// permanent bounce, and the number is suppressed.
var permanentDelivery = map[int]bool{
	CodeUnsubscribed: true, // the recipient replied STOP
	CodeNotMobile:    true,
	CodeInvalidTo:    true,
	30004:            true, // message blocked (by the recipient, or the number blocks us)
	30005:            true, // unknown destination handset: the number does not exist
	30006:            true, // landline or unreachable carrier
}

// ParseCallback reads a status callback posted to callbackURL (the URL the
// message named; its MessageIDParam gives our message id) into at most one
// delivery event, keyed by the E.164 number in Event.Address:
//
//	MessageStatus delivered                        Delivered
//	failed or undelivered, ErrorCode in
//	  21610, 21614, 21211, 30004, 30005, 30006     Bounce, permanent (suppresses the number)
//	failed or undelivered, any other ErrorCode     Bounce, transient (30003 handset off, 30007 filtered, 30008 unknown, ...)
//	queued, sending, sent, accepted, read, ...     none
//
// Callbacks carry no time: the event has now. A form without MessageSid,
// MessageStatus or an E.164 To, or with a non-numeric ErrorCode, is a
// *mailevent.Error of kind ErrMalformed; its text never quotes the number.
func ParseCallback(callbackURL string, form url.Values, now time.Time) ([]mailevent.Event, error) {
	sid, status, to := form.Get("MessageSid"), form.Get("MessageStatus"), form.Get("To")
	if sid == "" {
		sid = form.Get("SmsSid")
	}
	if status == "" {
		status = form.Get("SmsStatus")
	}
	switch {
	case sid == "":
		return nil, malformed("MessageSid is missing")
	case status == "":
		return nil, malformed("MessageStatus is missing")
	case !provider.E164(to):
		return nil, malformed("To is not an E.164 number")
	}
	code := 0
	if v := form.Get("ErrorCode"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, malformed("ErrorCode is not a number")
		}
		code = n
	}
	e := mailevent.Event{Provider: ProviderName, Address: to, ProviderMessageID: sid, Time: now}
	if u, err := url.Parse(callbackURL); err == nil {
		e.MessageID = u.Query().Get(MessageIDParam)
	}
	switch status {
	case "delivered":
		e.Kind = mailevent.Delivered
	case "failed", "undelivered":
		e.Kind, e.Bounce = mailevent.Bounce, mailevent.Transient
		if permanentDelivery[code] {
			e.Bounce = mailevent.Permanent
		}
	default:
		return nil, nil
	}
	return []mailevent.Event{e}, nil
}

func malformed(format string, args ...any) error {
	return &mailevent.Error{Provider: ProviderName, Kind: mailevent.ErrMalformed, Reason: fmt.Sprintf(format, args...)}
}
