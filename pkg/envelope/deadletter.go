package envelope

import "strings"

// Attributes dispatch adds to a message it dead-letters, beside the
// envelope's own (the body stays the original, sealed one). Dispatch writes
// them; the DLQ tools (internal/ops/dlq) read them and drop them on replay.
const (
	AttrReason       = "cogmail.reason"       // a dead-letter Reason
	AttrError        = "cogmail.error"        // what was wrong, for reasons that are not a provider's answer
	AttrLastError    = "cogmail.lastError."   // + provider name: that provider's last classified error
	AttrAttempts     = "cogmail.attempts"     // deliveries of the message to dispatch (ApproximateReceiveCount)
	AttrFirstAttempt = "cogmail.firstAttempt" // first delivery to dispatch (RFC 3339, UTC)
	AttrLastAttempt  = "cogmail.lastAttempt"  // the delivery that dead-lettered it
)

// DeadLetterOnly reports whether an attribute was written by dead-lettering
// rather than by ingest. A message replayed from the DLQ must not carry
// them back: dispatch replaces them, replay drops them, so an old provider
// error cannot pass for a new one.
func DeadLetterOnly(name string) bool {
	switch name {
	case AttrReason, AttrError, AttrAttempts, AttrFirstAttempt, AttrLastAttempt:
		return true
	}
	return strings.HasPrefix(name, AttrLastError)
}

// Reason says why dispatch finished with a message as it did. The ones
// below are the values of AttrReason on a dead-lettered message; dispatch
// adds its own for the other outcomes (sent, retried later, skipped), which
// appear only in its logs and metrics.
type Reason string

// The dead-letter reasons.
const (
	ReasonMalformed Reason = "malformed" // not an envelope, or a payload that is not one
	ReasonExpired   Reason = "expired"   // past expiresAt: the code is useless
	// ReasonMaxAge: older than the longest dispatch retries a message
	// (its trigger's retry window, at most dispatch's MaxAge), though its
	// code is still valid: a temporary password days late.
	ReasonMaxAge     Reason = "max-age"
	ReasonPermanent  Reason = "permanent"  // a provider rejected the message itself
	ReasonUnsealable Reason = "unsealable" // the payload cannot be opened (tampered, key gone)
	// ReasonAddressUnsupported: no configured provider can take the
	// recipient's address: its local part is not ASCII and none of them
	// documents SMTPUTF8 support (or its domain has no IDNA form).
	ReasonAddressUnsupported Reason = "address-unsupported"
	// ReasonChannelUnsupported: the message's channel is one this dispatch
	// does not send: a text message (channel "sms") before dispatch has
	// SMS providers. It is dead-lettered, not retried, so that it stays
	// whole in the DLQ, replayable, and visible by its reason.
	ReasonChannelUnsupported Reason = "channel-unsupported"
	// ReasonRetriesExhausted: still unsent on dispatch's MaxReceives-th
	// delivery (the queue's maxReceiveCount, derived so that retrying by
	// time never reaches it: only a message whose receives were spent
	// outside the schedule, such as by crashed invocations, gets here). The DLQ tools also show it for a message without AttrReason:
	// SQS's redrive moved it after maxReceiveCount deliveries that dispatch
	// never saw through (timed-out or crashed invocations).
	ReasonRetriesExhausted Reason = "retries-exhausted"
)

// DeadLetterReasons lists every reason a dead-lettered message carries, for
// tools that filter by reason and must refuse one that cannot match.
func DeadLetterReasons() []Reason {
	return []Reason{ReasonPermanent, ReasonExpired, ReasonMaxAge, ReasonMalformed, ReasonUnsealable, ReasonAddressUnsupported, ReasonChannelUnsupported, ReasonRetriesExhausted}
}
