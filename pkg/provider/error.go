package provider

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/cogmail/cogmail/pkg/provider/internal/redact"
)

// Class says what the dispatcher does after a failed send.
type Class int

const (
	// Unavailable: the provider could not take the message now (5xx, timeout,
	// connection error, bad credentials or other misconfiguration, an answer
	// we do not understand). Fail over to the next provider. Any error that is
	// not an *Error, and an *Error without a Class, counts as Unavailable.
	Unavailable Class = iota + 1
	// RateLimited: the provider throttled us. Fail over or retry after
	// RetryAfter (zero when the provider gave no time).
	RateLimited
	// Permanent: the provider rejected this message (bad recipient, payload
	// rejected). Retrying it there will not help, but providers differ in
	// what they take: dispatch fails over to the next provider, and the
	// message goes to the dead-letter queue when every provider rejected it.
	Permanent
)

func (c Class) String() string {
	switch c {
	case 0:
		return "none"
	case Unavailable:
		return "unavailable"
	case RateLimited:
		return "rate limited"
	case Permanent:
		return "permanent"
	}
	return "class(" + strconv.Itoa(int(c)) + ")"
}

// Error is a classified delivery failure. Its message carries the provider,
// the class, the status and a short provider reason, and never the message
// body, the recipient or a credential: Reason is scrubbed of anything that
// looks like an email address when the error is printed, and providers build
// it from status texts and error codes, not from what they sent.
type Error struct {
	Provider   string        // the provider's Name()
	Class      Class         // what to do next
	Status     int           // HTTP status or SMTP reply code; 0 when there was no answer
	Code       string        // provider error code (SES "MessageRejected", SMTP "5.1.1"), may be empty
	RetryAfter time.Duration // with RateLimited: how long the provider asked us to wait, 0 if it did not say
	Reason     string        // short provider reason, safe to log
	Err        error         // the underlying error, for errors.Is/As (context.DeadlineExceeded, ...)
	// Suppress, with Permanent: the recipient opted out or cannot receive
	// at all, so its address or number goes on the suppression list (see
	// Suppresses). The class still says what to do with this message.
	Suppress bool
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Provider)
	b.WriteString(": ")
	b.WriteString(e.class().String())
	var details []string
	if e.Status != 0 {
		d := "status " + strconv.Itoa(e.Status)
		if e.Code != "" {
			d += " " + e.Code
		}
		details = append(details, d)
	} else if e.Code != "" {
		details = append(details, e.Code)
	}
	if e.RetryAfter > 0 {
		details = append(details, "retry after "+e.RetryAfter.String())
	}
	if len(details) > 0 {
		b.WriteString(" (")
		b.WriteString(strings.Join(details, ", "))
		b.WriteString(")")
	}
	if r := redact.Reason(e.Reason); r != "" {
		b.WriteString(": ")
		b.WriteString(r)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

func (e *Error) class() Class {
	if e.Class == 0 {
		return Unavailable
	}
	return e.Class
}

// ClassOf classifies err: the Class of the first *Error in its chain, or
// Unavailable for any other error (unknown failures are transient). It
// returns 0 for a nil error.
func ClassOf(err error) Class {
	if err == nil {
		return 0
	}
	var e *Error
	if errors.As(err, &e) {
		return e.class()
	}
	return Unavailable
}

// RetryAfter returns how long a RateLimited provider asked us to wait, or 0.
func RetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) && e.class() == RateLimited && e.RetryAfter > 0 {
		return e.RetryAfter
	}
	return 0
}
