package dispatch

import (
	"time"

	"github.com/cogmail/cogmail/pkg/envelope"
	"github.com/cogmail/cogmail/pkg/provider"
)

// Action is what happens to an SQS message once dispatch is done with it.
type Action int

const (
	// Delete: the message is done and leaves the source queue (it was sent,
	// or it must never be sent).
	Delete Action = iota + 1
	// RetryLater: the message is reported in batchItemFailures and hidden
	// until its next try (schedule.go): a backoff that grows with its
	// receive count, no earlier than a breaker's next probe, no later than
	// its retry window's end, where it is dead-lettered as expired or
	// max-age. (On a MaxReceives-th delivery, which the schedule never
	// reaches, it is dead-lettered as ReasonRetriesExhausted.)
	RetryLater
	// DeadLetter: the message goes, unchanged and still sealed, to the DLQ
	// with its reason and each provider's last error; then it is deleted.
	// If the DLQ refuses it, it is retried later instead (never lost).
	DeadLetter
)

func (a Action) String() string {
	switch a {
	case Delete:
		return "delete"
	case RetryLater:
		return "retry later"
	case DeadLetter:
		return "dead-letter"
	}
	return "none"
}

// Reason says why dispatch finished with a message as it did: the
// cogmail.reason attribute of a dead-lettered message and the Reason
// dimension of the Failed, DLQ and Skipped metrics. The dead-letter reasons
// are the DLQ tools' contract and live in pkg/envelope; the others are
// dispatch's own.
type Reason = envelope.Reason

// Dispatch's own reasons, grouped by the Action policy gives them.
const (
	ReasonSent      Reason = "sent"      // a provider accepted the message
	ReasonDuplicate Reason = "duplicate" // its dedup key was already sent (by this container or, per the table, another)

	ReasonSuppressed Reason = "suppressed" // the recipient is on the suppression list and the policy stops this trigger
	ReasonThrottled  Reason = "throttled"  // the recipient had the recipient limit's emails in this window (anti email-bombing)

	ReasonUnavailable  Reason = "unavailable"   // every provider tried failed
	ReasonRateLimited  Reason = "rate-limited"  // the last provider tried throttled us
	ReasonBreakersOpen Reason = "breakers-open" // every provider's breaker is open (failed fast)
	ReasonDeadline     Reason = "deadline"      // no time left in the budget or the invocation
	ReasonKMS          Reason = "kms"           // KMS could not open the data key now
	ReasonIdempotency  Reason = "idempotency"   // the idempotency table could not be reached
	ReasonInProgress   Reason = "in-progress"   // another container (or goroutine) is sending this message now
	ReasonDLQFailed    Reason = "dlq-failed"    // the DLQ could not take the message
	ReasonNoProvider   Reason = "no-provider"   // the routing names no provider this container has
	ReasonPanic        Reason = "panic"         // handling the message panicked
)

// policy is the one table of what dispatch does with a message, by the
// reason it stopped handling it. The provider side of the table is
// provider.Class (pkg/provider/error.go), which deliver turns into a
// reason with reasonFor.
//
// New outcomes go here: a Reason constant above (in pkg/envelope if it
// dead-letters) and one row below. An
// outcome that is never sent, never retried and never dead-lettered (a
// suppressed recipient, a throttled one) is a Delete row; settle reports
// it as skipped (an INFO "not sent" line and the Skipped{Reason} count)
// and settles the claim on its dedup key as "not sent".
var policy = map[Reason]Action{
	ReasonSent:      Delete,
	ReasonDuplicate: Delete,
	// Sending would harm the sender's reputation or the recipient; another
	// attempt would decide the same, so they are neither retried nor
	// dead-lettered (see reputation.go).
	ReasonSuppressed: Delete,
	ReasonThrottled:  Delete,

	envelope.ReasonMalformed:        DeadLetter,
	envelope.ReasonExpired:          DeadLetter, // Delete instead with Options.DropExpired
	envelope.ReasonMaxAge:           DeadLetter,
	envelope.ReasonPermanent:        DeadLetter,
	envelope.ReasonUnsealable:       DeadLetter,
	envelope.ReasonRetriesExhausted: DeadLetter,
	// No configured provider can take the address (see address.go);
	// another attempt would find the same providers.
	envelope.ReasonAddressUnsupported: DeadLetter,
	// The message's channel has no sender here (a text message; see
	// channel in message.go); another attempt would find the same.
	envelope.ReasonChannelUnsupported: DeadLetter,

	ReasonUnavailable:  RetryLater,
	ReasonRateLimited:  RetryLater,
	ReasonBreakersOpen: RetryLater,
	ReasonDeadline:     RetryLater,
	ReasonKMS:          RetryLater,
	ReasonIdempotency:  RetryLater,
	ReasonInProgress:   RetryLater,
	ReasonDLQFailed:    RetryLater,
	ReasonNoProvider:   RetryLater,
	ReasonPanic:        RetryLater,
}

// reasonFor is the reason a message ends with after a provider's failure of
// class c: the provider half of the policy table. Unavailable and
// RateLimited are first failed over (see deliver); they end the message
// only when no provider is left to try.
func reasonFor(c provider.Class) Reason {
	switch c {
	case provider.Permanent:
		return envelope.ReasonPermanent
	case provider.RateLimited:
		return ReasonRateLimited
	}
	return ReasonUnavailable
}

// outcome is how handling one message ended: the reason, and what is known
// about the attempts for the log line, the metrics and the DLQ attributes.
type outcome struct {
	reason   Reason
	detail   string            // what was wrong, when it is not a provider's answer (DLQ cogmail.error)
	seenIn   string            // duplicates: "container" or "table"
	attempts int               // provider calls made in this invocation
	errs     map[string]string // each provider's last error, secret-free
	sent     sentBy            // with ReasonSent
	// probeAt, when a breaker kept the message from a provider, is the
	// earliest moment one of them lets a probe through: it is not retried
	// before.
	probeAt time.Time
}

// sentBy is who took a sent message.
type sentBy struct {
	receipt provider.Receipt // the provider and its message id
	primary string           // the first provider in this message's order
	took    time.Duration    // the successful provider call's latency
}

// end is the outcome for reason r with nothing more to say.
func end(r Reason) outcome { return outcome{reason: r} }

// action is what policy says for o, with Options.DropExpired applied.
func (h *Handler) action(o outcome) Action {
	if o.reason == envelope.ReasonExpired && h.o.DropExpired {
		return Delete
	}
	if a, ok := policy[o.reason]; ok {
		return a
	}
	// An outcome without a row is a bug; retrying is the choice that loses
	// nothing.
	return RetryLater
}
