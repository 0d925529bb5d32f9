package dispatch

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/cogmail/cogmail/pkg/envelope"
	"github.com/cogmail/cogmail/pkg/provider"
	"github.com/cogmail/cogmail/pkg/routing"
)

// maxRounds bounds the rounds over the providers for one message, whatever
// the clock does; the budget normally ends them long before.
const maxRounds = 32

// deliver sends m through the providers in order and says how it ended:
// ReasonSent, or the reason the failures give (reasonFor). Its attempts
// are one sequence of steps, one provider call each: a round is the order
// once, and rounds are separated by exponential backoff with full jitter,
// until the message is sent, refused by every provider, or the deadline
// comes. A provider whose breaker is open is skipped; a round that calls
// no provider still in the running ends the attempts at once. By
// provider.Class:
//
//	Permanent     next step, and the provider is out of this delivery (later rounds too): it
//	              refused this message; the breaker counts a success (the provider works). When
//	              every provider in the order has refused it, the message is dead-lettered
//	Unavailable   next step; counts toward the breaker
//	RateLimited   when its Retry-After fits before the deadline, wait it and make the same provider
//	              the next step (once per round); else next step; counts toward the breaker
//
// When the steps run out, the last temporary failure's class gives the
// reason (ReasonUnavailable, ReasonRateLimited); with none, the deadline or
// the open breakers do. So a refusal from some providers only is retried
// like the others' answers: a provider skipped for its open breaker, or one
// that failed for the time being, may still take the message. Whatever the
// reason, the outcome says when a breaker of a provider still in the
// running next lets a probe through, so that the message is not retried
// earlier.
func (h *Handler) deliver(ctx context.Context, m provider.Message, order []string, deadline time.Time, a *attempt) outcome {
	o := outcome{errs: map[string]string{}}
	var last provider.Class      // the latest temporary failure's class; zero before any
	refused := map[string]bool{} // providers that refused the message (Permanent): out of this delivery
	running := func() []string { // the order without them
		return slices.DeleteFunc(slices.Clone(order), func(p string) bool { return refused[p] })
	}
	steps := running()           // the rest of this round
	retried := map[string]bool{} // providers tried again after a Retry-After in this round
	called := false              // whether this round called a provider that is still running
	for round := 0; round < maxRounds; {
		if len(steps) == 0 {
			if !called {
				// Every breaker of a provider still running is open: let
				// SQS bring the message back when one lets a probe through.
				return h.failed(o, running(), last, ReasonBreakersOpen)
			}
			wait := h.jitter(round)
			if !h.o.Now().Add(wait).Before(deadline) || h.o.Sleep(ctx, wait) != nil {
				return h.failed(o, running(), last, ReasonDeadline)
			}
			round++
			steps, called = running(), false
			clear(retried)
			continue
		}
		name := steps[0]
		steps = steps[1:]
		if ctx.Err() != nil || !h.o.Now().Before(deadline) {
			return h.failed(o, running(), last, ReasonDeadline)
		}
		br := h.breakers[name]
		if !br.Allow(ctx) {
			// Its open breaker answers for it: what it said last.
			if _, ok := o.errs[name]; !ok {
				if answer := h.answers.skipped(name); answer != "" {
					o.errs[name] = answer
				}
			}
			continue
		}
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
		class := provider.ClassOf(err)
		o.errs[name] = err.Error()
		h.answers.failed(name, o.errs[name], h.o.Now())
		h.d.Metrics.Count("ProviderError", 1, map[string]string{"Provider": name, "Class": class.String()})
		a.log.WarnContext(ctx, "provider failed", "provider", name, "attempt", o.attempts, "class", class.String(),
			"attemptMs", ms(took), "error", err.Error())
		switch {
		case class == provider.Permanent:
			br.Success(ctx)
			h.answers.succeeded(name) // it works; the message was the problem
			refused[name] = true
			if len(refused) == len(order) { // every provider refused it
				o.reason = envelope.ReasonPermanent
				return o
			}
			continue
		case cut:
			br.Abandon()
		default:
			br.Failure(ctx)
		}
		last, called = class, true
		if wait := provider.RetryAfter(err); last == provider.RateLimited && !retried[name] &&
			wait > 0 && h.o.Now().Add(wait).Before(deadline) {
			retried[name] = true
			if h.o.Sleep(ctx, wait) != nil {
				return h.failed(o, running(), last, ReasonDeadline)
			}
			steps = slices.Insert(steps, 0, name)
		}
	}
	return h.failed(o, running(), last, ReasonDeadline)
}

// failed ends o with the reason its last temporary failure's class gives,
// or otherwise when no provider failed for the time being, and with when
// the first of the running providers' breakers next lets a probe through.
func (h *Handler) failed(o outcome, running []string, last provider.Class, otherwise Reason) outcome {
	o.reason = otherwise
	if last != 0 {
		o.reason = reasonFor(last)
	}
	for i, name := range running {
		if at := h.breakers[name].ProbeAt(); i == 0 || at.Before(o.probeAt) {
			o.probeAt = at
		}
	}
	return o
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
func (h *Handler) order(c routing.Config) []string {
	names := make([]string, 0, len(c.Providers))
	for _, p := range c.Providers {
		if _, ok := h.senders[p]; ok && !slices.Contains(names, p) {
			names = append(names, p)
		}
	}
	if c.Strategy != routing.Weighted || len(names) < 2 {
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
