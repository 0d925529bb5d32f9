// Package breaker is the circuit breaker dispatch keeps per provider: after
// Threshold consecutive failures it opens and the provider is skipped; after
// Cooldown one probe is let through (half-open); the probe's success closes
// it, its failure opens it again. State lives as long as the warm container.
package breaker

import (
	"context"
	"sync"
	"time"
)

// State is a breaker's state.
type State int

// The states.
const (
	Closed   State = iota // calls pass
	Open                  // calls are refused until the cooldown ends
	HalfOpen              // one probe is in flight; other calls are refused
)

func (s State) String() string {
	switch s {
	case Closed:
		return "closed"
	case Open:
		return "open"
	case HalfOpen:
		return "half-open"
	}
	return "unknown"
}

// Defaults for Options.
const (
	DefaultThreshold = 5
	DefaultCooldown  = 30 * time.Second
)

// Options configures a Breaker. Zero values mean the defaults.
type Options struct {
	Threshold int              // consecutive failures that open the breaker
	Cooldown  time.Duration    // how long it stays open before a probe
	Now       func() time.Time // default time.Now
	// OnChange, if set, is called (outside the lock) after every transition,
	// with the context of the call that caused it (its request's, for logs).
	OnChange func(ctx context.Context, from, to State)
}

// Breaker is safe for concurrent use. Every Allow that returns true must be
// followed by exactly one of Success, Failure or Abandon.
type Breaker struct {
	o Options

	mu       sync.Mutex
	state    State
	failures int       // consecutive, while closed
	openedAt time.Time // when it last opened
	probing  bool      // a half-open probe is in flight
}

// New returns a closed Breaker.
func New(o Options) *Breaker {
	if o.Threshold <= 0 {
		o.Threshold = DefaultThreshold
	}
	if o.Cooldown <= 0 {
		o.Cooldown = DefaultCooldown
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Breaker{o: o}
}

// Allow reports whether a call may go ahead. An open breaker whose cooldown
// has passed turns half-open and allows exactly one call, the probe.
func (b *Breaker) Allow(ctx context.Context) bool {
	b.mu.Lock()
	from := b.state
	allowed := false
	switch b.state {
	case Closed:
		allowed = true
	case Open:
		if b.o.Now().Sub(b.openedAt) >= b.o.Cooldown {
			b.state, b.probing, allowed = HalfOpen, true, true
		}
	case HalfOpen:
		if !b.probing {
			b.probing, allowed = true, true
		}
	}
	to := b.state
	b.mu.Unlock()
	b.changed(ctx, from, to)
	return allowed
}

// Success records a call the provider answered properly (including a
// permanent rejection of the message): it closes the breaker.
func (b *Breaker) Success(ctx context.Context) {
	b.mu.Lock()
	from := b.state
	b.state, b.failures, b.probing = Closed, 0, false
	b.mu.Unlock()
	b.changed(ctx, from, Closed)
}

// Failure records an unavailable or rate-limited provider.
func (b *Breaker) Failure(ctx context.Context) {
	b.mu.Lock()
	from := b.state
	switch b.state {
	case Closed:
		b.failures++
		if b.failures >= b.o.Threshold {
			b.state, b.openedAt = Open, b.o.Now()
		}
	case HalfOpen:
		b.state, b.openedAt, b.probing = Open, b.o.Now(), false
	case Open:
		// a call allowed before the breaker opened has failed too
	}
	to := b.state
	b.mu.Unlock()
	b.changed(ctx, from, to)
}

// Abandon records a call that ended without a verdict (our own deadline cut
// it short): the state is unchanged and a half-open breaker may probe again.
func (b *Breaker) Abandon() {
	b.mu.Lock()
	if b.state == HalfOpen {
		b.probing = false
	}
	b.mu.Unlock()
}

// ProbeAt is the earliest moment the breaker lets a call through: the end
// of the cooldown while it is open, now otherwise (a half-open breaker
// whose probe is in flight included: its verdict is due any moment).
func (b *Breaker) ProbeAt() time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.o.Now()
	if at := b.openedAt.Add(b.o.Cooldown); b.state == Open && at.After(now) {
		return at
	}
	return now
}

// State returns the current state. An open breaker whose cooldown has passed
// still reads Open until the next Allow.
func (b *Breaker) State() State {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state
}

func (b *Breaker) changed(ctx context.Context, from, to State) {
	if from != to && b.o.OnChange != nil {
		b.o.OnChange(ctx, from, to)
	}
}
