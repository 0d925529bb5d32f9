package localstack

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/cogmail/cogmail/internal/local/eventsource"
	feedback "github.com/cogmail/cogmail/pkg/feedback"
	"github.com/cogmail/cogmail/pkg/mailevent"
	"github.com/cogmail/cogmail/pkg/metrics"
	"github.com/cogmail/cogmail/pkg/sendlimit"
	"github.com/cogmail/cogmail/pkg/suppression"
)

// Queues of the events function: SES notifications arrive on EventsQueueName
// (in AWS through the configuration set's SNS topic).
const (
	EventsQueueName = "cogmail-events"
	EventsDLQName   = "cogmail-events-dlq"
)

// reputation is the stack's side of the reputation guard: the in-memory
// suppression list and counters dispatch checks, the real events handler
// behind /webhooks/{provider} and the events queue, and what dispatch did
// not send (for the inbox).
type reputation struct {
	list     *suppression.Memory
	counter  *sendlimit.Memory
	events   *feedback.Handler
	queueURL string

	// inflight, once dispatch runs, opens what the guard stopped.
	inflight *inflight

	mu      sync.Mutex
	notSent []Delivered // oldest first
}

// startReputation builds the list, the events handler and the events
// queue, before dispatch is built on them.
func (s *Stack) startReputation(ctx context.Context, o Options, log *slog.Logger) error {
	r := &reputation{list: suppression.NewMemory(nil), counter: sendlimit.NewMemory(nil)}
	d := feedback.Deps{Suppressions: r.list, Policy: suppression.DefaultPolicy(), Logger: log, Metrics: metrics.New(o.Metrics, "events", nil)}
	if o.SendGridWebhookPublicKey != "" {
		// nil: the requests already applied are remembered in memory.
		v, err := mailevent.NewSendGridVerifier(o.SendGridWebhookPublicKey, nil, mailevent.VerifyOptions{})
		if err != nil {
			return fmt.Errorf("localstack: --sendgrid-webhook-public-key: %w", err)
		}
		d.SendGrid = v
	}
	if o.MailgunWebhookSigningKey != "" {
		v, err := mailevent.NewMailgunVerifier(o.MailgunWebhookSigningKey, nil, mailevent.VerifyOptions{})
		if err != nil {
			return fmt.Errorf("localstack: --mailgun-webhook-signing-key: %w", err)
		}
		d.Mailgun = v
	}
	h, err := feedback.New(d)
	if err != nil {
		return err
	}
	r.events = h
	dlq, err := s.SQSClient.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(EventsDLQName)})
	if err != nil {
		return fmt.Errorf("localstack: create events DLQ: %w", err)
	}
	attrs, err := s.SQSClient.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: dlq.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		return fmt.Errorf("localstack: events DLQ arn: %w", err)
	}
	q, err := s.SQSClient.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(EventsQueueName), Attributes: map[string]string{
		"VisibilityTimeout": "30",
		"RedrivePolicy":     fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":3}`, attrs.Attributes["QueueArn"]),
	}})
	if err != nil {
		return fmt.Errorf("localstack: create events queue: %w", err)
	}
	r.queueURL = aws.ToString(q.QueueUrl)
	s.rep = r
	return nil
}

// runEvents drives the events function from the events queue, as Lambda's
// event source mapping does in AWS.
func (s *Stack) runEvents(ctx context.Context, log *slog.Logger) error {
	poller, err := eventsource.NewPoller(s.SQSClient, func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		return s.rep.events.HandleSQS(ctx, ev), nil
	}, eventsource.PollerOptions{QueueURL: s.rep.queueURL, BatchSize: 10, BatchWindow: 50 * time.Millisecond, WaitTime: time.Second,
		FunctionTimeout: 30 * time.Second, Logger: log})
	if err != nil {
		return err
	}
	s.wg.Go(func() { _ = poller.Run(ctx) })
	return nil
}

// publishSES is the SES fake's event publishing: the event goes, wrapped in
// SNS's notification envelope, to the events queue, as a configuration set
// with an SNS destination and an SQS subscription deliver it in AWS.
func (s *Stack) publishSES(ev []byte) {
	env, _ := json.Marshal(map[string]string{
		"Type": "Notification", "MessageId": fmt.Sprintf("local-%d", time.Now().UnixNano()),
		"TopicArn":  "arn:aws:sns:" + s.Region + ":" + s.KMS.AccountID() + ":cogmail-ses-events",
		"Message":   string(ev),
		"Timestamp": time.Now().UTC().Format(time.RFC3339Nano),
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _ = s.SQSClient.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(s.rep.queueURL), MessageBody: aws.String(string(env))})
}

// noteNotSent records a message dispatch deleted unsent because of the
// guard, from its "not sent" log line (which names the message, never the
// address or the code).
func (r *reputation) noteNotSent(d Delivered) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.notSent = append(r.notSent, d)
}

func (r *reputation) notSentList() []Delivered {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.notSent)
}

// Suppressions lists the stack's suppression list.
func (s *Stack) Suppressions() []suppression.Entry {
	l, _ := s.rep.list.List(context.Background())
	return l
}

// SuppressionList is the stack's list, for tests and the CLI.
func (s *Stack) SuppressionList() *suppression.Memory { return s.rep.list }

// reputationRoutes serves the webhooks and the suppression API:
//
//	POST   /webhooks/{provider}          the events handler (sendgrid, mailgun)
//	GET    /api/suppressions             every entry: [{address, reason, provider, ...}]
//	GET    /api/suppressions/{address}   the address's entries
//	POST   /api/suppressions             add {address, reason}
//	DELETE /api/suppressions/{address}   lift every entry of the address
func (s *Stack) reputationRoutes() {
	s.Mux.Handle("POST /webhooks/{provider}", s.rep.events)
	s.Mux.HandleFunc("GET /api/suppressions", func(w http.ResponseWriter, _ *http.Request) {
		l := s.Suppressions()
		if l == nil {
			l = []suppression.Entry{}
		}
		writeJSON(w, http.StatusOK, l)
	})
	s.Mux.HandleFunc("GET /api/suppressions/{address}", func(w http.ResponseWriter, r *http.Request) {
		l, err := s.rep.list.Lookup(r.Context(), r.PathValue("address"))
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"message": err.Error()})
			return
		}
		if l == nil {
			l = []suppression.Entry{}
		}
		writeJSON(w, http.StatusOK, l)
	})
	s.Mux.HandleFunc("POST /api/suppressions", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Address string `json:"address"`
			Reason  string `json:"reason"`
		}
		b, _ := io.ReadAll(io.LimitReader(r.Body, 4096))
		if err := json.Unmarshal(b, &in); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"message": `want {"address":"...","reason":"manual"}`})
			return
		}
		reason, err := suppression.ParseReason(cmp(in.Reason, string(suppression.Manual)))
		if err == nil {
			e := suppression.Entry{Address: in.Address, Reason: reason, Provider: "ops", At: time.Now()}
			e.ExpiresAt = suppression.DefaultPolicy().Expiry(reason, e.At)
			err = s.rep.list.Add(r.Context(), e)
		}
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"message": err.Error()})
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	s.Mux.HandleFunc("DELETE /api/suppressions/{address}", func(w http.ResponseWriter, r *http.Request) {
		n, err := s.rep.list.Remove(r.Context(), r.PathValue("address"))
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"message": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, map[string]int{"removed": n})
	})
}

func cmp(v, def string) string {
	if strings.TrimSpace(v) == "" {
		return def
	}
	return v
}

// guardObserver is a slog.Handler in front of dispatch's: it notes the
// messages dispatch did not send because of the reputation guard.
type guardObserver struct {
	next  slog.Handler
	attrs []slog.Attr
	rep   *reputation
}

func (o *guardObserver) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelInfo || o.next.Enabled(ctx, l)
}

func (o *guardObserver) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == "not sent; deleted from the queue" {
		vals := map[string]string{}
		collect := func(a slog.Attr) bool { vals[a.Key] = a.Value.String(); return true }
		for _, a := range o.attrs {
			collect(a)
		}
		r.Attrs(collect)
		if reason := vals["reason"]; (reason == "suppressed" || reason == "throttled") && vals["messageId"] != "" {
			d := Delivered{MessageID: vals["messageId"], Subject: "(not sent: " + reason + ")", TriggerSource: "CustomEmailSender_" + vals["trigger"],
				Brand: vals["brand"], Status: reason, Why: vals["detail"], DeliveredAt: r.Time.UTC(), Failovers: []string{},
				Headers: map[string]string{}, Tags: map[string]string{}}
			o.rep.inflight.describe(&d)
			o.rep.noteNotSent(d)
		}
	}
	if o.next.Enabled(ctx, r.Level) {
		return o.next.Handle(ctx, r)
	}
	return nil
}

func (o *guardObserver) WithAttrs(as []slog.Attr) slog.Handler {
	return &guardObserver{next: o.next.WithAttrs(as), attrs: append(slices.Clone(o.attrs), as...), rep: o.rep}
}

func (o *guardObserver) WithGroup(name string) slog.Handler {
	return &guardObserver{next: o.next.WithGroup(name), attrs: o.attrs, rep: o.rep}
}
