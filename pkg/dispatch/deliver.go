package dispatch

import (
	"context"
	"errors"
	"math"
	"slices"
	"time"

	"github.com/cogmail/cogmail/pkg/envelope"
	"github.com/cogmail/cogmail/pkg/provider"
	"github.com/cogmail/cogmail/pkg/providerconfig"
)

// maxRounds bounds the rounds over the providers for one message, whatever
// the clock does; the budget normally ends them long before.
const maxRounds = 32

// deliver sends m through the providers in order and says how it ended:
// ReasonSent, or the reason the failures give (reasonFor). It fails over on
// unavailable and rate-limited answers, in rounds separated by exponential
// backoff with full jitter, until the message is sent, permanently
// rejected, or the deadline comes. A provider whose breaker is open is
// skipped; when every breaker is open it fails fast. By provider.Class:
//
//	Permanent     stop: no other provider would take it (the breaker counts a success: the provider works)
//	Unavailable   next provider; counts toward the breaker
//	RateLimited   wait Retry-After and try the same provider again when the wait fits before the
//	              deadline (once per round), else next provider; counts toward the breaker
//
// When no provider is left to try, the last failure's class gives the
// reason (ReasonUnavailable, ReasonRateLimited); with none, the deadline or
// the open breakers do.
func (h *Handler) deliver(ctx context.Context, m provider.Message, order []string, deadline time.Time, a *attempt) outcome {
	o := outcome{errs: map[string]string{}}
	var last provider.Class
	stop := func(otherwise Reason) outcome {
		o.reason = otherwise
		if last != 0 {
			o.reason = reasonFor(last)
		}
		return o
	}
	waited := map[string]bool{}
	for round := 0; round < maxRounds; round++ {
		tried := false
		clear(waited)
		for i := 0; i < len(order); i++ {
			name := order[i]
			if ctx.Err() != nil || !h.o.Now().Before(deadline) {
				return stop(ReasonDeadline)
			}
			br := h.breakers[name]
			if !br.Allow(ctx) {
				if _, ok := o.errs[name]; !ok {
					if last := h.answers.skipped(name); last != "" {
						o.errs[name] = last
					}
				}
				continue
			}
			tried = true
			o.attempts++
			r, took, cut, err := h.call(ctx, h.senders[name], m, deadline)
			if err == nil {
				br.Success(ctx)
				h.answers.succeeded(name)
				if r.Provider == "" {
					r.Provider = name
				}
				o.reason, o.sent = ReasonSent, sentBy{receipt: r, primary: order[0], took: took}
				return o
			}
			last = provider.ClassOf(err)
			o.errs[name] = err.Error()
			h.answers.failed(name, o.errs[name], h.o.Now())
			h.d.Metrics.Count("ProviderError", 1, map[string]string{"Provider": name, "Class": last.String()})
			a.log.WarnContext(ctx, "provider failed", "provider", name, "attempt", o.attempts, "class", last.String(),
				"attemptMs", ms(took), "error", err.Error())
			switch {
			case last == provider.Permanent:
				br.Success(ctx)
				h.answers.succeeded(name) // it works; the message was the problem
				return stop(envelope.ReasonPermanent)
			case cut:
				br.Abandon()
			default:
				br.Failure(ctx)
			}
			if last == provider.RateLimited && !waited[name] {
				wait := provider.RetryAfter(err)
				if wait > 0 && h.o.Now().Add(wait).Before(deadline) {
					waited[name] = true
					if h.o.Sleep(ctx, wait) != nil {
						o.reason = ReasonDeadline
						return o
					}
					i-- // the same provider again
				}
			}
		}
		if !tried {
			// Every breaker is open: fail fast and let SQS bring the message
			// back after its visibility backoff.
			// The outcome keeps each skipped provider's last answer.
			if o.attempts == 0 {
				o.reason = ReasonBreakersOpen
				return o
			}
			return stop(ReasonBreakersOpen)
		}
		wait := h.jitter(round)
		if !h.o.Now().Add(wait).Before(deadline) || h.o.Sleep(ctx, wait) != nil {
			return stop(ReasonDeadline)
		}
	}
	return stop(ReasonDeadline)
}

// call makes one provider call within the send timeout and the message's
// deadline. cut reports a failure caused by our own time running out rather
// than by the provider: it does not count against the provider's breaker.
func (h *Handler) call(ctx context.Context, s Sender, m provider.Message, deadline time.Time) (r provider.Receipt, took time.Duration, cut bool, err error) {
	start := h.o.Now()
	timeout := h.o.SendTimeout
	budgetCut := false
	if left := deadline.Sub(start); left < timeout {
		timeout, budgetCut = left, true
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	r, err = s.Send(cctx, m)
	cancel()
	took = h.o.Now().Sub(start)
	h.d.Metrics.Duration("ProviderLatency", took, map[string]string{"Provider": s.Name()})
	if err != nil && (ctx.Err() != nil || budgetCut && errors.Is(err, context.DeadlineExceeded)) {
		cut = true
	}
	return r, took, cut, err
}

// ms is d in milliseconds, to the microsecond: the timeline's unit.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// order is the sequence of providers for one message: the listed order for
// failover; for weighted, a draw in proportion to the weights, then the rest
// drawn the same way, then the standbys (weight 0) in listed order. Names
// without a Sender are left out.
func (h *Handler) order(c providerconfig.Config) []string {
	names := make([]string, 0, len(c.Providers))
	for _, p := range c.Providers {
		if _, ok := h.senders[p]; ok && !slices.Contains(names, p) {
			names = append(names, p)
		}
	}
	if c.Strategy != providerconfig.Weighted || len(names) < 2 {
		return names
	}
	weight := func(p string) int64 {
		if w, ok := c.Weights[p]; ok {
			return int64(max(w, 0))
		}
		return 1
	}
	out := make([]string, 0, len(names))
	rest := slices.Clone(names)
	for {
		var total int64
		for _, p := range rest {
			total += weight(p)
		}
		if total == 0 {
			break
		}
		n := h.int64n(total)
		for i, p := range rest {
			if n < weight(p) {
				out = append(out, p)
				rest = slices.Delete(rest, i, i+1)
				break
			}
			n -= weight(p)
		}
	}
	return append(out, rest...)
}

// jitter is the wait after a failed round: full jitter, uniform in
// [0, min(BackoffMax, BackoffBase·2^round)).
func (h *Handler) jitter(round int) time.Duration {
	return time.Duration(h.int64n(int64(h.exp(round))))
}

// visibility is how long SQS hides a message retried later, by how many
// times it has been received: BackoffBase·2^(receives-1) capped at
// BackoffMax, with equal jitter (half fixed, half random) so that a burst of
// failures does not come back all at once; whole seconds, at least one.
func (h *Handler) visibility(receives int) time.Duration {
	d := h.exp(receives - 1)
	half := d / 2
	v := half + time.Duration(h.int64n(int64(d-half)+1))
	return max(time.Duration(math.Ceil(v.Seconds()))*time.Second, time.Second)
}

// exp is BackoffBase·2^n capped at BackoffMax, without overflow.
func (h *Handler) exp(n int) time.Duration {
	d := h.o.BackoffBase
	for range max(n, 0) {
		if d >= h.o.BackoffMax/2 {
			return h.o.BackoffMax
		}
		d *= 2
	}
	return min(d, h.o.BackoffMax)
}
