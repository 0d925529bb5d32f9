// Package dispatch is the SQS consumer that delivers sealed emails: it opens
// each envelope, sends it through the configured providers with failover,
// circuit breakers and bounded retries, dead-letters what can never be sent,
// and answers a partial batch response listing exactly the messages SQS must
// deliver again.
package dispatch

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/cogmail/cogmail/pkg/cognito"
	"github.com/cogmail/cogmail/pkg/dispatch/breaker"
	"github.com/cogmail/cogmail/pkg/idempotency"
	"github.com/cogmail/cogmail/pkg/metrics"
	"github.com/cogmail/cogmail/pkg/provider"
	"github.com/cogmail/cogmail/pkg/queue"
	"github.com/cogmail/cogmail/pkg/routing"
	"github.com/cogmail/cogmail/pkg/seal"
	"github.com/cogmail/cogmail/pkg/sendlimit"
	"github.com/cogmail/cogmail/pkg/suppression"
)

// Sender is an email provider (the pkg/provider subpackages provide them).
// Send returns the provider's receipt, whose message id the "sent" log line
// carries as providerMessageId.
type Sender interface {
	Name() string
	Send(ctx context.Context, m provider.Message) (provider.Receipt, error)
}

// Opener decrypts a sealed payload (*seal.Opener).
type Opener interface {
	Open(ctx context.Context, id string, s seal.Sealed) ([]byte, error)
}

// DLQ sends a message to the dead-letter queue (*sqs.Client).
type DLQ interface {
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
}

// Visibility delays a message's next delivery (*sqs.Client).
type Visibility interface {
	ChangeMessageVisibility(ctx context.Context, in *sqs.ChangeMessageVisibilityInput, optFns ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
}

// Idempotency claims dedup keys across containers (*idempotency.Store).
type Idempotency interface {
	Claim(ctx context.Context, key string, until time.Time) (idempotency.Status, error)
	Complete(ctx context.Context, key string) error
	Release(ctx context.Context, key string) error
}

// Routes gives the routing in force (routing.Static or *routing.Source).
type Routes interface {
	Current(ctx context.Context) routing.Config
}

// Deps are the handler's collaborators, built once per cold start.
type Deps struct {
	Senders     []Sender // every provider this container can use, by Name
	Routes      Routes
	Opener      Opener
	DLQ         DLQ
	Visibility  Visibility
	Idempotency Idempotency // optional: without it, duplicates are caught per container only
	// Suppressions and Recipients are optional: without them nothing is
	// suppressed or limited (see reputation.go).
	Suppressions Suppressions
	Recipients   RecipientCounter
	Logger       *slog.Logger
	Metrics      *metrics.Emitter
}

// Defaults for Options.
const (
	DefaultConcurrency    = 10
	DefaultSendTimeout    = 10 * time.Second
	DefaultMessageBudget  = 20 * time.Second
	DefaultDeadlineMargin = 2 * time.Second
	DefaultBackoffBase    = time.Second
	// DefaultBackoffMax caps the visibility between two receives of a
	// message that cannot be sent yet: short enough that a long outage
	// still probes every few minutes, long enough that a day's retry window
	// fits in SQS's 1,000 receives (Options.Schedule).
	DefaultBackoffMax = 5 * time.Minute
	// DefaultMaxAge is the longest dispatch retries any message, whatever
	// its code's validity: a day. Only AdminCreateUser's temporary password
	// (7 days) lives longer; one that arrives days after the admin created
	// the user is more likely to confuse than to help (the admin resends
	// it), a day of retries at the 5 min cap is 585 receives (within SQS's
	// 1,000), and the DLQ keeps the message 14 days for a replay.
	DefaultMaxAge = 24 * time.Hour
	// DefaultRecoverySpread is the window over which messages held for a
	// recovering provider come back, so that they do not reach it at once:
	// 1,000 held messages arrive at about 33 a second.
	DefaultRecoverySpread = 30 * time.Second
	DefaultDedupCache     = 10000
)

// Options are the handler's settings. Zero values mean the defaults.
type Options struct {
	DLQURL   string           // required: where permanent failures go
	QueueURL string           // the source queue; default derived from each record's eventSourceARN
	From     provider.Address // sender when the payload names none; From.Email required

	DropExpired    bool          // drop messages past expiresAt instead of dead-lettering them
	Concurrency    int           // messages of a batch in flight at once
	SendTimeout    time.Duration // one provider call
	MessageBudget  time.Duration // all attempts for one message within one invocation
	DeadlineMargin time.Duration // kept free before the invocation's deadline
	// BackoffBase and BackoffMax shape both the waits between rounds of
	// attempts (full jitter, within the budget) and the visibility timeout
	// of a message retried later (by receive count, capped at BackoffMax;
	// see schedule.go).
	BackoffBase, BackoffMax time.Duration
	// MaxAge is the longest a message is retried, from when ingest
	// accepted it, even if its code is still valid (default DefaultMaxAge).
	MaxAge time.Duration
	// RetryWindows shortens the retry window of a trigger below its code's
	// life (and MaxAge); a trigger without an entry is retried until its
	// code expires.
	RetryWindows map[cognito.Trigger]time.Duration
	// RecoverySpread is how widely in time held messages come back when a
	// breaker lets a probe through or closes again (default
	// DefaultRecoverySpread).
	RecoverySpread time.Duration
	DedupCacheSize int // dedup keys remembered per container
	// MaxReceives, when set, dead-letters a message that still cannot be
	// sent on its MaxReceives-th delivery, with its errors, instead of
	// leaving it to the queue's redrive policy (which moves it without
	// them). Set it to the queue's maxReceiveCount, which must exceed the
	// longest window's Schedule: retrying by time then never reaches it.
	// Releasing held messages early on recovery costs a receive, so it is
	// done only for a message whose remaining receives cover its remaining
	// window.
	MaxReceives int
	Breaker     breaker.Options // Threshold and Cooldown; Now is the handler's clock
	// Suppression is what a suppressed address still receives, by reason
	// and trigger; the zero Policy stops every trigger.
	Suppression suppression.Policy
	// RecipientLimit caps the emails of code-bearing triggers per address
	// (with Deps.Recipients); the routing's recipientLimit, when set,
	// overrides it live. The zero Limit is off.
	RecipientLimit sendlimit.Limit

	Now   func() time.Time                                 // default time.Now
	Sleep func(ctx context.Context, d time.Duration) error // default waits on a timer or ctx
	Rand  *mrand.Rand                                      // jitter and weighted picks; default randomly seeded
}

// Handler handles SQS batches. It is safe for concurrent use; its breakers
// and dedup cache live as long as it does (the warm container).
type Handler struct {
	d        Deps
	o        Options
	senders  map[string]Sender
	breakers map[string]*breaker.Breaker
	names    []string
	seen     *dedup
	answers  lastAnswers // each provider's last failure, for messages its open breaker skips
	held     holds       // messages this container hides for a later try, to release on recovery
	// recovered is set when a breaker closes again: the batch then
	// releases the held messages it can (hold.go).
	recovered atomic.Bool

	randMu sync.Mutex
	rand   *mrand.Rand
}

// New checks the dependencies and options and returns a Handler.
func New(d Deps, o Options) (*Handler, error) {
	var errs []error
	if len(d.Senders) == 0 {
		errs = append(errs, errors.New("no Senders"))
	}
	// A slice, not a map: the problems read in the same order every run.
	for _, dep := range []struct {
		name string
		ok   bool
	}{{"Routes", d.Routes != nil}, {"Opener", d.Opener != nil}, {"DLQ", d.DLQ != nil}, {"Visibility", d.Visibility != nil}} {
		if !dep.ok {
			errs = append(errs, fmt.Errorf("missing %s", dep.name))
		}
	}
	if o.DLQURL == "" {
		errs = append(errs, errors.New("Options.DLQURL is required"))
	}
	if o.From.Email == "" {
		errs = append(errs, errors.New("Options.From.Email is required"))
	}
	h := &Handler{senders: map[string]Sender{}, breakers: map[string]*breaker.Breaker{}}
	for _, s := range d.Senders {
		if s == nil {
			errs = append(errs, errors.New("a nil Sender"))
			continue
		}
		if _, dup := h.senders[s.Name()]; dup {
			errs = append(errs, fmt.Errorf("two Senders named %q", s.Name()))
		}
		h.senders[s.Name()] = s
		h.names = append(h.names, s.Name())
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("dispatch: %w", errors.Join(errs...))
	}
	slices.Sort(h.names)
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	o = o.WithDefaults()
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Sleep == nil {
		o.Sleep = sleep
	}
	if o.Rand == nil {
		var seed [16]byte
		_, _ = rand.Read(seed[:])
		o.Rand = mrand.New(mrand.NewPCG(binary.LittleEndian.Uint64(seed[:8]), binary.LittleEndian.Uint64(seed[8:])))
	}
	h.d, h.o, h.rand = d, o, o.Rand
	h.seen = newDedup(o.DedupCacheSize)
	for _, name := range h.names {
		bo := o.Breaker
		bo.Now = o.Now
		log := d.Logger.With("provider", name)
		bo.OnChange = func(ctx context.Context, from, to breaker.State) {
			level := slog.LevelWarn
			if to == breaker.Closed {
				level = slog.LevelInfo
			}
			// ctx is the request's that caused the transition, so the
			// line carries its request id like every other line.
			log.Log(ctx, level, "circuit breaker "+to.String(), "from", from.String())
			if to == breaker.Closed {
				h.recovered.Store(true)
			}
			d.Metrics.Count("BreakerTransition", 1, map[string]string{"Provider": name, "State": to.String()})
		}
		h.breakers[name] = breaker.New(bo)
	}
	return h, nil
}

// WithDefaults returns o with every zero setting replaced by its default
// (the Default constants above; BackoffMax is also capped at SQS's
// queue.MaxVisibility). The wiring uses it to size what it builds around
// the handler, such as the providers' HTTP client.
func (o Options) WithDefaults() Options {
	o.Concurrency = orDefault(o.Concurrency, DefaultConcurrency)
	o.SendTimeout = orDefault(o.SendTimeout, DefaultSendTimeout)
	o.MessageBudget = orDefault(o.MessageBudget, DefaultMessageBudget)
	o.DeadlineMargin = orDefault(o.DeadlineMargin, DefaultDeadlineMargin)
	o.BackoffBase = orDefault(o.BackoffBase, DefaultBackoffBase)
	o.BackoffMax = min(orDefault(o.BackoffMax, DefaultBackoffMax), queue.MaxVisibility)
	o.MaxAge = orDefault(o.MaxAge, DefaultMaxAge)
	o.RecoverySpread = orDefault(o.RecoverySpread, DefaultRecoverySpread)
	o.DedupCacheSize = orDefault(o.DedupCacheSize, DefaultDedupCache)
	return o
}

// OptionError is a setting that does not fit the others once defaults
// apply. Field names the Options field; the wiring names its variable.
type OptionError struct {
	Field, Other string // the setting at fault and the one it contradicts ("" when none)
	Reason       string // the reason, naming Other as its Options field
	// reason words the reason with Other called by the given name.
	reason func(other string) string
}

// optionError is an OptionError whose reason names Other through how.
func optionError(field, other string, how func(other string) string) *OptionError {
	return &OptionError{Field: field, Other: other, Reason: how(other), reason: how}
}

// ReasonAs is the reason with Other called other: the wiring passes the
// other setting's variable, so no one edits the reason's text.
func (e *OptionError) ReasonAs(other string) string {
	if e.reason == nil {
		return e.Reason
	}
	return e.reason(other)
}

func (e *OptionError) Error() string { return "Options." + e.Field + ": " + e.Reason }

// Validate checks the settings against each other with the defaults
// applied; every problem is an *OptionError, all of them joined. New does
// not require it (a send timeout is cut to the message's budget anyway);
// the wiring refuses such a configuration, since it is a mistake.
func (o Options) Validate() error {
	o = o.WithDefaults()
	var errs []error
	if o.SendTimeout > o.MessageBudget {
		errs = append(errs, optionError("SendTimeout", "MessageBudget", func(other string) string {
			return fmt.Sprintf("must not exceed %s (%v)", other, o.MessageBudget)
		}))
	}
	if o.MaxAge > queue.MaxRetention {
		errs = append(errs, optionError("MaxAge", "", func(string) string {
			return fmt.Sprintf("must not exceed SQS's longest retention (%v)", queue.MaxRetention)
		}))
	}
	if o.BackoffBase > o.BackoffMax {
		errs = append(errs, optionError("BackoffBase", "BackoffMax", func(other string) string {
			return fmt.Sprintf("must not exceed %s (%v)", other, o.BackoffMax)
		}))
	}
	return errors.Join(errs...)
}

// Warnings are settings that work but defeat the retry schedule: a
// MaxReceives under the receives a message retried for MaxAge can use
// dead-letters it as retries-exhausted with its code still valid. They do
// not stop a cold start (a stack deployed with an older maxReceiveCount
// still delivers); the wiring logs them and `cogmail config check`
// reports them.
func (o Options) Warnings() []*OptionError {
	o = o.WithDefaults()
	var out []*OptionError
	if need := o.Schedule(o.MaxAge).Receives; o.MaxReceives > 0 && o.MaxReceives < need {
		out = append(out, optionError("MaxReceives", "MaxAge", func(other string) string {
			return fmt.Sprintf("%d is under the %d receives a message retried for %s (%v) can use at a %v backoff cap: it would be dead-lettered as retries-exhausted with its code still valid (use at least %d; the stack uses %d)",
				o.MaxReceives, need, other, o.MaxAge, o.BackoffMax, need, o.MaxReceiveCount())
		}))
	}
	return out
}

func orDefault[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Handle processes a batch concurrently and returns the messages SQS must
// deliver again. It returns an error only for a batch it could not look at
// (nil context); every per-message failure is in the response. In log
// lines, "attempt" counts provider calls for the message in this
// invocation and "receives" its deliveries by SQS.
func (h *Handler) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	if ctx == nil {
		return events.SQSEventResponse{}, errors.New("dispatch: nil context")
	}
	routing := h.d.Routes.Current(ctx)
	retry := make([]bool, len(ev.Records))
	sem := make(chan struct{}, h.o.Concurrency)
	var wg sync.WaitGroup
	for i := range ev.Records {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			defer func() {
				// A panicking provider must not take the batch down: the
				// message is retried. The panic value is not logged (it
				// could hold the message).
				if r := recover(); r != nil {
					retry[i] = true
					h.d.Logger.ErrorContext(ctx, "panic while handling a message; it will be retried",
						"sqsMessageId", ev.Records[i].MessageId, "panic", fmt.Sprintf("%T", r))
					h.d.Metrics.Count("Failed", 1, map[string]string{"Reason": string(ReasonPanic)})
				}
			}()
			retry[i] = h.process(ctx, &ev.Records[i], routing) == RetryLater
		})
	}
	wg.Wait()
	if h.recovered.Swap(false) {
		h.release(ctx)
	}
	var resp events.SQSEventResponse
	for i, r := range retry {
		if r {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: ev.Records[i].MessageId})
		}
	}
	return resp, nil
}

// Breaker returns the state of a provider's circuit breaker, for status
// pages and tests; ok is false for an unknown provider.
func (h *Handler) Breaker(name string) (state breaker.State, ok bool) {
	b, ok := h.breakers[name]
	if !ok {
		return 0, false
	}
	return b.State(), true
}

// int64n is a uniform draw in [0, n) from the seeded source.
func (h *Handler) int64n(n int64) int64 {
	if n <= 0 {
		return 0
	}
	h.randMu.Lock()
	defer h.randMu.Unlock()
	return h.rand.Int64N(n)
}
