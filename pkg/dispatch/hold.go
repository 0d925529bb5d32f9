package dispatch

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// A container learns that a provider is back when a breaker's half-open
// probe succeeds and the breaker closes. The messages it hid for a later
// try are then hidden for their backoff, up to BackoffMax (5 min): waiting
// that out would deliver them minutes late. So the container remembers
// each message it hides (its receipt handle stays valid while the message
// is hidden) and, at the end of the batch in which a breaker closed, makes
// them visible again, spread evenly over RecoverySpread (or less for a few:
// releasePace), soonest window's end first, so that the recovering provider
// gets them at a steady rate rather than at once. Another container's held messages come back at
// their own visibility or when that container's own probe succeeds.

// maxHeld bounds the messages one container remembers; beyond it the
// oldest are forgotten (they come back at their own visibility).
const maxHeld = 10000

// BatchVisibility changes the visibility of up to 10 messages in one call
// (*sqs.Client). When Deps.Visibility has it, releasing held messages uses
// it; otherwise it changes them one by one.
type BatchVisibility interface {
	ChangeMessageVisibilityBatch(ctx context.Context, in *sqs.ChangeMessageVisibilityBatchInput, optFns ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityBatchOutput, error)
}

// heldMessage is one message this container hid for a later try.
type heldMessage struct {
	url, handle string
	until       time.Time // when SQS shows it again
	end         time.Time // its retry window's end
	receives    int
}

type holds struct {
	mu sync.Mutex
	m  map[string]heldMessage // by SQS message id
}

func (hs *holds) add(id string, m heldMessage) {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if hs.m == nil {
		hs.m = map[string]heldMessage{}
	}
	if len(hs.m) >= maxHeld {
		oldest := ""
		for k, v := range hs.m {
			if oldest == "" || v.until.Before(hs.m[oldest].until) {
				oldest = k
			}
		}
		delete(hs.m, oldest)
	}
	hs.m[id] = m
}

// drop forgets a message received again: its old handle is void.
func (hs *holds) drop(id string) {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	delete(hs.m, id)
}

// take removes and returns the held messages worth releasing at now:
// hidden beyond the spread, and whose receive budget affords one more
// receive; soonest end first.
func (hs *holds) take(now time.Time, spread time.Duration, affords func(heldMessage, time.Time) bool) []heldMessage {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	var out []heldMessage
	for _, id := range slices.Sorted(maps.Keys(hs.m)) {
		m := hs.m[id]
		switch {
		case !m.until.After(now):
			delete(hs.m, id) // visible already
		case m.until.After(now.Add(spread)) && affords(m, now):
			out = append(out, m)
			delete(hs.m, id)
		}
	}
	slices.SortStableFunc(out, func(a, b heldMessage) int { return a.end.Compare(b.end) })
	return out
}

// affords reports whether releasing m early leaves it enough receives for
// the rest of its window: MaxReceives must cover this extra receive and
// the schedule of what remains.
func (h *Handler) affords(m heldMessage, now time.Time) bool {
	if h.o.MaxReceives <= 0 {
		return true
	}
	return m.receives+1+h.o.Schedule(m.end.Sub(now)).Receives <= h.o.MaxReceives
}

// releasePace is the least time between two released messages: a few held
// messages go out at once (20 in 2 s), a burst is spread over the whole
// RecoverySpread (1,000 over 30 s).
const releasePace = 100 * time.Millisecond

// spreadOver is the visibility of the i-th of n released messages: one
// slot of min(RecoverySpread, n·releasePace)/n each, at a random point in
// its slot, in whole seconds.
func (h *Handler) spreadOver(i, n int) int32 {
	slot := min(h.o.RecoverySpread, time.Duration(n)*releasePace) / time.Duration(n)
	at := time.Duration(i)*slot + time.Duration(h.int64n(int64(slot)))
	return int32(at / time.Second)
}

// release makes the held messages visible again, spread out (see above),
// within the bookkeeping time; what it cannot release in time stays
// hidden until its own visibility ends.
func (h *Handler) release(ctx context.Context) {
	now := h.o.Now()
	msgs := h.held.take(now, h.o.RecoverySpread, h.affords)
	if len(msgs) == 0 {
		return
	}
	bctx, cancel := h.bookkeeping(ctx)
	defer cancel()
	released := 0
	batcher, batched := h.d.Visibility.(BatchVisibility)
	for start := 0; start < len(msgs); {
		url := msgs[start].url
		stop := start + 1
		for stop < len(msgs) && stop-start < 10 && msgs[stop].url == url && batched {
			stop++
		}
		var err error
		if batched {
			in := &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(url)}
			for i := start; i < stop; i++ {
				in.Entries = append(in.Entries, sqstypes.ChangeMessageVisibilityBatchRequestEntry{
					Id: aws.String(strconv.Itoa(i)), ReceiptHandle: aws.String(msgs[i].handle), VisibilityTimeout: h.spreadOver(i, len(msgs))})
			}
			var out *sqs.ChangeMessageVisibilityBatchOutput
			if out, err = batcher.ChangeMessageVisibilityBatch(bctx, in); err == nil {
				released += len(out.Successful)
			}
		} else {
			_, err = h.d.Visibility.ChangeMessageVisibility(bctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url),
				ReceiptHandle: aws.String(msgs[start].handle), VisibilityTimeout: h.spreadOver(start, len(msgs))})
			if err == nil {
				released++
			} else if bctx.Err() == nil {
				// One stale handle (the message was received elsewhere
				// since) does not stop the others.
				err = nil
			}
		}
		if err != nil {
			// The rest come back at their own visibility.
			h.d.Logger.WarnContext(ctx, "held messages not released", "error", err.Error())
			break
		}
		start = stop
	}
	h.d.Logger.InfoContext(ctx, "provider back: held messages released", "released", released, "held", len(msgs),
		"spreadSeconds", int(h.o.RecoverySpread/time.Second))
	h.d.Metrics.Count("Released", released, nil)
}
