package dispatch

import (
	"context"
	"time"

	"github.com/cogmail/cogmail/pkg/envelope"
	"github.com/cogmail/cogmail/pkg/recipient"
	"github.com/cogmail/cogmail/pkg/routing"
	"github.com/cogmail/cogmail/pkg/sendlimit"
	"github.com/cogmail/cogmail/pkg/suppression"
)

// Suppressions looks addresses up on the suppression list
// (suppression.Memory, reputationtable.Suppressions).
type Suppressions interface {
	Lookup(ctx context.Context, address string) ([]suppression.Entry, error)
}

// RecipientCounter counts emails per address (sendlimit.Memory,
// reputationtable.Counter).
type RecipientCounter interface {
	Take(ctx context.Context, address, id string, l sendlimit.Limit) (bool, error)
}

// guard is the reputation guard before any provider is called:
//
//	suppressed  the address is on the list for a reason whose policy stops this trigger → ReasonSuppressed
//	throttled   a code-bearing trigger, and the address already had the limit's emails in
//	            this window → ReasonThrottled
//
// Both are Delete rows of policy: not sent, not retried, not dead-lettered.
// The suppression check comes first, so a suppressed message does not use
// up the address's allowance. When the list or the counters cannot be
// read, the message is sent: a lost sign-in code locks a user out, while
// one email too many costs little, so the guard fails open (logged, and
// counted as GuardError).
func (h *Handler) guard(ctx context.Context, a *attempt, env *envelope.Envelope, to string, routing routing.Config) (outcome, bool) {
	addr := recipient.Canonical(to)
	if addr == "" {
		return outcome{}, false // the provider refuses it as Permanent
	}
	if h.d.Suppressions != nil {
		entries, err := h.d.Suppressions.Lookup(ctx, addr)
		if err != nil {
			h.guardError(ctx, a, "suppression", err)
		} else if e, blocked := h.o.Suppression.Blocking(entries, string(env.Trigger)); blocked {
			h.d.Metrics.Count("Suppressed", 1, map[string]string{"Trigger": a.trigger, "Reason": string(e.Reason)})
			return outcome{reason: ReasonSuppressed, detail: suppressedDetail(e)}, true
		}
	}
	if h.d.Recipients == nil || !env.Trigger.RequiresCode() {
		return outcome{}, false
	}
	limit := h.o.RecipientLimit
	if routing.RecipientLimit != nil {
		limit = *routing.RecipientLimit
	}
	if limit.Off() {
		return outcome{}, false
	}
	id := env.DedupKey
	if id == "" {
		id = env.ID
	}
	ok, err := h.d.Recipients.Take(ctx, addr, id, limit)
	switch {
	case err != nil:
		h.guardError(ctx, a, "recipient limit", err)
	case !ok:
		h.d.Metrics.Count("Throttled", 1, map[string]string{"Trigger": a.trigger})
		return outcome{reason: ReasonThrottled, detail: "recipient limit " + limit.String() + " reached"}, true
	}
	return outcome{}, false
}

// suppressedDetail says why, without the address.
func suppressedDetail(e suppression.Entry) string {
	d := string(e.Reason) + " reported by " + e.Provider + " at " + e.At.UTC().Format(time.RFC3339)
	if !e.ExpiresAt.IsZero() {
		d += ", until " + e.ExpiresAt.UTC().Format(time.RFC3339)
	}
	return d
}

func (h *Handler) guardError(ctx context.Context, a *attempt, what string, err error) {
	a.log.WarnContext(ctx, what+" not checked; sending anyway", "error", err.Error())
	h.d.Metrics.Count("GuardError", 1, map[string]string{"Check": what})
}
