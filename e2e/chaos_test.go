package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cogmail/cogmail/pkg/cognito"
	"github.com/cogmail/cogmail/pkg/dispatch"
	"github.com/cogmail/cogmail/pkg/dispatch/breaker"
	"github.com/cogmail/cogmail/pkg/envelope"
	"github.com/cogmail/cogmail/pkg/metrics"
	"github.com/cogmail/cogmail/pkg/provider"
	"github.com/cogmail/cogmail/pkg/provider/mailgun"
	"github.com/cogmail/cogmail/pkg/provider/mailgun/mailgunfake"
	"github.com/cogmail/cogmail/pkg/provider/sendgrid"
	"github.com/cogmail/cogmail/pkg/provider/sendgrid/sendgridfake"
	"github.com/cogmail/cogmail/pkg/provider/ses"
	"github.com/cogmail/cogmail/pkg/provider/ses/sesfake"
	"github.com/cogmail/cogmail/pkg/provider/smtp"
	"github.com/cogmail/cogmail/pkg/provider/smtp/smtpfake"
	"github.com/cogmail/cogmail/pkg/queue"
	"github.com/cogmail/cogmail/pkg/routing"
	"github.com/cogmail/cogmail/pkg/seal"
)

// chaos makes a provider fail a share of its calls at random, with a fault
// drawn from a list, each installed in the provider's fake for one request.
// A message to a refused recipient goes instead to a second fake of the
// same provider that refuses every message (permanent), so that no
// concurrent call can take its fault.
type chaos struct {
	dispatch.Sender
	rate    float64
	faults  []func() // each installs one fault (Count 1) in the fake
	refuser dispatch.Sender

	// A faulted call holds mu from installing its fault until its answer,
	// so no fault is overwritten before a request consumes it. (A
	// concurrent clean call may take it instead: the share of failed calls
	// stays the same, only which calls fail moves.)
	mu sync.Mutex

	rmu sync.Mutex
	rnd *mrand.Rand

	calls, injected atomic.Int64
}

func (c *chaos) Send(ctx context.Context, m provider.Message) (provider.Receipt, error) {
	if isRefused(m.To) {
		return c.refuser.Send(ctx, m)
	}
	c.calls.Add(1)
	c.rmu.Lock()
	hit := c.rnd.Float64() < c.rate
	k := c.rnd.IntN(len(c.faults))
	c.rmu.Unlock()
	if !hit {
		return c.Sender.Send(ctx, m)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.injected.Add(1)
	c.faults[k]()
	return c.Sender.Send(ctx, m)
}

// TestChaos: 1,000 messages while every provider fails 30% of its calls
// with mixed faults (5xx, 401, 429 with reset times, resets, hangs, answers
// that are not the provider's, and some permanent rejections, which fail
// over). One message in 50 goes to a recipient every provider refuses: it
// must be dead-lettered as permanent. Every message must be delivered at
// least once or sit in the DLQ with a reason; none may be lost. Duplicates
// are counted and reported.
func TestChaos(t *testing.T) {
	const (
		messages = 1000
		rate     = 0.30
	)
	s := newStack(t, 5)
	ctx := context.Background()

	// Enqueue 1,000 sealed envelopes as ingest would.
	sealer, err := seal.NewSealer(seal.Options{KMS: s.kms, KeyID: s.events.KMSKeyARN})
	if err != nil {
		t.Fatal(err)
	}
	pub, err := queue.NewPublisher(s.sqs, s.queueURL)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, messages)
	for i := range messages {
		now := time.Now()
		env := &envelope.Envelope{Version: envelope.SchemaVersion, ID: envelope.NewID(), DedupKey: fmt.Sprintf("chaos-%04d", i),
			Trigger: cognito.SignUp, Pool: "us-east-1_Chaos", UserName: fmt.Sprint("u", i), Locale: "en",
			CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		pt, _ := json.Marshal(envelope.Payload{To: recipient(i), Subject: "Your code",
			Text: fmt.Sprintf("Your code is %06d", i), HTML: fmt.Sprintf("<p>Your code is %06d</p>", i)})
		if env.Sealed, err = sealer.Seal(ctx, env.ID, pt); err != nil {
			t.Fatal(err)
		}
		if _, err := pub.Publish(ctx, env); err != nil {
			t.Fatal(err)
		}
		ids[i] = env.ID
	}

	rnd := mrand.New(mrand.NewPCG(2026, 3))
	base := s.senders(300 * time.Millisecond) // a hanging provider costs 300ms
	refusers := s.refusers(300 * time.Millisecond)
	faults := [][]func(){
		{ // sendgrid
			func() { s.sg.SetFault(sendgridfake.Fault{Status: 500, Count: 1}) },
			func() { s.sg.SetFault(sendgridfake.Fault{Status: 503, Count: 1}) },
			func() { s.sg.SetFault(sendgridfake.Fault{Status: 429, RetryAfter: time.Second, Count: 1}) },
			func() { s.sg.SetFault(sendgridfake.Fault{Status: 401, Count: 1}) },
			func() { s.sg.SetFault(sendgridfake.Fault{Reset: true, Count: 1}) },
			func() { s.sg.SetFault(sendgridfake.Fault{Hang: true, Count: 1}) },
			func() { s.sg.SetFault(sendgridfake.Fault{Garbage: true, Count: 1}) },
			func() {
				s.sg.SetFault(sendgridfake.Fault{Status: 400, Field: "personalizations.0.to.0.email", Message: "Does not contain a valid address.", Count: 1})
			},
		},
		{ // mailgun
			func() { s.mg.SetFault(mailgunfake.Fault{Status: 500, Count: 1}) },
			func() { s.mg.SetFault(mailgunfake.Fault{Status: 502, Latency: 50 * time.Millisecond, Count: 1}) },
			func() { s.mg.SetFault(mailgunfake.Fault{Status: 429, RetryAfter: time.Second, Count: 1}) },
			func() { s.mg.SetFault(mailgunfake.Fault{Reset: true, Count: 1}) },
			func() { s.mg.SetFault(mailgunfake.Fault{Garbage: true, Count: 1}) },
			func() {
				s.mg.SetFault(mailgunfake.Fault{Status: 400, Message: "to parameter is not a valid address", Count: 1})
			},
		},
		{ // ses
			func() { s.ses.SetFault(sesfake.Fault{Code: "ServiceUnavailable", Count: 1}) },
			func() { s.ses.SetFault(sesfake.Fault{Code: "TooManyRequestsException", Count: 1}) },
			func() {
				s.ses.SetFault(sesfake.Fault{Code: "ThrottlingException", Header: http.Header{"Retry-After": {"1"}}, Count: 1})
			},
			func() { s.ses.SetFault(sesfake.Fault{Reset: true, Count: 1}) },
			func() { s.ses.SetFault(sesfake.Fault{Garbage: true, Count: 1}) },
			func() {
				s.ses.SetFault(sesfake.Fault{Code: "MessageRejected", Message: "Email address is not verified.", Count: 1})
			},
		},
		{ // smtp
			func() { s.smtp.SetFault(smtpfake.Fault{Stage: smtpfake.Greeting, Code: 421, Count: 1}) },
			func() { s.smtp.SetFault(smtpfake.Fault{Stage: smtpfake.Mail, Code: 452, Count: 1}) },
			func() { s.smtp.SetFault(smtpfake.Fault{Stage: smtpfake.Rcpt, Code: 450, Enhanced: "4.2.1", Count: 1}) },
			func() { s.smtp.SetFault(smtpfake.Fault{Stage: smtpfake.Data, Code: 451, Count: 1}) },
			func() { s.smtp.SetFault(smtpfake.Fault{Reset: true, Count: 1}) },
			func() {
				s.smtp.SetFault(smtpfake.Fault{Stage: smtpfake.Rcpt, Code: 550, Enhanced: "5.1.1", Message: "No such user", Count: 1})
			},
		},
	}
	var chaotic []*chaos
	var senders []dispatch.Sender
	for i, b := range base {
		c := &chaos{Sender: b, rate: rate, faults: faults[i], refuser: refusers[i], rnd: mrand.New(mrand.NewPCG(rnd.Uint64(), rnd.Uint64()))}
		chaotic = append(chaotic, c)
		senders = append(senders, c)
	}
	opener, err := seal.NewOpener(seal.OpenerOptions{KMS: s.kms})
	if err != nil {
		t.Fatal(err)
	}
	// Four warm containers: their own breakers and dedup caches, the same
	// providers.
	var handlers []*dispatch.Handler
	for i := range 4 {
		h, err := dispatch.New(dispatch.Deps{
			Senders:    senders,
			Routes:     routing.Static{Providers: []string{"sendgrid", "mailgun", "ses", "smtp"}, Strategy: routing.Failover},
			Opener:     opener,
			DLQ:        s.sqs,
			Visibility: s.sqs,
			Logger:     slog.New(slog.NewJSONHandler(s.dispatchLogs, nil)).With("container", i),
			Metrics:    metrics.New(s.dispatchEMF, "dispatch", nil),
		}, dispatch.Options{
			DLQURL: s.dlqURL, QueueURL: s.queueURL, From: provider.Address{Email: senderEmail},
			SendTimeout: 300 * time.Millisecond, MessageBudget: 4 * time.Second, DeadlineMargin: 500 * time.Millisecond,
			// Retried by time, as deployed: the receive count is a backstop
			// the chaos must never reach.
			BackoffBase: 50 * time.Millisecond, BackoffMax: 2 * time.Second, MaxReceives: dispatch.Options{}.MaxReceiveCount(),
			Breaker: breaker.Options{Threshold: 5, Cooldown: 500 * time.Millisecond},
			Rand:    mrand.New(mrand.NewPCG(uint64(i), 7)),
		})
		if err != nil {
			t.Fatal(err)
		}
		handlers = append(handlers, h)
	}
	s.drain(handlers...)

	delivered := map[string]int{}
	byProvider := map[string]int{}
	via := map[string][]string{}
	for _, d := range s.deliveries() {
		delivered[d.ID]++
		byProvider[d.Provider]++
		via[d.ID] = append(via[d.ID], d.Provider)
	}
	deadByID := map[string]string{}
	deadByReason := map[string]int{}
	for _, d := range s.deadLetters() {
		if d.Reason == "" {
			t.Errorf("message %s is in the DLQ without a reason (moved by the redrive policy)", d.ID)
		}
		deadByID[d.ID] = d.Reason
		deadByReason[d.Reason]++
	}
	lost, duplicates, both := 0, 0, 0
	for i, id := range ids {
		n, reason := delivered[id], deadByID[id]
		if isRefused(recipient(i)) && (n != 0 || reason != string(envelope.ReasonPermanent)) {
			t.Errorf("message %s, refused by every provider: delivered %d times, dead-lettered %q; want dead-lettered as permanent", id, n, reason)
		}
		switch {
		case n == 0 && reason == "":
			lost++
		case n > 1:
			duplicates++
			// At least once: a provider took the message but its answer
			// was lost (a timeout under load), so another one sent it too.
			t.Logf("message %s delivered %d times, by %v", id, n, via[id])
		}
		if n > 0 && reason != "" {
			both++
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d messages lost: neither delivered nor dead-lettered", lost, messages)
	}
	for reason := range deadByReason {
		if !slices.Contains([]dispatch.Reason{envelope.ReasonPermanent}, dispatch.Reason(reason)) {
			t.Errorf("unexpected DLQ reason %q", reason)
		}
	}
	m := countMetrics(s.dispatchEMF.String())
	if m["Failover"] == 0 || deadByReason[string(envelope.ReasonPermanent)] == 0 {
		t.Errorf("no failover (%v) or no permanent rejection (%v): the chaos did not bite", m["Failover"], deadByReason)
	}
	if sg := chaotic[0]; sg.calls.Load() < messages/2 {
		t.Errorf("sendgrid, the primary, took only %d calls", sg.calls.Load())
	} else if share := float64(sg.injected.Load()) / float64(sg.calls.Load()); share < 0.25 || share > 0.35 {
		t.Errorf("sendgrid failed %.1f%% of its calls, want about 30%%", 100*share)
	}
	for i, c := range chaotic {
		t.Logf("%-8s %5d calls, %4d faults injected (%.1f%%)", []string{"sendgrid", "mailgun", "ses", "smtp"}[i],
			c.calls.Load(), c.injected.Load(), 100*float64(c.injected.Load())/float64(max(c.calls.Load(), 1)))
	}
	t.Logf("delivered: %d distinct messages %v; dead-lettered: %v", len(delivered), byProvider, deadByReason)
	t.Logf("failovers %v, failed by reason %v, duplicates skipped by dispatch %v", m["Failover"], failedBy(m), m["Duplicate"])
	t.Logf("duplicates: %d messages delivered more than once; %d both delivered and dead-lettered; lost: %d", duplicates, both, lost)
}

// recipient is the address of the chaos test's i-th message; one in 50 is
// refused by every provider.
func recipient(i int) string {
	if i%50 == 0 {
		return fmt.Sprintf("refused%04d@example.com", i)
	}
	return fmt.Sprintf("user%04d@example.com", i)
}

func isRefused(to string) bool { return strings.HasPrefix(to, "refused") }

// refusers are senders, in the order of senders, to a second fake of each
// provider that refuses every message as the provider refuses a bad
// recipient: permanent.
func (s *stack) refusers(timeout time.Duration) []dispatch.Sender {
	s.t.Helper()
	sg := sendgridfake.New(sendgridfake.Options{APIKey: sendgridKey})
	sg.SetFault(sendgridfake.Fault{Status: 400, Field: "personalizations.0.to.0.email", Message: "Does not contain a valid address."})
	mg := mailgunfake.New(mailgunfake.Options{APIKey: mailgunKey, Domain: mailgunDomain})
	mg.SetFault(mailgunfake.Fault{Status: 400, Message: "to parameter is not a valid address"})
	creds, err := s.aws.Credentials.Retrieve(context.Background())
	if err != nil {
		s.t.Fatal(err)
	}
	sf := sesfake.New(sesfake.Options{Credentials: &creds})
	sf.SetFault(sesfake.Fault{Code: "MessageRejected", Message: "Email address is not verified."})
	sm := smtpfake.New(smtpfake.Options{})
	sm.SetFault(smtpfake.Fault{Stage: smtpfake.Rcpt, Code: 550, Enhanced: "5.1.1", Message: "No such user"})
	s.t.Cleanup(func() { sg.Close(); mg.Close(); sf.Close(); sm.Close() })
	sgS, err1 := sendgrid.New(sendgrid.Config{APIKey: sendgridKey, BaseURL: sg.URL(), Timeout: timeout})
	mgS, err2 := mailgun.New(mailgun.Config{APIKey: mailgunKey, Domain: mailgunDomain, BaseURL: mg.URL(), Timeout: timeout})
	sesS, err3 := ses.New(ses.Config{AWS: s.aws, Endpoint: sf.URL(), Timeout: timeout})
	smS, err4 := smtp.New(smtp.Config{Host: sm.Host(), Port: sm.Port(), TLS: smtp.NoTLS, Timeout: timeout})
	for _, err := range []error{err1, err2, err3, err4} {
		if err != nil {
			s.t.Fatal(err)
		}
	}
	return []dispatch.Sender{sgS, mgS, sesS, smS}
}

// countMetrics sums EMF metrics by name and by "Name{Dim=Value}".
func countMetrics(emf string) map[string]float64 {
	out := map[string]float64{}
	for _, line := range strings.Split(emf, "\n") {
		var doc map[string]any
		if json.Unmarshal([]byte(line), &doc) != nil {
			continue
		}
		meta, _ := doc["_aws"].(map[string]any)
		for _, cm := range meta["CloudWatchMetrics"].([]any) {
			cm := cm.(map[string]any)
			var dims []string
			for _, d := range cm["Dimensions"].([]any)[0].([]any) {
				if d != "Function" {
					dims = append(dims, fmt.Sprintf("%s=%v", d, doc[d.(string)]))
				}
			}
			for _, mm := range cm["Metrics"].([]any) {
				name := mm.(map[string]any)["Name"].(string)
				v, _ := doc[name].(float64)
				out[name] += v
				if len(dims) > 0 {
					out[name+"{"+strings.Join(dims, ",")+"}"] += v
				}
			}
		}
	}
	return out
}

func failedBy(m map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for k, v := range m {
		if r, ok := strings.CutPrefix(k, "Failed{Reason="); ok {
			out[strings.TrimSuffix(r, "}")] = v
		}
	}
	return out
}
