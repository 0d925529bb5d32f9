// Package feedback is the events function's logic: it takes the delivery events
// the providers send back (SendGrid and Mailgun webhooks over HTTP, SES
// notifications from an SQS queue), checks them, and puts hard bounces and
// complaints on the suppression list. A body is checked and parsed whole
// before anything is applied: a bad signature or a malformed event changes
// nothing.
package feedback

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/cogmail/cogmail/pkg/mailevent"
	"github.com/cogmail/cogmail/pkg/metrics"
	"github.com/cogmail/cogmail/pkg/suppression"
)

// MaxBody is the largest webhook body read (a Lambda function URL takes
// at most 6 MB; SendGrid batches stay well below).
const MaxBody = 5 << 20

// maxDrain bounds how much of an oversized body is read and dropped before
// the 413, so that the client, still writing, gets the answer instead of a
// reset connection (the local Invoke API does the same).
const maxDrain = 64 << 20

// SendGridVerifier checks a SendGrid webhook and that it was not applied
// before (*mailevent.SendGridVerifier); Forget undoes that record.
type SendGridVerifier interface {
	Verify(ctx context.Context, h http.Header, body []byte) error
	Forget(ctx context.Context, h http.Header, body []byte) error
}

// MailgunVerifier checks a Mailgun webhook's signature and that its token
// is new (*mailevent.MailgunVerifier); Forget undoes that record.
type MailgunVerifier interface {
	Verify(ctx context.Context, sig mailevent.MailgunSignature) error
	Forget(ctx context.Context, sig mailevent.MailgunSignature) error
}

// Suppressions is where suppressing events go (a suppression.Store).
type Suppressions interface {
	Add(ctx context.Context, e suppression.Entry) error
}

// Deps are the handler's collaborators. A provider without a verifier has
// no webhook: its path answers 404.
type Deps struct {
	SendGrid     SendGridVerifier
	Mailgun      MailgunVerifier
	Suppressions Suppressions // required
	Policy       suppression.Policy
	Logger       *slog.Logger
	Metrics      *metrics.Emitter
}

// Handler applies delivery events. It is safe for concurrent use.
type Handler struct{ d Deps }

// New checks the dependencies and returns a Handler.
func New(d Deps) (*Handler, error) {
	if d.Suppressions == nil {
		return nil, errors.New("events: a suppression store is required")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	return &Handler{d: d}, nil
}

// Apply records events: each permanent bounce and complaint becomes a
// suppression entry, expiring as the policy says. Every event is counted
// (DeliveryEvent by Provider and Kind). Entries are replaced, not
// duplicated, so applying the same events again (a provider's retry after
// a store failure) is harmless.
func (h *Handler) Apply(ctx context.Context, evs []mailevent.Event) error {
	for _, e := range evs {
		h.d.Metrics.Count("DeliveryEvent", 1, map[string]string{"Provider": e.Provider, "Kind": string(e.Kind)})
		if !e.Suppresses() {
			continue
		}
		r := suppression.Bounce
		if e.Kind == mailevent.Complaint {
			r = suppression.Complaint
		}
		entry := suppression.Entry{Address: e.Address, Reason: r, Provider: e.Provider, ProviderMessageID: e.ProviderMessageID,
			At: e.Time, ExpiresAt: h.d.Policy.Expiry(r, e.Time)}
		if err := h.d.Suppressions.Add(ctx, entry); err != nil {
			return fmt.Errorf("events: %w", err)
		}
		h.d.Metrics.Count("SuppressionAdded", 1, map[string]string{"Provider": e.Provider, "Reason": string(r)})
		// The address is personal data: the log names the message instead.
		h.d.Logger.InfoContext(ctx, "address suppressed", "provider", e.Provider, "reason", string(r),
			"providerMessageId", e.ProviderMessageID, "messageId", e.MessageID)
	}
	return nil
}

// Webhook checks and applies one webhook body for provider ("sendgrid" or
// "mailgun") and returns the HTTP status to answer with a short message.
func (h *Handler) Webhook(ctx context.Context, provider string, header http.Header, body []byte) (int, string) {
	var evs []mailevent.Event
	var err error
	// forget undoes the replay record of a verified request that was not
	// applied after all (malformed, or the store failed), so that the
	// provider's retry is answered as the first attempt was.
	forget := func() error { return nil }
	switch provider {
	case mailevent.SendGrid:
		if h.d.SendGrid == nil {
			return http.StatusNotFound, "the SendGrid webhook is not configured (no verification key)"
		}
		if err = h.d.SendGrid.Verify(ctx, header, body); err == nil {
			forget = func() error { return h.d.SendGrid.Forget(ctx, header, body) }
			evs, err = mailevent.ParseSendGrid(body)
		}
	case mailevent.Mailgun:
		if h.d.Mailgun == nil {
			return http.StatusNotFound, "the Mailgun webhook is not configured (no signing key)"
		}
		var w mailevent.MailgunWebhook
		if w, err = mailevent.SplitMailgun(body); err == nil {
			if err = h.d.Mailgun.Verify(ctx, w.Signature); err == nil {
				forget = func() error { return h.d.Mailgun.Forget(ctx, w.Signature) }
				evs, err = w.Events()
			}
		}
	default:
		return http.StatusNotFound, "no webhook for " + provider + " (use /sendgrid or /mailgun)"
	}
	if errors.Is(err, mailevent.ErrReplayed) {
		h.d.Metrics.Count("WebhookReplayed", 1, map[string]string{"Provider": provider})
		h.d.Logger.InfoContext(ctx, "webhook already applied; not applied again", "provider", provider)
		return http.StatusOK, "already applied"
	}
	if err == nil {
		err = h.Apply(ctx, evs)
	}
	if err != nil {
		// Verified but malformed, or not applied: not recorded as applied.
		if ferr := forget(); ferr != nil {
			err = errors.Join(err, fmt.Errorf("events: forget the replay record: %w", ferr))
		}
	}
	status := mailevent.Status(err)
	if err != nil {
		h.d.Metrics.Count("EventRejected", 1, map[string]string{"Provider": provider, "Status": fmt.Sprint(status)})
		level := slog.LevelWarn
		if status >= 500 {
			level = slog.LevelError
		}
		h.d.Logger.Log(ctx, level, "webhook refused", "provider", provider, "status", status, "error", err.Error())
		return status, err.Error()
	}
	return http.StatusOK, fmt.Sprintf("%d events", len(evs))
}

// ServeHTTP serves POST .../sendgrid and POST .../mailgun: the provider is
// the last path element, so the handler can sit under any prefix.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeJSON(w, http.StatusMethodNotAllowed, "POST only")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, "cannot read the body")
		return
	}
	if len(body) > MaxBody {
		// net/http reads at most 256 KiB of what a handler left unread and
		// then closes the connection while the client may still be writing:
		// the client sees a reset, not the 413. So the rest is read here.
		// Past maxDrain the connection is closed after the answer.
		if n, _ := io.Copy(io.Discard, io.LimitReader(r.Body, maxDrain)); n == maxDrain {
			w.Header().Set("Connection", "close")
		}
		writeJSON(w, http.StatusRequestEntityTooLarge, "the body is larger than 5 MiB")
		return
	}
	status, msg := h.Webhook(r.Context(), path.Base(r.URL.Path), r.Header, body)
	writeJSON(w, status, msg)
}

func writeJSON(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": msg})
}

// HandleURL serves a Lambda function URL request the way ServeHTTP serves
// an HTTP one.
func (h *Handler) HandleURL(ctx context.Context, req lambdaevents.LambdaFunctionURLRequest) lambdaevents.LambdaFunctionURLResponse {
	resp := func(status int, msg string) lambdaevents.LambdaFunctionURLResponse {
		b, _ := json.Marshal(map[string]string{"message": msg})
		return lambdaevents.LambdaFunctionURLResponse{StatusCode: status, Headers: map[string]string{"Content-Type": "application/json"}, Body: string(b)}
	}
	if m := req.RequestContext.HTTP.Method; m != http.MethodPost {
		return resp(http.StatusMethodNotAllowed, "POST only")
	}
	body := []byte(req.Body)
	if req.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(req.Body)
		if err != nil {
			return resp(http.StatusBadRequest, "the body is not valid base64")
		}
		body = b
	}
	if len(body) > MaxBody {
		return resp(http.StatusRequestEntityTooLarge, "the body is larger than 5 MiB")
	}
	header := http.Header{}
	for k, v := range req.Headers {
		header.Set(k, v)
	}
	return resp(h.Webhook(ctx, path.Base(req.RawPath), header, body))
}

// HandleSQS applies SES notifications from the events queue. A message
// that cannot be read or applied is reported for redelivery: after the
// queue's maxReceiveCount it rests in the events dead-letter queue.
func (h *Handler) HandleSQS(ctx context.Context, ev lambdaevents.SQSEvent) lambdaevents.SQSEventResponse {
	var resp lambdaevents.SQSEventResponse
	for _, rec := range ev.Records {
		evs, err := mailevent.ParseSES([]byte(rec.Body))
		if err == nil {
			err = h.Apply(ctx, evs)
		}
		if err != nil {
			h.d.Metrics.Count("EventRejected", 1, map[string]string{"Provider": mailevent.SES, "Status": fmt.Sprint(mailevent.Status(err))})
			h.d.Logger.ErrorContext(ctx, "SES notification not applied", "sqsMessageId", rec.MessageId, "error", err.Error())
			resp.BatchItemFailures = append(resp.BatchItemFailures, lambdaevents.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
		}
	}
	return resp
}

// Invoke is the Lambda entry point: the function receives both its URL's
// requests and the events queue's batches, and tells them apart by shape.
func (h *Handler) Invoke(ctx context.Context, raw json.RawMessage) (any, error) {
	var probe struct {
		Records []struct {
			EventSource string `json:"eventSource"`
		} `json:"Records"`
		RawPath        *string         `json:"rawPath"`
		RequestContext json.RawMessage `json:"requestContext"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return nil, errors.New("events: the invocation is not JSON")
	}
	switch {
	case len(probe.Records) > 0 && probe.Records[0].EventSource == "aws:sqs":
		var ev lambdaevents.SQSEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, fmt.Errorf("events: SQS event: %w", err)
		}
		return h.HandleSQS(ctx, ev), nil
	case probe.RawPath != nil && len(probe.RequestContext) > 0:
		var req lambdaevents.LambdaFunctionURLRequest
		if err := json.Unmarshal(raw, &req); err != nil {
			return nil, fmt.Errorf("events: function URL request: %w", err)
		}
		return h.HandleURL(ctx, req), nil
	}
	return nil, errors.New("events: the invocation is neither an SQS batch nor a function URL request")
}
