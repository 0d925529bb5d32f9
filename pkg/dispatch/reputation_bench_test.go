package dispatch_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/cogmail/cogmail/pkg/dispatch"
	"github.com/cogmail/cogmail/pkg/sendlimit"
	"github.com/cogmail/cogmail/pkg/suppression"
)

// guardOn turns the reputation guard on with the in-memory stores: a list
// of 10,000 suppressed addresses (none of them the fixture's recipients)
// and a limit high enough that nothing is throttled.
func guardOn(b *testing.B, now func() time.Time) func(*dispatch.Deps, *dispatch.Options) {
	list := suppression.NewMemory(now)
	for i := range 10000 {
		if err := list.Add(context.Background(), suppression.Entry{Address: fmt.Sprintf("s%d@example.org", i), Reason: suppression.Bounce, Provider: "ses", At: now()}); err != nil {
			b.Fatal(err)
		}
	}
	return func(d *dispatch.Deps, o *dispatch.Options) {
		d.Suppressions, d.Recipients = list, sendlimit.NewMemory(now)
		o.Suppression, o.RecipientLimit = suppression.DefaultPolicy(), sendlimit.Limit{N: 1 << 30, Window: time.Hour}
	}
}

// BenchmarkGuardChecks is the guard's work for one message with the
// in-memory stores, as dispatch does it: canonical address, list lookup,
// policy, counter. ns/op is its CPU per message.
func BenchmarkGuardChecks(b *testing.B) {
	now := time.Now
	list := suppression.NewMemory(now)
	ctx := context.Background()
	for i := range 10000 {
		_ = list.Add(ctx, suppression.Entry{Address: fmt.Sprintf("s%d@example.org", i), Reason: suppression.Complaint, Provider: "ses", At: now()})
	}
	counter := sendlimit.NewMemory(now)
	policy := suppression.DefaultPolicy()
	limit := sendlimit.Limit{N: 5, Window: time.Hour}
	addrs := make([]string, 1000)
	for i := range addrs {
		addrs[i] = fmt.Sprintf("User%d@Example.COM", i)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		a := suppression.Canonical(addrs[i%len(addrs)])
		es, err := list.Lookup(ctx, a)
		if err != nil {
			b.Fatal(err)
		}
		if _, blocked := policy.Blocking(es, "CustomEmailSender_ForgotPassword"); blocked {
			b.Fatal("blocked")
		}
		if _, err := counter.Take(ctx, a, fmt.Sprint("m", i), limit); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkGuardOverhead handles the same one-message batches with and
// without the guard (fake provider, no I/O); the difference in ns/op is
// what the guard adds to a message inside dispatch.
func BenchmarkGuardOverhead(b *testing.B) {
	for _, on := range []bool{false, true} {
		b.Run(map[bool]string{false: "off", true: "on"}[on], func(b *testing.B) {
			a := newSender("a")
			f := newFixture(b, a)
			adjust := []func(*dispatch.Deps, *dispatch.Options){realTime, func(_ *dispatch.Deps, o *dispatch.Options) { o.DedupCacheSize = 1 }}
			if on {
				adjust = append(adjust, guardOn(b, time.Now))
			}
			h := f.handler(adjust...)
			r1, _ := f.message()
			r2, _ := f.message()
			ctx := context.Background()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := h.Handle(ctx, batch([]events.SQSMessage{r1, r2}[i%2])); err != nil {
					b.Fatal(err)
				}
				i++
			}
			if a.Calls() < i {
				b.Fatalf("sent %d of %d", a.Calls(), i)
			}
		})
	}
}
