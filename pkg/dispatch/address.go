package dispatch

import (
	"context"
	"fmt"
	"strings"

	"github.com/cogmail/cogmail/pkg/envelope"
	"github.com/cogmail/cogmail/pkg/provider"
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

// addressable puts the domains of m's recipient, sender and Reply-To in
// IDNA ASCII form (ingest already does for the recipient; a message
// enqueued before it did, or replayed, may not; the sender comes from the
// configuration or the brand) and, when one of them has a local part that
// is not ASCII, keeps only the providers of order that take one. With none,
// the message ends: address-unsupported when every provider said no (it is
// dead-lettered at once, never retried), or unavailable when one could not
// say (it is retried later).
func (h *Handler) addressable(ctx context.Context, a *attempt, m *provider.Message, order []string) ([]string, outcome, bool) {
	to, err := recipient.ASCIIDomain(m.To)
	if err != nil {
		return nil, outcome{reason: envelope.ReasonAddressUnsupported, detail: err.Error()}, true
	}
	m.To = to
	asciiLocal := recipient.ASCIILocalPart(m.To)
	for _, e := range []*string{&m.From.Email, &m.ReplyTo.Email} {
		if *e == "" {
			continue
		}
		// A sender that has no IDNA form is left for the provider to refuse:
		// its error names the configuration, not this message.
		if ascii, err := recipient.ASCIIDomain(*e); err == nil {
			*e = ascii
		}
		asciiLocal = asciiLocal && recipient.ASCIILocalPart(*e)
	}
	if asciiLocal {
		return order, outcome{}, false
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
		return capable, outcome{}, false
	}
	if len(unknown) > 0 {
		a.log.WarnContext(ctx, "non-ASCII local part: no provider known to take one now", "providers", order)
		return nil, outcome{reason: ReasonUnavailable, errs: unknown}, true
	}
	return nil, outcome{reason: envelope.ReasonAddressUnsupported,
		detail: fmt.Sprintf("an address's local part is not ASCII, and none of the providers (%s) takes one (SMTPUTF8)", strings.Join(order, ", "))}, true
}
