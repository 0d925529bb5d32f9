package dispatch

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/cogmail/cogmail/pkg/envelope"
	"github.com/cogmail/cogmail/pkg/metrics"
	"github.com/cogmail/cogmail/pkg/queue"
)

// maxAttributes is SQS's limit of message attributes per message.
const maxAttributes = 10

// maxAttrValue bounds an error text kept in an attribute.
const maxAttrValue = 512

// originalOrder is the priority of the original attributes when they do not
// all fit beside dispatch's own (the envelope in the body repeats them).
var originalOrder = []string{envelope.AttrMessageID, envelope.AttrTrigger, envelope.AttrExpiresAt,
	envelope.AttrPool, envelope.AttrDedupKey, envelope.AttrSchema}

// deadLetter sends the message, unchanged, to the DLQ with the reason and
// the errors as attributes; the message is then deleted. If the DLQ cannot
// take it, the message is retried instead, so it is never lost.
func (h *Handler) deadLetter(ctx context.Context, a *attempt, o outcome) Action {
	now := h.o.Now()
	in := &sqs.SendMessageInput{
		QueueUrl:          aws.String(h.o.DLQURL),
		MessageBody:       aws.String(a.rec.Body),
		MessageAttributes: dlqAttributes(a.rec, string(o.reason), o.detail, o.errs, a.receives, now),
	}
	bctx, cancel := h.bookkeeping(ctx)
	defer cancel()
	if _, err := h.d.DLQ.SendMessage(bctx, in); err != nil {
		a.log.ErrorContext(ctx, "dead-letter queue refused the message; it will be retried", "reason", string(o.reason), "error", err.Error())
		// Not retryLater: a message that cannot be dead-lettered on its
		// last delivery must not be dead-lettered again.
		return h.retryVisibility(ctx, a, outcome{reason: ReasonDLQFailed, attempts: o.attempts})
	}
	h.d.Metrics.Emit(map[string]string{"Reason": string(o.reason)}, metricOne("DLQ"), metricOne("Failed"))
	args := []any{"reason", string(o.reason), "attempt", o.attempts, "receives", a.receives}
	if o.detail != "" {
		args = append(args, "detail", o.detail)
	}
	for _, p := range slices.Sorted(maps.Keys(o.errs)) {
		args = append(args, "lastError."+p, o.errs[p])
	}
	a.log.ErrorContext(ctx, "dead-lettered", args...)
	return Delete
}

func dlqAttributes(rec *events.SQSMessage, reason, detail string, errs map[string]string, receives int, now time.Time) map[string]sqstypes.MessageAttributeValue {
	out := map[string]sqstypes.MessageAttributeValue{}
	str := func(name, v string) {
		if v = clip(v); v != "" && len(out) < maxAttributes {
			out[name] = sqstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
		}
	}
	str(envelope.AttrReason, reason)
	out[envelope.AttrAttempts] = sqstypes.MessageAttributeValue{DataType: aws.String("Number"), StringValue: aws.String(strconv.Itoa(receives))}
	first := now
	if ms, err := strconv.ParseInt(rec.Attributes["ApproximateFirstReceiveTimestamp"], 10, 64); err == nil && ms > 0 {
		first = time.UnixMilli(ms)
	}
	str(envelope.AttrFirstAttempt, first.UTC().Format(time.RFC3339Nano))
	str(envelope.AttrLastAttempt, now.UTC().Format(time.RFC3339Nano))
	str(envelope.AttrError, detail)
	for _, p := range slices.Sorted(maps.Keys(errs)) {
		str(envelope.AttrLastError+p, errs[p])
	}
	keep := func(name string, v events.SQSMessageAttribute) {
		if _, taken := out[name]; taken || len(out) >= maxAttributes || envelope.DeadLetterOnly(name) {
			return
		}
		av := sqstypes.MessageAttributeValue{DataType: aws.String(v.DataType)}
		switch {
		case v.StringValue != nil && *v.StringValue != "":
			av.StringValue = aws.String(*v.StringValue)
		case len(v.BinaryValue) > 0:
			av.BinaryValue = v.BinaryValue
		default:
			return
		}
		out[name] = av
	}
	for _, name := range originalOrder {
		if v, ok := rec.MessageAttributes[name]; ok {
			keep(name, v)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(rec.MessageAttributes)) {
		keep(name, rec.MessageAttributes[name])
	}
	return out
}

// clip shortens s for an attribute and drops characters SQS refuses.
func clip(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' || r >= 0x20 && r != 0xFFFE && r != 0xFFFF && (r < 0xD800 || r > 0xDFFF) {
			return r
		}
		return -1
	}, s)
	if len(s) > maxAttrValue {
		s = s[:maxAttrValue] + "…"
	}
	return strings.ToValidUTF8(s, "")
}

// queueURL is the source queue's URL: the configured one, or one built from
// the record's event source ARN (arn:aws:sqs:REGION:ACCOUNT:NAME). SQS and
// sqslocal find the queue by the URL's account and name, whatever the host.
func (h *Handler) queueURL(rec *events.SQSMessage) string {
	if h.o.QueueURL != "" {
		return h.o.QueueURL
	}
	parts := strings.Split(rec.EventSourceARN, ":")
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "sqs" {
		return ""
	}
	host := "sqs." + parts[3] + ".amazonaws.com"
	if strings.HasPrefix(parts[1], "aws-cn") {
		host += ".cn"
	}
	return "https://" + host + "/" + parts[4] + "/" + parts[5]
}

func changeVisibility(url, handle string, d time.Duration) *sqs.ChangeMessageVisibilityInput {
	return &sqs.ChangeMessageVisibilityInput{
		QueueUrl:          aws.String(url),
		ReceiptHandle:     aws.String(handle),
		VisibilityTimeout: int32(min(d, queue.MaxVisibility) / time.Second),
	}
}

func metricOne(name string) metrics.Metric {
	return metrics.Metric{Name: name, Unit: metrics.Count, Value: 1}
}
