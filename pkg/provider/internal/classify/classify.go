// Package classify holds the classification rules the HTTP providers share:
// HTTP status to Class, rate-limit headers to a wait, transport failures to
// Unavailable, with reasons that quote no URL, payload or address.
package classify

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cogmail/cogmail/pkg/provider"
	"github.com/cogmail/cogmail/pkg/provider/internal/redact"
)

// MaxRetryAfter bounds a provider's requested wait: a provider asking for
// more than a day is read as asking for a day (and a garbage header cannot
// overflow a Duration).
const MaxRetryAfter = 24 * time.Hour

// HTTP classifies the status of an HTTP answer that is not a success.
//
//	429                    RateLimited
//	400, 413, 422          Permanent (the payload or the recipient was rejected)
//	anything else          Unavailable (401/403/404: misconfiguration; 408, 5xx: outage;
//	                       unknown statuses are transient)
func HTTP(status int) provider.Class {
	switch status {
	case http.StatusTooManyRequests:
		return provider.RateLimited
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity:
		return provider.Permanent
	}
	return provider.Unavailable
}

// RetryAfter reads the wait a rate-limited answer asks for: Retry-After
// (delta seconds or an HTTP date), else X-RateLimit-Reset (epoch seconds,
// epoch milliseconds when it is that large, or delta seconds when it is too
// small to be an epoch). now is the injected clock. It returns 0 when there
// is no usable header or the reset is already past.
func RetryAfter(h http.Header, now time.Time) time.Duration {
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if n, err := strconv.ParseFloat(v, 64); err == nil {
			return seconds(n)
		}
		if t, err := http.ParseTime(v); err == nil {
			return bound(t.Sub(now))
		}
	}
	if v := strings.TrimSpace(h.Get("X-RateLimit-Reset")); v != "" {
		n, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(n) {
			return 0
		}
		switch {
		case n >= 1e12: // epoch milliseconds
			return bound(time.UnixMilli(int64(min(n, 1e15))).Sub(now))
		case n >= 1e9: // epoch seconds
			sec, frac := math.Modf(n)
			return bound(time.Unix(int64(sec), int64(frac*1e9)).Sub(now))
		default: // a delta
			return seconds(n)
		}
	}
	return 0
}

func seconds(n float64) time.Duration {
	if math.IsNaN(n) || n <= 0 {
		return 0
	}
	if n >= MaxRetryAfter.Seconds() {
		return MaxRetryAfter
	}
	return time.Duration(n * float64(time.Second))
}

func bound(d time.Duration) time.Duration {
	switch {
	case d <= 0:
		return 0
	case d > MaxRetryAfter:
		return MaxRetryAfter
	}
	return d
}

// Invalid reports a Message.Validate failure: Permanent, no I/O happened.
func Invalid(name string, err error) *provider.Error {
	return &provider.Error{
		Provider: name,
		Class:    provider.Permanent,
		Reason:   "invalid message: " + strings.ReplaceAll(err.Error(), "\n", "; "),
		Err:      err,
	}
}

// Transport classifies a failure to get an answer at all: always
// Unavailable. When ctx is done the error also matches ctx.Err() with
// errors.Is, whatever the client library made of it.
func Transport(ctx context.Context, name string, err error) *provider.Error {
	if cerr := ctx.Err(); cerr != nil {
		if !errors.Is(err, cerr) {
			err = errors.Join(cerr, err)
		}
		return &provider.Error{Provider: name, Class: provider.Unavailable, Reason: ContextReason(cerr), Err: err}
	}
	return &provider.Error{Provider: name, Class: provider.Unavailable, Reason: TransportReason(err), Err: err}
}

// ContextReason names a context error.
func ContextReason(err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return "deadline exceeded before the provider answered"
	}
	return "canceled before the provider answered"
}

// TransportReason describes a network-level failure by what it is, without
// quoting the URL or anything the client sent.
func TransportReason(err error) string {
	if r := NetReason(err); r != "" {
		return r
	}
	return "transport error: " + redact.Reason(innermost(err))
}

// NetReason names a network, TLS or context failure, or returns "" when err
// is none of those (provider.NetReason, the one list of them).
func NetReason(err error) string { return provider.NetReason(err) }

// innermost returns the text of the deepest single-wrapped error, which
// drops the "Post \"https://...\": " prefixes of url.Error and friends.
func innermost(err error) string {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err.Error()
		}
		err = next
	}
}
