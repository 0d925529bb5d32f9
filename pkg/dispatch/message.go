package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/cogmail/cogmail/pkg/cognito"
	"github.com/cogmail/cogmail/pkg/envelope"
	"github.com/cogmail/cogmail/pkg/metrics"
	"github.com/cogmail/cogmail/pkg/provider"
	"github.com/cogmail/cogmail/pkg/queue"
	"github.com/cogmail/cogmail/pkg/routing"
)

// attempt is what is known about one message while it is handled.
type attempt struct {
	rec      *events.SQSMessage
	log      *slog.Logger
	trigger  string
	start    time.Time
	receives int
	// created and end are the envelope's acceptance by ingest and its
	// retry window's end (zero until the envelope is parsed).
	created, end time.Time
}

// process handles one message: it decides the outcome, then settles it
// (sends it to the DLQ, delays it, or reports it) and returns the Action
// taken.
func (h *Handler) process(ctx context.Context, rec *events.SQSMessage, routing routing.Config) Action {
	a := &attempt{rec: rec, start: h.o.Now(), receives: receiveCount(rec), trigger: "unknown"}
	a.log = h.d.Logger.With("sqsMessageId", rec.MessageId)
	h.held.drop(rec.MessageId) // received again: the handle this container kept is void
	if th := rec.Attributes[queue.AWSTraceHeader]; th != "" {
		// The X-Ray trace ingest sent the message in: it ties this line to
		// ingest's invocation in X-Ray and in Logs Insights.
		a.log = a.log.With("traceHeader", th)
	}
	if v := attr(rec, envelope.AttrTrigger); v != "" {
		a.trigger = shortTrigger(v)
	}
	return h.settle(ctx, a, h.decide(ctx, a, routing))
}

// decide opens the message and tries to send it. Every path out of it is
// an outcome; the claim on the dedup key settles itself from that outcome.
func (h *Handler) decide(ctx context.Context, a *attempt, routing routing.Config) (o outcome) {
	env, err := envelope.Parse([]byte(a.rec.Body))
	if err != nil {
		return outcome{reason: envelope.ReasonMalformed, detail: err.Error()}
	}
	a.trigger = shortTrigger(string(env.Trigger))
	a.log = a.log.With("trigger", a.trigger, "pool", env.Pool, "messageId", env.ID)
	if env.Brand != "" {
		a.log = a.log.With("brand", env.Brand)
	}
	// The first line of the message's dispatch timeline (docs/operations.md).
	a.log.InfoContext(ctx, "received", "receives", a.receives)
	if o, stop := channel(env); stop {
		return o
	}

	until, why, limit := h.window(env)
	a.created, a.end = env.CreatedAt, until
	if !a.start.Before(until) {
		return h.windowOver(a, env, why, limit)
	}
	deadline := h.deadline(ctx, a.start)
	if !a.start.Before(deadline) {
		return end(ReasonDeadline)
	}

	c, refused := h.claim(ctx, a, env.DedupKey, deadline)
	if c == nil {
		return refused
	}
	defer func() { c.settle(ctx, a, o.reason == ReasonSent) }()

	msg, reason, err := h.open(ctx, env)
	if err != nil {
		if reason == ReasonKMS {
			a.log.WarnContext(ctx, "payload not opened now", "error", err.Error())
			return end(reason)
		}
		return outcome{reason: reason, detail: err.Error()}
	}
	order := h.order(routing.ForBrand(env.Brand))
	if len(order) == 0 {
		a.log.ErrorContext(ctx, "routing names no provider this function has", "providers", routing.Providers)
		return end(ReasonNoProvider)
	}
	order, refused, stop := h.addressable(ctx, a, &msg, order)
	if stop {
		clearMessage(&msg)
		return refused
	}
	// Whichever provider would take it: the guard comes before any of them.
	if o, stop := h.guard(ctx, a, env, msg.To, routing); stop {
		clearMessage(&msg)
		return o
	}
	o = h.deliver(ctx, msg, order, deadline, a)
	clearMessage(&msg)
	return o
}

// channel refuses a message of a channel this dispatch does not send. Text
// messages (channel "sms", from ingest's Custom SMS Sender path) have no
// providers here yet: they are dead-lettered as channel-unsupported before
// anything is claimed or unsealed, never taken for an email. The SMS
// routing replaces this refusal with the channel's own provider order.
func channel(env *envelope.Envelope) (outcome, bool) {
	switch ch := env.MessageChannel(); ch {
	case cognito.ChannelEmail:
		return outcome{}, false
	default:
		return outcome{reason: envelope.ReasonChannelUnsupported,
			detail: "this dispatch sends no " + string(ch) + " messages (no provider for the channel)"}, true
	}
}

// windowOver is the outcome of a message whose retry window is over: why
// says whether the code expired or the message outgrew its maximum age.
// The detail says how long it waited, which for a message that was
// retried is how long the outage lasted, at least.
func (h *Handler) windowOver(a *attempt, env *envelope.Envelope, why Reason, limit string) outcome {
	age := a.start.Sub(env.CreatedAt).Round(time.Second)
	detail := "expired at " + env.ExpiresAt.UTC().Format(time.RFC3339) + ", " + age.String() + " after ingest accepted it"
	if why == envelope.ReasonMaxAge {
		detail = "older than " + limit + " (accepted " + age.String() + " ago; its code is valid until " +
			env.ExpiresAt.UTC().Format(time.RFC3339) + ")"
	}
	if first, ok := firstReceive(a.rec); ok && a.receives > 1 {
		detail += fmt.Sprintf("; not sent in %d receives over %v since the first (the outage lasted at least that long)",
			a.receives-1, a.start.Sub(first).Round(time.Second))
	}
	if why == envelope.ReasonExpired {
		h.d.Metrics.Count("Expired", 1, map[string]string{"Trigger": a.trigger})
	}
	return outcome{reason: why, detail: detail}
}

// open unseals the payload and builds the provider message.
func (h *Handler) open(ctx context.Context, env *envelope.Envelope) (provider.Message, Reason, error) {
	pt, err := h.d.Opener.Open(ctx, env.ID, env.Sealed)
	if err != nil {
		var r interface{ Retryable() bool }
		if errors.As(err, &r) && !r.Retryable() {
			return provider.Message{}, envelope.ReasonUnsealable, err
		}
		return provider.Message{}, ReasonKMS, err
	}
	var p envelope.Payload
	err = json.Unmarshal(pt, &p)
	clear(pt)
	if err != nil {
		// The text of a JSON error may quote the payload: never pass it on.
		return provider.Message{}, envelope.ReasonMalformed, errors.New("sealed payload is not a JSON payload")
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
	if p.ReplyTo != "" {
		m.ReplyTo = provider.Address{Email: p.ReplyTo, Name: p.ReplyToName}
	}
	return m, "", nil
}

// clearMessage drops the references to the personal data as soon as the
// message is sent.
func clearMessage(m *provider.Message) { m.To, m.Subject, m.Text, m.HTML = "", "", "", "" }

// settle carries out o's Action and reports it; it returns the Action
// taken, which is RetryLater when a dead letter could not be written.
func (h *Handler) settle(ctx context.Context, a *attempt, o outcome) Action {
	switch act := h.action(o); act {
	case DeadLetter:
		return h.deadLetter(ctx, a, o)
	case RetryLater:
		return h.retryLater(ctx, a, o)
	default:
		if o.reason == ReasonSent {
			h.sentOK(ctx, a, o)
		} else {
			h.skipped(ctx, a, o)
		}
		return Delete
	}
}

func (h *Handler) sentOK(ctx context.Context, a *attempt, o outcome) {
	elapsed := h.o.Now().Sub(a.start)
	by := o.sent.receipt.Provider
	a.log.InfoContext(ctx, "sent", "provider", by, "providerMessageId", o.sent.receipt.ID,
		"attempt", o.attempts, "receives", a.receives, "ms", elapsed.Milliseconds(), "attemptMs", ms(o.sent.took))
	h.d.Metrics.Count("Sent", 1, map[string]string{"Provider": by, "Trigger": a.trigger})
	if primary := o.sent.primary; by != primary {
		why := "circuit breaker open"
		if e, ok := o.errs[primary]; ok {
			why = e
		}
		a.log.WarnContext(ctx, "delivered by a fallback provider", "provider", by, "primary", primary,
			"attempt", o.attempts, "reason", why)
		h.d.Metrics.Count("Failover", 1, map[string]string{"Primary": primary, "Provider": by})
	}
}

// skipped reports a message deleted without being sent: a duplicate, an
// expired message with DropExpired, and any new Delete row of policy.
func (h *Handler) skipped(ctx context.Context, a *attempt, o outcome) {
	args := []any{"reason", string(o.reason), "receives", a.receives}
	if o.seenIn != "" {
		args = append(args, "seenIn", o.seenIn)
	}
	if o.detail != "" {
		args = append(args, "detail", o.detail)
	}
	a.log.InfoContext(ctx, "not sent; deleted from the queue", args...)
	h.d.Metrics.Count("Skipped", 1, map[string]string{"Reason": string(o.reason)})
	if o.reason == ReasonDuplicate {
		h.d.Metrics.Count("Duplicate", 1, map[string]string{"Trigger": a.trigger})
	}
}

// retryLater delays the message's next delivery by its schedule and
// reports it, or dead-letters it when it has had MaxReceives deliveries.
func (h *Handler) retryLater(ctx context.Context, a *attempt, o outcome) Action {
	if h.o.MaxReceives > 0 && a.receives >= h.o.MaxReceives {
		last := o.reason
		o.reason, o.detail = envelope.ReasonRetriesExhausted, "last failure: "+string(last)
		return h.deadLetter(ctx, a, o)
	}
	return h.retryVisibility(ctx, a, o)
}

// retryVisibility hides the message until its next try (schedule.go),
// remembers it for a release on recovery (hold.go), and reports it for
// redelivery.
func (h *Handler) retryVisibility(ctx context.Context, a *attempt, o outcome) Action {
	now := h.o.Now()
	end := a.end
	if end.IsZero() {
		end = now.Add(h.o.BackoffMax) // not parsed: the plain backoff
	}
	vis := h.retryIn(a.receives, now, o.probeAt, end)
	dims := map[string]string{"Reason": string(o.reason)}
	h.d.Metrics.Count("Failed", 1, dims)
	args := []any{"reason", string(o.reason), "attempt", o.attempts, "receives", a.receives, "retryIn", vis.String()}
	if !a.created.IsZero() {
		// Held mail is the signal of an outage: its age is what the
		// HeldAge alarm watches (infra/template.yaml).
		age := now.Sub(a.created)
		h.d.Metrics.Emit(map[string]string{"Trigger": a.trigger}, metricOne("Held"),
			metrics.Metric{Name: "HeldAge", Unit: metrics.Seconds, Value: age.Seconds()})
		args = append(args, "ageMs", age.Milliseconds(), "retryUntil", end.UTC().Format(time.RFC3339))
	}
	a.log.WarnContext(ctx, "not sent; SQS will deliver it again", args...)
	if url := h.queueURL(a.rec); url != "" && a.rec.ReceiptHandle != "" {
		bctx, cancel := h.bookkeeping(ctx)
		defer cancel()
		if _, err := h.d.Visibility.ChangeMessageVisibility(bctx, changeVisibility(url, a.rec.ReceiptHandle, vis)); err != nil {
			a.log.WarnContext(ctx, "visibility not changed; the queue's own timeout applies", "error", err.Error())
		} else if !a.end.IsZero() {
			h.held.add(a.rec.MessageId, heldMessage{url: url, handle: a.rec.ReceiptHandle, until: now.Add(vis), end: end, receives: a.receives})
		}
	}
	return RetryLater
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

// firstReceive is when SQS first delivered the message.
func firstReceive(rec *events.SQSMessage) (time.Time, bool) {
	ms, err := strconv.ParseInt(rec.Attributes["ApproximateFirstReceiveTimestamp"], 10, 64)
	if err != nil || ms <= 0 {
		return time.Time{}, false
	}
	return time.UnixMilli(ms), true
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
