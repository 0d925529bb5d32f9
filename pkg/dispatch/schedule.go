package dispatch

import (
	"fmt"
	"math"
	"time"

	"github.com/cogmail/cogmail/pkg/cognito"
	"github.com/cogmail/cogmail/pkg/envelope"
	"github.com/cogmail/cogmail/pkg/queue"
)

// A message that failed only for temporary reasons is retried by time, not
// by count: until its retry window ends. The window opens when ingest
// accepted the event (the envelope's createdAt) and ends at the first of
//
//   - the code's expiry (expiresAt): then it is dead-lettered as expired;
//   - createdAt + its trigger's RetryWindows entry, or MaxAge: then as
//     max-age.
//
// Within the window, SQS brings the message back after a visibility that
// grows with its receive count: BackoffBase·2^(receives-1) capped at
// BackoffMax, with equal jitter (at least half of it), never past the
// window's end, and never before the earliest moment a breaker of its
// providers lets a probe through (plus a jitter spread over
// RecoverySpread, so that a burst held by open breakers comes back spread
// out). Since every visibility is at least the lower bound of its step,
// Options.Schedule can count the most receives a window allows, which the
// queue's maxReceiveCount must exceed (infra/template.yaml).

// window is when retrying env must stop and the reason it ends with.
func (h *Handler) window(env *envelope.Envelope) (end time.Time, why Reason, detail string) {
	end, why = env.ExpiresAt, envelope.ReasonExpired
	limit, name := h.o.MaxAge, fmt.Sprintf("the %v maximum age", h.o.MaxAge)
	if w, ok := h.o.RetryWindows[env.Trigger]; ok && w > 0 && w < limit {
		limit, name = w, fmt.Sprintf("%s's %v retry window", env.Trigger.Short(), w)
	}
	if at := env.CreatedAt.Add(limit); at.Before(end) {
		end, why, detail = at, envelope.ReasonMaxAge, name
	}
	return end, why, detail
}

// backoff is the visibility after a failed n-th receive: BackoffBase·2^(n-1)
// capped at BackoffMax, with equal jitter (half fixed, half random), in
// whole seconds, at least one.
func (h *Handler) backoff(n int) time.Duration {
	d := h.exp(n - 1)
	half := d / 2
	return seconds(half + time.Duration(h.int64n(int64(d-half)+1)))
}

// floor is the shortest visibility backoff can give after the n-th
// receive: the lower bound Schedule counts with.
func (o Options) floor(n int) time.Duration {
	return seconds(expOf(o.BackoffBase, o.BackoffMax, n-1) / 2)
}

// seconds rounds d up to whole seconds (SQS's unit), at least one.
func seconds(d time.Duration) time.Duration {
	return max(time.Duration(math.Ceil(d.Seconds()))*time.Second, time.Second)
}

// retryIn is how long SQS hides a message retried later after its n-th
// receive: its backoff, no earlier than probeAt plus a spread, and no
// later than its window's end.
func (h *Handler) retryIn(n int, now, probeAt, end time.Time) time.Duration {
	v := h.backoff(n)
	if wait := probeAt.Sub(now); wait > 0 {
		v = max(v, seconds(wait+time.Duration(h.int64n(int64(h.o.RecoverySpread)))))
	}
	if left := end.Sub(now); v > left {
		// Back by the window's end, to be dead-lettered with its reason
		// (a code that expired is useless) rather than to sit hidden.
		v = seconds(left)
	}
	return v
}

// Schedule is how a retry window is used by a message that never gets
// through: at most Receives deliveries by SQS, of which Tries can still
// send (they come before the window's end; the last finds it over and
// dead-letters the message).
type Schedule struct {
	Window   time.Duration
	Tries    int
	Receives int
}

func (s Schedule) String() string {
	return fmt.Sprintf("up to %d tries over %v", s.Tries, s.Window)
}

// Schedule counts the receives a message can have in a window of w, each
// visibility at its step's lower bound (the worst case for the count).
func (o Options) Schedule(w time.Duration) Schedule {
	o = o.WithDefaults()
	s := Schedule{Window: w, Tries: 1}
	for at, n := time.Duration(0), 1; ; n++ {
		at += o.floor(n)
		if at >= w {
			break
		}
		s.Tries++
	}
	s.Receives = s.Tries + 1
	return s
}

// ReceiveReserve is what MaxReceiveCount adds to the longest window's
// receives: each release of held messages on a recovery costs a message one
// receive (and is refused when its budget cannot spare one), and so does an
// invocation that times out or crashes. 115 leaves room for that many
// within a day and rounds the default count to 700.
const ReceiveReserve = 115

// MaxReceiveCount is the queue's maxReceiveCount these options need: the
// receives of the longest retry window (MaxAge) plus ReceiveReserve, at
// most SQS's 1,000. infra/template.yaml and the local stack use it (a test
// reads the template), and Options.MaxReceives should be set to it.
func (o Options) MaxReceiveCount() int {
	return min(o.Schedule(o.WithDefaults().MaxAge).Receives+ReceiveReserve, queue.MaxReceiveCount)
}

// TriggerSchedule is the schedule of trigger t whose codes live codeLife:
// its window is the first of codeLife, its RetryWindows entry and MaxAge.
func (o Options) TriggerSchedule(t cognito.Trigger, codeLife time.Duration) Schedule {
	o = o.WithDefaults()
	w := min(codeLife, o.MaxAge)
	if rw, ok := o.RetryWindows[t]; ok && rw > 0 {
		w = min(w, rw)
	}
	return o.Schedule(w)
}

// exp is BackoffBase·2^n capped at BackoffMax, without overflow.
func (h *Handler) exp(n int) time.Duration { return expOf(h.o.BackoffBase, h.o.BackoffMax, n) }

func expOf(base, limit time.Duration, n int) time.Duration {
	d := base
	for range max(n, 0) {
		if d >= limit/2 {
			return limit
		}
		d *= 2
	}
	return min(d, limit)
}
