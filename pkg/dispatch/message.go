package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/cogmail/cogmail/pkg/cognito"
	"github.com/cogmail/cogmail/pkg/envelope"
	"github.com/cogmail/cogmail/pkg/idempotency"
	"github.com/cogmail/cogmail/pkg/provider"
	"github.com/cogmail/cogmail/pkg/providerconfig"
	"github.com/cogmail/cogmail/pkg/seal"
)

// Reasons a message is dead-lettered (the cogmail.reason attribute) or
// retried later (the Reason dimension of the Failed metric).
const (
	ReasonMalformed        = "malformed"         // DLQ: not an envelope, or a payload that is not one
	ReasonExpired          = "expired"           // DLQ or dropped: past expiresAt, the code is useless
	ReasonPermanent        = "permanent"         // DLQ: a provider rejected the message itself
	ReasonUnsealable       = "unsealable"        // DLQ: the payload cannot be opened (tampered, key gone)
	ReasonRetriesExhausted = "retries-exhausted" // DLQ: still unsent on the MaxReceives-th delivery

	ReasonUnavailable  = "unavailable"   // retry: every provider tried failed
	ReasonRateLimited  = "rate-limited"  // retry: the last provider tried throttled us
	ReasonBreakersOpen = "breakers-open" // retry: every provider's breaker is open (failed fast)
	ReasonDeadline     = "deadline"      // retry: no time left in the budget or the invocation
	ReasonKMS          = "kms"           // retry: KMS could not open the data key now
	ReasonIdempotency  = "idempotency"   // retry: the idempotency table could not be reached
	ReasonInProgress   = "in-progress"   // retry: another container is sending this message now
	ReasonDLQFailed    = "dlq-failed"    // retry: the DLQ could not take the message
	ReasonNoProvider   = "no-provider"   // retry: the routing names no provider this container has
)

type outcome int

const (
	outcomeDone  outcome = iota // delete from the source queue
	outcomeRetry                // report in batchItemFailures
)

// attempt is what is known about one message while it is handled.
type attempt struct {
	rec      *events.SQSMessage
	log      *slog.Logger
	trigger  string
	start    time.Time
	receives int
}

func (h *Handler) process(ctx context.Context, rec *events.SQSMessage, routing providerconfig.Config) outcome {
	a := &attempt{rec: rec, start: h.o.Now(), receives: receiveCount(rec), trigger: "unknown"}
	a.log = h.d.Logger.With("sqsMessageId", rec.MessageId)
	if v := attr(rec, envelope.AttrTrigger); v != "" {
		a.trigger = shortTrigger(v)
	}

	env, err := envelope.Parse([]byte(rec.Body))
	if err != nil {
		return h.deadLetter(ctx, a, ReasonMalformed, err.Error(), nil, 0)
	}
	a.trigger = shortTrigger(string(env.Trigger))
	a.log = a.log.With("trigger", a.trigger, "pool", env.Pool, "messageId", env.ID)

	if env.Expired(a.start) {
		h.d.Metrics.Count("Expired", 1, map[string]string{"Trigger": a.trigger})
		if h.o.DropExpired {
			a.log.WarnContext(ctx, "message expired; dropped", "expiresAt", env.ExpiresAt, "receives", a.receives)
			h.d.Metrics.Count("Failed", 1, map[string]string{"Reason": ReasonExpired})
			return outcomeDone
		}
		return h.deadLetter(ctx, a, ReasonExpired, "expired at "+env.ExpiresAt.UTC().Format(time.RFC3339), nil, 0)
	}

	deadline := h.deadline(ctx, a.start)
	if !a.start.Before(deadline) {
		return h.retryLater(ctx, a, ReasonDeadline, nil, 0)
	}

	switch h.seen.begin(env.DedupKey) {
	case seenSent:
		return h.duplicate(ctx, a, "container")
	case seenBusy:
		return h.retryLater(ctx, a, ReasonInProgress, nil, 0)
	}
	sent := false
	defer func() { h.seen.end(env.DedupKey, sent) }()

	claimed := false
	if h.d.Idempotency != nil {
		st, err := h.d.Idempotency.Claim(ctx, env.DedupKey, deadline)
		switch {
		case err != nil:
			a.log.WarnContext(ctx, "idempotency claim failed", "error", err.Error())
			return h.retryLater(ctx, a, ReasonIdempotency, nil, 0)
		case st == idempotency.Completed:
			sent = true // remember it here too
			return h.duplicate(ctx, a, "table")
		case st == idempotency.InProgress:
			return h.retryLater(ctx, a, ReasonInProgress, nil, 0)
		}
		claimed = true
	}
	release := func() {
		if !claimed {
			return
		}
		bctx, cancel := h.bookkeeping(ctx)
		defer cancel()
		if err := h.d.Idempotency.Release(bctx, env.DedupKey); err != nil {
			a.log.WarnContext(ctx, "idempotency release failed; the claim expires by itself", "error", err.Error())
		}
	}

	msg, reason, err := h.open(ctx, env)
	if err != nil {
		release()
		if reason == ReasonKMS {
			a.log.WarnContext(ctx, "payload not opened now", "error", err.Error())
			return h.retryLater(ctx, a, reason, nil, 0)
		}
		return h.deadLetter(ctx, a, reason, err.Error(), nil, 0)
	}

	order := h.order(routing)
	if len(order) == 0 {
		release()
		a.log.ErrorContext(ctx, "routing names no provider this function has", "providers", routing.Providers)
		return h.retryLater(ctx, a, ReasonNoProvider, nil, 0)
	}
	d := h.deliver(ctx, msg, order, deadline, a)
	clearMessage(&msg)
	switch {
	case d.sent:
		sent = true
		if claimed {
			bctx, cancel := h.bookkeeping(ctx)
			if err := h.d.Idempotency.Complete(bctx, env.DedupKey); err != nil {
				a.log.WarnContext(ctx, "idempotency record not completed; a redelivery elsewhere could send again", "error", err.Error())
			}
			cancel()
		}
		h.sentOK(ctx, a, d)
		return outcomeDone
	case d.permanent:
		release()
		return h.deadLetter(ctx, a, ReasonPermanent, "", d.errs, d.attempts)
	default:
		release()
		return h.retryLater(ctx, a, d.reason, d.errs, d.attempts)
	}
}

// open unseals the payload and builds the provider message.
func (h *Handler) open(ctx context.Context, env *envelope.Envelope) (provider.Message, string, error) {
	pt, err := h.d.Opener.Open(ctx, env.ID, env.Sealed)
	if err != nil {
		var se *seal.Error
		if errors.As(err, &se) && !se.Retryable {
			return provider.Message{}, ReasonUnsealable, err
		}
		return provider.Message{}, ReasonKMS, err
	}
	var p envelope.Payload
	err = json.Unmarshal(pt, &p)
	clear(pt)
	if err != nil {
		// The text of a JSON error may quote the payload: never pass it on.
		return provider.Message{}, ReasonMalformed, errors.New("sealed payload is not a JSON payload")
	}
	m := provider.Message{
		ID:      env.ID,
		From:    h.o.From,
		To:      p.To,
		Subject: p.Subject,
		Text:    p.Text,
		HTML:    p.HTML,
		Tags:    map[string]string{"trigger": shortTrigger(string(env.Trigger))},
	}
	if p.From != "" {
		m.From = provider.Address{Email: p.From, Name: p.FromName}
	}
	return m, "", nil
}

// clearMessage drops the references to the personal data as soon as the
// message is sent.
func clearMessage(m *provider.Message) { m.To, m.Subject, m.Text, m.HTML = "", "", "", "" }

func (h *Handler) sentOK(ctx context.Context, a *attempt, d delivery) {
	elapsed := h.o.Now().Sub(a.start)
	a.log.InfoContext(ctx, "sent", "provider", d.provider, "attempt", d.attempts, "receives", a.receives, "ms", elapsed.Milliseconds())
	h.d.Metrics.Count("Sent", 1, map[string]string{"Provider": d.provider, "Trigger": a.trigger})
	if d.provider != d.primary {
		why := "circuit breaker open"
		if e, ok := d.errs[d.primary]; ok {
			why = e
		}
		a.log.WarnContext(ctx, "delivered by a fallback provider", "provider", d.provider, "primary", d.primary,
			"attempt", d.attempts, "reason", why)
		h.d.Metrics.Count("Failover", 1, map[string]string{"Primary": d.primary, "Provider": d.provider})
	}
}

func (h *Handler) duplicate(ctx context.Context, a *attempt, where string) outcome {
	a.log.InfoContext(ctx, "duplicate skipped: already sent", "seenIn", where, "receives", a.receives)
	h.d.Metrics.Count("Duplicate", 1, map[string]string{"Trigger": a.trigger})
	return outcomeDone
}

// retryLater delays the message's next delivery by its receive count and
// reports it, or dead-letters it when it has had MaxReceives deliveries.
func (h *Handler) retryLater(ctx context.Context, a *attempt, reason string, errs map[string]string, attempts int) outcome {
	if h.o.MaxReceives > 0 && a.receives >= h.o.MaxReceives {
		return h.deadLetter(ctx, a, ReasonRetriesExhausted, "last failure: "+reason, errs, attempts)
	}
	return h.retryVisibility(ctx, a, reason, attempts)
}

func (h *Handler) retryVisibility(ctx context.Context, a *attempt, reason string, attempts int) outcome {
	vis := h.visibility(a.receives)
	h.d.Metrics.Count("Failed", 1, map[string]string{"Reason": reason})
	a.log.WarnContext(ctx, "not sent; SQS will deliver it again", "reason", reason, "attempt", attempts,
		"receives", a.receives, "retryIn", vis.String())
	if url := h.queueURL(a.rec); url != "" && a.rec.ReceiptHandle != "" {
		bctx, cancel := h.bookkeeping(ctx)
		defer cancel()
		if _, err := h.d.Visibility.ChangeMessageVisibility(bctx, changeVisibility(url, a.rec.ReceiptHandle, vis)); err != nil {
			a.log.WarnContext(ctx, "visibility not changed; the queue's own timeout applies", "error", err.Error())
		}
	}
	return outcomeRetry
}

// deadline is when the attempts on one message must stop: its budget, or
// the invocation's deadline less the margin, whichever comes first.
func (h *Handler) deadline(ctx context.Context, start time.Time) time.Time {
	d := start.Add(h.o.MessageBudget)
	if dl, ok := ctx.Deadline(); ok {
		if alt := start.Add(time.Until(dl) - h.o.DeadlineMargin); alt.Before(d) {
			d = alt
		}
	}
	return d
}

// bookkeeping is the context for the calls that record an outcome (DLQ,
// visibility, idempotency): they run in the margin kept before the
// invocation's deadline, even when the message's own time is up.
func (h *Handler) bookkeeping(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), max(h.o.DeadlineMargin, time.Second))
}

func receiveCount(rec *events.SQSMessage) int {
	n, err := strconv.Atoi(rec.Attributes["ApproximateReceiveCount"])
	if err != nil || n < 1 {
		return 1
	}
	return n
}

func attr(rec *events.SQSMessage, name string) string {
	if v, ok := rec.MessageAttributes[name]; ok && v.StringValue != nil {
		return *v.StringValue
	}
	return ""
}

// shortTrigger is the trigger without its "CustomEmailSender_" prefix, for
// logs and metric dimensions; anything unknown is "other", so a bad message
// cannot mint metric dimensions.
func shortTrigger(t string) string {
	if tr := cognito.Trigger(t); tr.Known() {
		return tr.Short()
	}
	return "other"
}
