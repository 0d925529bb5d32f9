package mailevent

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/sendgrid/sendgrid-go/helpers/eventwebhook"
)

// SendGrid's signature headers.
const (
	SendGridSignatureHeader = eventwebhook.VerificationHTTPHeader // X-Twilio-Email-Event-Webhook-Signature
	SendGridTimestampHeader = eventwebhook.TimestampHTTPHeader    // X-Twilio-Email-Event-Webhook-Timestamp
)

// SendGridMessageIDArg is the custom argument that carries cogmail's
// message id (pkg/provider/sendgrid sends it); SendGrid echoes custom
// arguments as fields of each event.
const SendGridMessageIDArg = "cogmail_message_id"

// SendGridVerifier checks the Event Webhook's ECDSA signature, the age of
// its timestamp, and that the signed request was not seen before.
type SendGridVerifier struct {
	key    *ecdsa.PublicKey
	seen   Tokens
	maxAge time.Duration
	now    func() time.Time
}

// VerifyOptions tune a verifier. Zero values mean the defaults.
type VerifyOptions struct {
	MaxAge time.Duration    // default DefaultMaxAge
	Now    func() time.Time // default time.Now
}

func (o VerifyOptions) withDefaults() VerifyOptions {
	if o.MaxAge <= 0 {
		o.MaxAge = DefaultMaxAge
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// NewSendGridVerifier takes the verification key as SendGrid shows it in
// the Event Webhook settings: a base64 DER (PKIX) ECDSA public key. seen
// records the requests already applied, as Mailgun's tokens are recorded;
// nil means an in-memory TokenCache (one container).
func NewSendGridVerifier(publicKeyBase64 string, seen Tokens, o VerifyOptions) (*SendGridVerifier, error) {
	// sendgrid-go's ConvertPublicKeyBase64ToECDSA panics on a key of another
	// type, so the key is parsed here; the signature check is its helper's.
	der, err := base64.StdEncoding.DecodeString(publicKeyBase64)
	if err != nil {
		return nil, errors.New("mailevent: the SendGrid verification key is not base64")
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, errors.New("mailevent: the SendGrid verification key is not a DER public key")
	}
	pub, ok := k.(*ecdsa.PublicKey)
	if !ok {
		return nil, errors.New("mailevent: the SendGrid verification key is not an ECDSA key")
	}
	o = o.withDefaults()
	if seen == nil {
		seen = NewTokenCache(o.Now)
	}
	return &SendGridVerifier{key: pub, seen: seen, maxAge: o.MaxAge, now: o.Now}, nil
}

// Verify checks the signature of body (the raw request body, unparsed),
// that its timestamp is within the maximum age, and that the same signed
// request was not verified before within that window (ErrReplayed). Only
// a request that passes everything else is recorded.
//
// A request is known by what SendGrid signs, the timestamp and the body,
// not by the signature's bytes: an ECDSA signature can be re-encoded (s or
// n−s) so that it still verifies, and a replay would pass as new.
func (v *SendGridVerifier) Verify(ctx context.Context, h http.Header, body []byte) error {
	if err := v.check(h, body); err != nil {
		return err
	}
	ts := h.Get(SendGridTimestampHeader)
	secs, _ := strconv.ParseInt(ts, 10, 64) // checked above
	first, err := v.seen.FirstUse(ctx, sendGridReplayKey(ts, body), time.Unix(secs, 0).Add(v.maxAge))
	if err != nil {
		return err // the store failed: not the sender's fault (500, retried)
	}
	if !first {
		return &Error{Provider: SendGrid, Kind: ErrReplayed, Reason: "this signed request was already applied"}
	}
	return nil
}

// Forget drops the record Verify made, so that the provider's retry of a
// request that could not be applied is applied then.
func (v *SendGridVerifier) Forget(ctx context.Context, h http.Header, body []byte) error {
	return v.seen.Forget(ctx, sendGridReplayKey(h.Get(SendGridTimestampHeader), body))
}

func sendGridReplayKey(ts string, body []byte) string {
	sum := sha256.Sum256(append([]byte(ts), body...))
	return hex.EncodeToString(sum[:])
}

func (v *SendGridVerifier) check(h http.Header, body []byte) error {
	sig, ts := h.Get(SendGridSignatureHeader), h.Get(SendGridTimestampHeader)
	if sig == "" || ts == "" {
		return &Error{Provider: SendGrid, Kind: ErrSignature, Reason: "the signature or timestamp header is missing"}
	}
	ok, err := eventwebhook.VerifySignature(v.key, body, sig, ts)
	if err != nil || !ok {
		return &Error{Provider: SendGrid, Kind: ErrSignature, Reason: "the signature does not verify"}
	}
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return &Error{Provider: SendGrid, Kind: ErrStale, Reason: "the timestamp is not epoch seconds"}
	}
	return fresh(SendGrid, time.Unix(secs, 0), v.now(), v.maxAge)
}

// sendGridEvent is one element of the Event Webhook's JSON array, in
// SendGrid's documented field names.
type sendGridEvent struct {
	Email       string `json:"email"`
	Timestamp   *int64 `json:"timestamp"`
	Event       string `json:"event"`
	Type        string `json:"type"` // bounce: "bounce" or "blocked"
	SGMessageID string `json:"sg_message_id"`
	MessageID   string `json:"cogmail_message_id"`
}

// ParseSendGrid reads an Event Webhook body (a JSON array of events). Events
// cogmail does not act on (processed, deferred, open, click, unsubscribe,
// ...) are skipped. Mapping: delivered → Delivered; bounce of type
// "bounce" → permanent Bounce, of type "blocked" → transient Bounce (SendGrid
// calls it a soft bounce); dropped → Dropped; spamreport → Complaint.
func ParseSendGrid(body []byte) ([]Event, error) {
	var raw []json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, malformed(SendGrid, "the body is not a JSON array of events")
	}
	var out []Event
	for i, r := range raw {
		var e sendGridEvent
		dec := json.NewDecoder(bytes.NewReader(r))
		if err := dec.Decode(&e); err != nil {
			return nil, malformed(SendGrid, "event %d is not an event object", i)
		}
		ev := Event{Provider: SendGrid, ProviderMessageID: e.SGMessageID, MessageID: e.MessageID}
		switch e.Event {
		case "delivered":
			ev.Kind = Delivered
		case "bounce":
			ev.Kind, ev.Bounce = Bounce, Permanent
			switch e.Type {
			case "blocked":
				ev.Bounce = Transient
			case "", "bounce":
			default:
				return nil, malformed(SendGrid, "event %d: bounce type %q is not bounce or blocked", i, e.Type)
			}
		case "dropped":
			ev.Kind = Dropped
		case "spamreport":
			ev.Kind = Complaint
		case "":
			return nil, malformed(SendGrid, "event %d has no event name", i)
		default:
			continue
		}
		a, ok := address(e.Email)
		if !ok {
			return nil, malformed(SendGrid, "event %d (%s) has no valid email", i, e.Event)
		}
		if e.Timestamp == nil || *e.Timestamp <= 0 {
			return nil, malformed(SendGrid, "event %d (%s) has no timestamp", i, e.Event)
		}
		ev.Address, ev.Time = a, time.Unix(*e.Timestamp, 0).UTC()
		out = append(out, ev)
	}
	return out, nil
}
