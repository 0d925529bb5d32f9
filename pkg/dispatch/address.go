package dispatch

import (
	"context"
	"fmt"
	"strings"

	"github.com/cogmail/cogmail/pkg/envelope"
	"github.com/cogmail/cogmail/pkg/recipient"
)

// UTF8Recipients is what a Sender implements to say whether it can deliver
// to an address whose local part is not ASCII (RFC 6531 SMTPUTF8, e.g.
// jürgen@example.de). Each provider package answers from what its provider
// documents; an SMTP relay is asked (its EHLO reply). A Sender without it is
// taken not to: such an address never reaches it, so it cannot reject the
// message as malformed and dead-letter it with no failover (SES does).
// An error means the answer is not known now (the relay did not answer).
type UTF8Recipients interface {
	UTF8Recipients(ctx context.Context) (bool, error)
}

// addressable puts the recipient's domain in IDNA ASCII form (ingest
// already does; a message enqueued before it did, or replayed, may not) and
// keeps, for a local part that is not ASCII, only the providers of order
// that can take it. With none, the message ends: address-unsupported when
// every provider said no (dead-lettered at once, never retried), or
// unavailable when one could not say (retried later).
func (h *Handler) addressable(ctx context.Context, a *attempt, to string, order []string) (string, []string, outcome, bool) {
	ascii, err := recipient.ASCIIDomain(to)
	if err != nil {
		return "", nil, outcome{reason: envelope.ReasonAddressUnsupported, detail: err.Error()}, true
	}
	if recipient.ASCIILocalPart(ascii) {
		return ascii, order, outcome{}, false
	}
	var (
		capable []string
		unknown = map[string]string{}
	)
	for _, name := range order {
		c, ok := h.senders[name].(UTF8Recipients)
		if !ok {
			continue
		}
		yes, err := c.UTF8Recipients(ctx)
		switch {
		case err != nil:
			unknown[name] = "could not tell whether it takes a non-ASCII local part: " + err.Error()
		case yes:
			capable = append(capable, name)
		}
	}
	if len(capable) > 0 {
		a.log.InfoContext(ctx, "non-ASCII local part: only providers that take one", "providers", capable)
		return ascii, capable, outcome{}, false
	}
	if len(unknown) > 0 {
		a.log.WarnContext(ctx, "non-ASCII local part: no provider known to take one now", "providers", order)
		return "", nil, outcome{reason: ReasonUnavailable, errs: unknown}, true
	}
	return "", nil, outcome{reason: envelope.ReasonAddressUnsupported,
		detail: fmt.Sprintf("the recipient's local part is not ASCII, and none of the providers (%s) takes one (SMTPUTF8)", strings.Join(order, ", "))}, true
}
