package dispatch

import (
	"container/list"
	"context"
	"sync"
	"time"

	"github.com/cogmail/cogmail/pkg/idempotency"
)

// dedup remembers the dedup keys this container has sent (a bounded LRU)
// and the ones it is sending now, so that a duplicate in the same batch or a
// redelivery while the first copy is still in flight is not sent twice.
type dedup struct {
	mu       sync.Mutex
	size     int
	lru      *list.List // of string, most recent first
	sent     map[string]*list.Element
	inFlight map[string]struct{}
}

type seenState int

const (
	seenNew  seenState = iota // not seen: the caller now owns it and must call end
	seenSent                  // already sent by this container
	seenBusy                  // being sent by another goroutine now
)

func newDedup(size int) *dedup {
	return &dedup{size: size, lru: list.New(), sent: map[string]*list.Element{}, inFlight: map[string]struct{}{}}
}

func (d *dedup) begin(key string) seenState {
	d.mu.Lock()
	defer d.mu.Unlock()
	if el, ok := d.sent[key]; ok {
		d.lru.MoveToFront(el)
		return seenSent
	}
	if _, ok := d.inFlight[key]; ok {
		return seenBusy
	}
	d.inFlight[key] = struct{}{}
	return seenNew
}

// end releases key; sent records it as delivered.
func (d *dedup) end(key string, sent bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.inFlight, key)
	if sent {
		d.add(key)
	}
}

func (d *dedup) add(key string) {
	if el, ok := d.sent[key]; ok {
		d.lru.MoveToFront(el)
		return
	}
	d.sent[key] = d.lru.PushFront(key)
	for d.lru.Len() > d.size {
		last := d.lru.Back()
		d.lru.Remove(last)
		delete(d.sent, last.Value.(string))
	}
}

// claim is this container's hold on a message's dedup key: in the
// container's dedup cache and, with an idempotency table, in the table. It
// settles itself from the message's outcome: a sent message completes it
// (later copies are duplicates), anything else releases it (a later copy
// may send). Call settle exactly once.
type claim struct {
	h     *Handler
	key   string
	table bool // claimed in the idempotency table too
}

// claim takes the dedup key for one message. When it cannot, it returns a
// nil claim and the message's outcome instead: a duplicate, or a retry
// because another copy is in flight or the table cannot be reached.
func (h *Handler) claim(ctx context.Context, a *attempt, key string, until time.Time) (*claim, outcome) {
	switch h.seen.begin(key) {
	case seenSent:
		return nil, outcome{reason: ReasonDuplicate, seenIn: "container"}
	case seenBusy:
		return nil, end(ReasonInProgress)
	}
	c := &claim{h: h, key: key}
	if h.d.Idempotency == nil {
		return c, outcome{}
	}
	st, err := h.d.Idempotency.Claim(ctx, key, until)
	switch {
	case err != nil:
		a.log.WarnContext(ctx, "idempotency claim failed", "error", err.Error())
		h.seen.end(key, false)
		return nil, end(ReasonIdempotency)
	case st == idempotency.Completed:
		h.seen.end(key, true) // remember it here too
		return nil, outcome{reason: ReasonDuplicate, seenIn: "table"}
	case st == idempotency.InProgress:
		h.seen.end(key, false)
		return nil, end(ReasonInProgress)
	}
	c.table = true
	return c, outcome{}
}

// settle records whether the message was sent, in the table first, then in
// the container's cache. Its calls run in the bookkeeping margin, so a
// message whose own time ran out still settles.
func (c *claim) settle(ctx context.Context, a *attempt, sent bool) {
	defer c.h.seen.end(c.key, sent)
	if !c.table {
		return
	}
	bctx, cancel := c.h.bookkeeping(ctx)
	defer cancel()
	if sent {
		if err := c.h.d.Idempotency.Complete(bctx, c.key); err != nil {
			a.log.WarnContext(ctx, "idempotency record not completed; a redelivery elsewhere could send again", "error", err.Error())
		}
		return
	}
	if err := c.h.d.Idempotency.Release(bctx, c.key); err != nil {
		a.log.WarnContext(ctx, "idempotency release failed; the claim expires by itself", "error", err.Error())
	}
}
