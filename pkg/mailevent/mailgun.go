package mailevent

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mailgun/mailgun-go/v4"
)

// MailgunMessageIDVariable is the user variable that carries cogmail's
// message id (pkg/provider/mailgun sends it as v:cogmail-message-id).
const MailgunMessageIDVariable = "cogmail-message-id"

// Tokens remembers the webhooks already applied (Mailgun's tokens, the
// signed content of SendGrid's requests), so that a captured webhook cannot
// be played again. FirstUse records token until the given time and reports
// whether it was new; Forget drops the record (the webhook could not be
// applied, so the provider's retry must be). *TokenCache keeps them in
// memory (one container); a shared store stops replays across containers.
type Tokens interface {
	FirstUse(ctx context.Context, token string, until time.Time) (bool, error)
	Forget(ctx context.Context, token string) error
}

// MailgunVerifier checks a webhook's HMAC signature (with mailgun-go's
// verifier), the age of its timestamp, and that its token is new.
type MailgunVerifier struct {
	mg     *mailgun.MailgunImpl
	tokens Tokens
	maxAge time.Duration
	now    func() time.Time
}

// NewMailgunVerifier takes the webhook signing key (Mailgun's "HTTP webhook
// signing key", not the API key). tokens may be nil: an in-memory
// TokenCache is used.
func NewMailgunVerifier(signingKey string, tokens Tokens, o VerifyOptions) (*MailgunVerifier, error) {
	if signingKey == "" {
		return nil, errors.New("mailevent: the Mailgun webhook signing key is empty")
	}
	o = o.withDefaults()
	// The domain and API key are unused: only the verifier is called.
	mg := mailgun.NewMailgun("unused.invalid", "unused")
	mg.SetWebhookSigningKey(signingKey)
	if tokens == nil {
		tokens = NewTokenCache(o.Now)
	}
	return &MailgunVerifier{mg: mg, tokens: tokens, maxAge: o.MaxAge, now: o.Now}, nil
}

// MailgunSignature is the "signature" object of a webhook body.
type MailgunSignature = mailgun.Signature

// Verify checks sig: the HMAC first (nothing else is trusted before it),
// then the timestamp's age, then that the token was not used within the
// window. A token is recorded only once the rest has passed.
func (v *MailgunVerifier) Verify(ctx context.Context, sig MailgunSignature) error {
	if sig.Token == "" || sig.TimeStamp == "" || sig.Signature == "" {
		return &Error{Provider: Mailgun, Kind: ErrSignature, Reason: "timestamp, token or signature missing"}
	}
	ok, err := v.mg.VerifyWebhookSignature(sig)
	if err != nil || !ok {
		return &Error{Provider: Mailgun, Kind: ErrSignature, Reason: "the signature does not verify"}
	}
	secs, err := strconv.ParseInt(sig.TimeStamp, 10, 64)
	if err != nil {
		return &Error{Provider: Mailgun, Kind: ErrStale, Reason: "the timestamp is not epoch seconds"}
	}
	ts := time.Unix(secs, 0)
	now := v.now()
	if err := fresh(Mailgun, ts, now, v.maxAge); err != nil {
		return err
	}
	// Past ts+maxAge the timestamp check refuses the token anyway.
	first, err := v.tokens.FirstUse(ctx, sig.Token, ts.Add(v.maxAge))
	if err != nil {
		return err // the token store failed: not the sender's fault (500, retried)
	}
	if !first {
		return &Error{Provider: Mailgun, Kind: ErrReplayed, Reason: "the token was already used"}
	}
	return nil
}

// Forget drops the record of sig's token, so that the provider's retry of
// a webhook that could not be applied is applied then.
func (v *MailgunVerifier) Forget(ctx context.Context, sig MailgunSignature) error {
	return v.tokens.Forget(ctx, sig.Token)
}

// TokenCache is an in-memory Tokens. It forgets a token once its time has
// passed. It is safe for concurrent use.
type TokenCache struct {
	mu    sync.Mutex
	now   func() time.Time
	until map[string]time.Time
}

// NewTokenCache returns an empty cache; now defaults to time.Now.
func NewTokenCache(now func() time.Time) *TokenCache {
	if now == nil {
		now = time.Now
	}
	return &TokenCache{now: now, until: map[string]time.Time{}}
}

// FirstUse implements Tokens.
func (c *TokenCache) FirstUse(_ context.Context, token string, until time.Time) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if len(c.until) >= 1024 {
		for k, t := range c.until {
			if !now.Before(t) {
				delete(c.until, k)
			}
		}
	}
	if t, ok := c.until[token]; ok && now.Before(t) {
		return false, nil
	}
	c.until[token] = until
	return true, nil
}

// Forget implements Tokens.
func (c *TokenCache) Forget(_ context.Context, token string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.until, token)
	return nil
}

// MailgunWebhook is a webhook body split into its signature and its
// still-unread event data.
type MailgunWebhook struct {
	Signature MailgunSignature
	eventData json.RawMessage
}

// SplitMailgun reads the outer object of a webhook body,
// {"signature": {...}, "event-data": {...}}, so the signature can be
// checked before the event is trusted.
func SplitMailgun(body []byte) (MailgunWebhook, error) {
	var p struct {
		Signature *MailgunSignature `json:"signature"`
		EventData json.RawMessage   `json:"event-data"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return MailgunWebhook{}, malformed(Mailgun, "the body is not a webhook object")
	}
	if p.Signature == nil {
		return MailgunWebhook{}, malformed(Mailgun, "the body has no signature")
	}
	if len(p.EventData) == 0 || p.EventData[0] != '{' {
		return MailgunWebhook{}, malformed(Mailgun, "the body has no event-data object")
	}
	return MailgunWebhook{Signature: *p.Signature, eventData: p.EventData}, nil
}

// mailgunEvent is the part of "event-data" cogmail reads, in Mailgun's
// documented field names.
type mailgunEvent struct {
	Event     string   `json:"event"`
	Recipient string   `json:"recipient"`
	Timestamp *float64 `json:"timestamp"`
	Severity  string   `json:"severity"` // failed: permanent or temporary
	Reason    string   `json:"reason"`   // failed: bounce, suppress-bounce, ...
	Message   struct {
		Headers struct {
			MessageID string `json:"message-id"`
		} `json:"headers"`
	} `json:"message"`
	UserVariables map[string]any `json:"user-variables"`
}

// Events reads the event data. A body holds one event; events cogmail does
// not act on (opened, clicked, unsubscribed, accepted) give none. Mapping:
// delivered → Delivered; failed with severity permanent → permanent Bounce,
// or Dropped when Mailgun did not try (reason suppress-*); failed with
// severity temporary → transient Bounce; complained → Complaint.
func (w MailgunWebhook) Events() ([]Event, error) {
	var e mailgunEvent
	if err := json.Unmarshal(w.eventData, &e); err != nil {
		return nil, malformed(Mailgun, "event-data is not an event object")
	}
	ev := Event{Provider: Mailgun, ProviderMessageID: e.Message.Headers.MessageID}
	if id, ok := e.UserVariables[MailgunMessageIDVariable].(string); ok {
		ev.MessageID = id
	}
	switch e.Event {
	case "delivered":
		ev.Kind = Delivered
	case "failed":
		switch e.Severity {
		case "permanent":
			ev.Kind, ev.Bounce = Bounce, Permanent
			if strings.HasPrefix(e.Reason, "suppress-") {
				ev.Kind, ev.Bounce = Dropped, ""
			}
		case "temporary":
			ev.Kind, ev.Bounce = Bounce, Transient
		default:
			return nil, malformed(Mailgun, "failed event with severity %q, not permanent or temporary", e.Severity)
		}
	case "complained":
		ev.Kind = Complaint
	case "":
		return nil, malformed(Mailgun, "event-data has no event name")
	default:
		return nil, nil
	}
	a, ok := address(e.Recipient)
	if !ok {
		return nil, malformed(Mailgun, "%s event has no valid recipient", e.Event)
	}
	if e.Timestamp == nil || *e.Timestamp <= 0 || *e.Timestamp > math.MaxInt32*4 {
		return nil, malformed(Mailgun, "%s event has no valid timestamp", e.Event)
	}
	sec, frac := math.Modf(*e.Timestamp)
	// Mailgun gives microseconds; rounding undoes the float's error.
	ev.Address, ev.Time = a, time.Unix(int64(sec), int64(math.Round(frac*1e6))*1000).UTC()
	return []Event{ev}, nil
}

// ParseMailgun reads a webhook body without checking its signature (tests
// and tools; the events handler verifies first).
func ParseMailgun(body []byte) ([]Event, error) {
	w, err := SplitMailgun(body)
	if err != nil {
		return nil, err
	}
	return w.Events()
}
