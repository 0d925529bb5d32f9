// Package ingest is the Custom Email Sender and Custom SMS Sender trigger:
// it decrypts the code, resolves the recipient (an address, or for SMS the
// phone_number in E.164), renders the email or text message, seals it and
// enqueues it. The trigger family picks the channel; everything else is one
// path. It does no sending; if the message cannot be enqueued it returns an
// error so that Lambda retries the event and nothing is lost.
package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/cogmail/cogmail/pkg/cognito"
	"github.com/cogmail/cogmail/pkg/envelope"
	"github.com/cogmail/cogmail/pkg/metrics"
	"github.com/cogmail/cogmail/pkg/phone"
	"github.com/cogmail/cogmail/pkg/render"
	"github.com/cogmail/cogmail/pkg/seal"
	"github.com/cogmail/cogmail/pkg/secret"
)

// Decrypter opens request.code (the codecrypt package provides it).
type Decrypter interface {
	Decrypt(ctx context.Context, ciphertext, userPoolID string) (secret.Code, error)
}

// Resolver picks the recipient's address (the recipient package provides it).
type Resolver interface {
	Resolve(ctx context.Context, e *cognito.Event) (string, error)
}

// Renderer renders an email or a text message (the render package provides it).
type Renderer interface {
	Render(in render.Input) (render.Email, error)
	RenderSMS(in render.Input) (render.SMS, error)
}

// Sealer encrypts the payload for a message id (the seal package provides it).
type Sealer interface {
	Seal(ctx context.Context, id string, plaintext []byte) (seal.Sealed, error)
}

// Publisher enqueues an envelope (the queue package provides it).
type Publisher interface {
	Publish(ctx context.Context, e *envelope.Envelope) (string, error)
}

// Deps are the handler's collaborators, built once per cold start.
type Deps struct {
	Decrypter Decrypter
	Recipient Resolver
	Renderer  Renderer // the single brand's templates when Brands is nil
	// Brands, when set, picks each event's brand (templates and sender) by
	// its app client id; Renderer, From and FromName are then unused.
	Brands    Brands
	Sealer    Sealer
	Publisher Publisher
	Logger    *slog.Logger
	Metrics   *metrics.Emitter
}

// Options are the handler's settings.
type Options struct {
	// Expiry replaces entries of DefaultExpiry (how long a trigger's code
	// stays useful); nil keeps them all.
	Expiry map[cognito.Trigger]time.Duration
	// DefaultLocale is used when neither the client metadata nor the user
	// names one; empty means render.DefaultLocale.
	DefaultLocale string
	// From and FromName, when set, are sealed into the payload as the
	// sender of the single brand (Deps.Brands nil), named BrandName.
	From, FromName string
	BrandName      string
	// UserPoolIDs, when set, are the only pools whose events are handled:
	// an event of any other pool is refused (ErrForeignPool) before its
	// code is decrypted, even if it decrypts under the configured key.
	UserPoolIDs []string
	Now         func() time.Time
	NewID       func() string
}

// Handler handles Custom Email Sender events.
type Handler struct {
	d Deps
	o Options
}

// New checks the dependencies and returns a Handler.
func New(d Deps, o Options) (*Handler, error) {
	var missing []string
	for _, dep := range []struct {
		name string
		ok   bool
	}{
		{"Decrypter", d.Decrypter != nil}, {"Recipient", d.Recipient != nil}, {"Renderer or Brands", d.Renderer != nil || d.Brands != nil},
		{"Sealer", d.Sealer != nil}, {"Publisher", d.Publisher != nil},
	} {
		if !dep.ok {
			missing = append(missing, dep.name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("ingest: missing dependencies: %v", missing)
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.NewID == nil {
		o.NewID = envelope.NewID
	}
	if o.DefaultLocale == "" {
		o.DefaultLocale = render.DefaultLocale
	}
	if d.Brands == nil {
		d.Brands = single{Name: o.BrandName, Renderer: d.Renderer, From: o.From, FromName: o.FromName}
	}
	return &Handler{d: d, o: o}, nil
}

// Result says what was enqueued; it carries nothing secret.
type Result struct {
	MessageID    string          `json:"messageId"`
	SQSMessageID string          `json:"sqsMessageId"`
	DedupKey     string          `json:"dedupKey"`
	Trigger      cognito.Trigger `json:"trigger"`
	Locale       string          `json:"locale"`
	Template     string          `json:"template"`
	Brand        string          `json:"brand"`
	ExpiresAt    time.Time       `json:"expiresAt"`
	SealedBytes  int             `json:"sealedBytes"`
	// Channel is "sms" for a text message (empty for an email, as before).
	Channel cognito.Channel `json:"channel,omitempty"`
	// SMS is a text message's clear metadata: country, encoding, segments.
	SMS *envelope.SMS `json:"sms,omitempty"`
}

// Stage names where handling failed.
type Stage string

// The stages of handling an event.
const (
	StageParse     Stage = "parse"
	StagePool      Stage = "pool"
	StageDecrypt   Stage = "decrypt"
	StageRecipient Stage = "recipient"
	StageRender    Stage = "render"
	StageSeal      Stage = "seal"
	StageEnqueue   Stage = "enqueue"
)

// Error is a failed event. Retryable says whether the same event may succeed
// later (KMS or SQS unavailable) or never will (malformed, tampered, foreign
// ciphertext, no valid address). Either way the handler returns it, so the
// invocation fails: Lambda retries it, then hands it to the function's
// on-failure destination, and nothing is silently dropped.
type Error struct {
	Stage     Stage
	Retryable bool
	Err       error
}

func (e *Error) Error() string {
	kind := "permanent"
	if e.Retryable {
		kind = "retryable"
	}
	return fmt.Sprintf("ingest: %s (%s): %v", e.Stage, kind, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// ErrForeignPool is the cause of a StagePool error: the event's user pool is
// not one of Options.UserPoolIDs. Permanent.
var ErrForeignPool = errors.New("the event's user pool is not one this function serves")

// retryable is the behaviour interface the collaborators' errors share.
type retryable interface{ Retryable() bool }

func isRetryable(err error) bool {
	var r retryable
	if errors.As(err, &r) {
		return r.Retryable()
	}
	return false
}

// Lambda is the function's entry point for lambda.Start: it handles one event
// and reports failure as the invocation's error.
func (h *Handler) Lambda(ctx context.Context, raw json.RawMessage) error {
	_, err := h.Handle(ctx, raw)
	return err
}

// Handle processes one raw event.
func (h *Handler) Handle(ctx context.Context, raw []byte) (Result, error) {
	start := h.o.Now()
	log := h.d.Logger
	ev, err := cognito.Parse(raw)
	if err != nil {
		return Result{}, h.fail(ctx, log, "", &Error{Stage: StageParse, Err: err})
	}
	sms := ev.TriggerSource.Channel() == cognito.ChannelSMS
	log = log.With("trigger", ev.TriggerSource.Short(), "pool", ev.UserPoolID)
	if sms {
		log = log.With("channel", string(cognito.ChannelSMS))
	}
	if len(h.o.UserPoolIDs) > 0 && !slices.Contains(h.o.UserPoolIDs, ev.UserPoolID) {
		// Before the decrypt: under a raw AES key, or a KMS key policy that
		// allows more than this pool, another pool's code would open.
		return Result{}, h.fail(ctx, log, ev.TriggerSource, &Error{Stage: StagePool,
			Err: fmt.Errorf("user pool %s is not one of %s: %w", ev.UserPoolID, strings.Join(h.o.UserPoolIDs, ", "), ErrForeignPool)})
	}
	if !ev.TriggerSource.Known() {
		log.WarnContext(ctx, "unknown trigger source; delivering its code with the generic template")
	}

	b := h.d.Brands.Brand(ev.CallerContext.ClientID)
	if b.DefaultLocale == "" {
		b.DefaultLocale = h.o.DefaultLocale
	}
	log = log.With("brand", b.Name)
	var code secret.Code
	if ev.TriggerSource.RequiresCode() {
		code, err = h.d.Decrypter.Decrypt(ctx, ev.Ciphertext(), ev.UserPoolID)
		if err != nil {
			return Result{}, h.fail(ctx, log, ev.TriggerSource, &Error{Stage: StageDecrypt, Retryable: isRetryable(err), Err: err})
		}
		if ev.TriggerSource.On(cognito.ChannelEmail) == cognito.AdminCreateUser {
			// Cognito HTML-escapes temporary passwords (by email and by
			// SMS); the user must type the real one.
			code = secret.New(html.UnescapeString(code.Reveal()))
		}
	}
	decrypted := h.o.Now()

	validFor := ExpiryFor(h.o.Expiry, ev.TriggerSource)
	in := render.Input{
		Trigger:    ev.TriggerSource,
		Locale:     render.ResolveLocale(ev, b.DefaultLocale),
		Code:       code,
		UserName:   ev.UserName,
		Attributes: ev.Request.UserAttributes,
		ValidFor:   validFor,
	}
	var (
		p                envelope.Payload
		locale, template string
		smsMeta          *envelope.SMS
	)
	if sms {
		// The number is the recipient; a Number prints masked, and its
		// errors never contain it.
		n, err := phone.FromEvent(ev)
		if err != nil {
			return Result{}, h.fail(ctx, log, ev.TriggerSource, &Error{Stage: StageRecipient, Err: err})
		}
		log = log.With("country", n.Country(), "to", n.Masked())
		m, err := b.Renderer.RenderSMS(in)
		if err != nil {
			return Result{}, h.fail(ctx, log, ev.TriggerSource, &Error{Stage: StageRender, Err: err})
		}
		p = envelope.Payload{Channel: cognito.ChannelSMS, To: n.E164(), Text: m.Text}
		locale, template = m.Locale, m.Template
		smsMeta = &envelope.SMS{Country: n.Country(), Encoding: string(m.Encoding), Segments: m.Segments}
	} else {
		to, err := h.d.Recipient.Resolve(ctx, ev)
		if err != nil {
			return Result{}, h.fail(ctx, log, ev.TriggerSource, &Error{Stage: StageRecipient, Retryable: isRetryable(err), Err: err})
		}
		email, err := b.Renderer.Render(in)
		if err != nil {
			return Result{}, h.fail(ctx, log, ev.TriggerSource, &Error{Stage: StageRender, Err: err})
		}
		p = envelope.Payload{To: to, From: b.From, FromName: b.FromName, ReplyTo: b.ReplyTo, ReplyToName: b.ReplyToName,
			Subject: email.Subject, HTML: email.HTML, Text: email.Text}
		locale, template = email.Locale, email.Template
	}

	rendered := h.o.Now()
	payload, err := json.Marshal(p)
	p = envelope.Payload{}
	if err != nil {
		return Result{}, h.fail(ctx, log, ev.TriggerSource, &Error{Stage: StageSeal, Err: err})
	}
	id := h.o.NewID()
	sealed, err := h.d.Sealer.Seal(ctx, id, payload)
	clear(payload)
	if err != nil {
		return Result{}, h.fail(ctx, log, ev.TriggerSource, &Error{Stage: StageSeal, Retryable: isRetryable(err), Err: err})
	}
	sealedAt := h.o.Now()
	env := &envelope.Envelope{
		Version:   envelope.SchemaVersion,
		ID:        id,
		DedupKey:  envelope.DedupKey(ev),
		Trigger:   ev.TriggerSource,
		Pool:      ev.UserPoolID,
		UserName:  ev.UserName,
		Locale:    locale,
		Brand:     b.Name,
		CreatedAt: start.UTC(),
		ExpiresAt: start.Add(validFor).UTC(),
		Sealed:    sealed,
	}
	if sms {
		env.Version, env.Channel, env.SMS = envelope.SchemaVersionSMS, cognito.ChannelSMS, smsMeta
	}
	sqsID, err := h.d.Publisher.Publish(ctx, env)
	if err != nil {
		return Result{}, h.fail(ctx, log, ev.TriggerSource, &Error{Stage: StageEnqueue, Retryable: true, Err: err})
	}
	res := Result{
		MessageID: id, SQSMessageID: sqsID, DedupKey: env.DedupKey, Trigger: ev.TriggerSource,
		Locale: locale, Template: template, Brand: b.Name, ExpiresAt: env.ExpiresAt, SealedBytes: len(sealed.Ciphertext),
		Channel: env.Channel, SMS: smsMeta,
	}
	end := h.o.Now()
	elapsed := end.Sub(start)
	// The stage offsets (milliseconds since the event arrived) are the
	// ingest half of the message's timeline: received at the line's time
	// minus enqueuedMs, then decrypted, rendered, sealed and enqueued.
	args := []any{"messageId", id, "sqsMessageId", sqsID, "dedupKey", env.DedupKey,
		"locale", locale, "template", template, "expiresAt", env.ExpiresAt, "ms", elapsed.Milliseconds(),
		"decryptedMs", msSince(start, decrypted), "renderedMs", msSince(start, rendered),
		"sealedMs", msSince(start, sealedAt), "enqueuedMs", msSince(start, end)}
	if sms {
		args = append(args, "encoding", smsMeta.Encoding, "segments", smsMeta.Segments)
	}
	log.InfoContext(ctx, "enqueued", args...)
	// One EMF line for both metrics: they share their dimensions, and each
	// line is a write to stdout and a log event to ingest.
	h.d.Metrics.Emit(dimensions(ev.TriggerSource, ev.TriggerSource.Short()),
		metrics.Metric{Name: "Enqueued", Unit: metrics.Count, Value: 1},
		metrics.Metric{Name: "IngestLatency", Unit: metrics.Milliseconds, Value: float64(elapsed.Microseconds()) / 1000})
	return res, nil
}

func (h *Handler) fail(ctx context.Context, log *slog.Logger, t cognito.Trigger, err *Error) error {
	level := slog.LevelError
	if err.Retryable {
		level = slog.LevelWarn
	}
	log.Log(ctx, level, "event not enqueued", "stage", err.Stage, "retryable", err.Retryable, "error", err.Error())
	trigger := t.Short()
	if trigger == "" {
		trigger = "unknown"
	}
	dims := dimensions(t, trigger)
	dims["Stage"] = string(err.Stage)
	h.d.Metrics.Count("IngestFailed", 1, dims)
	return err
}

// dimensions are a metric's dimensions for trigger t: Trigger (its short
// name) and, for a text message only, Channel=sms, so that the email
// metrics keep the dimensions their alarms and dashboards use.
func dimensions(t cognito.Trigger, short string) map[string]string {
	if t.Channel() == cognito.ChannelSMS {
		return map[string]string{"Trigger": short, "Channel": string(cognito.ChannelSMS)}
	}
	return map[string]string{"Trigger": short}
}

// msSince is t-start in milliseconds, to the microsecond.
func msSince(start, t time.Time) float64 {
	return float64(t.Sub(start).Microseconds()) / 1000
}
