package dispatch_test

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/cogmail/cogmail/pkg/dispatch"
	"github.com/cogmail/cogmail/pkg/dispatch/breaker"
	"github.com/cogmail/cogmail/pkg/metrics"
	"github.com/cogmail/cogmail/pkg/provider/sendgrid"
	"github.com/cogmail/cogmail/pkg/provider/sendgrid/sendgridfake"
)

// realTime makes a fixture's handler run on the wall clock, with its
// logs and metrics written (as JSON) to nowhere.
func realTime(d *dispatch.Deps, o *dispatch.Options) {
	o.Now, o.Sleep = nil, nil
	d.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil))
	d.Metrics = metrics.New(io.Discard, "dispatch", nil)
}

// BenchmarkBatchOf10With50msProvider: ten messages against a SendGrid
// (the fake, over HTTP) that takes 50 ms per call. Sent concurrently, a
// batch costs about one send: x-one-send is the batch's wall time over a
// one-message batch's.
func BenchmarkBatchOf10With50msProvider(b *testing.B) { benchBatchOf10(b) }

// BenchmarkBatchOf10With50msProviderGuarded is the same batch with the
// reputation guard on: every message checked against an in-memory
// suppression list of 10,000 addresses and counted by the recipient limit.
func BenchmarkBatchOf10With50msProviderGuarded(b *testing.B) {
	benchBatchOf10(b, guardOn(b, time.Now))
}

func benchBatchOf10(b *testing.B, adjust ...func(*dispatch.Deps, *dispatch.Options)) {
	fake := sendgridfake.New(sendgridfake.Options{})
	defer fake.Close()
	fake.SetFault(sendgridfake.Fault{Latency: 50 * time.Millisecond})
	sg, err := sendgrid.New(sendgrid.Config{APIKey: "SG.bench", BaseURL: fake.URL()})
	if err != nil {
		b.Fatal(err)
	}
	f := newFixture(b, newSender("a")) // routes to "a"; replaced by SendGrid under that name
	h := f.handler(append([]func(*dispatch.Deps, *dispatch.Options){realTime, func(d *dispatch.Deps, _ *dispatch.Options) { d.Senders = []dispatch.Sender{namedSender{sg, "a"}} }}, adjust...)...)
	ctx := context.Background()
	run := func(n int) time.Duration {
		recs := make([]events.SQSMessage, n)
		for i := range recs {
			recs[i], _ = f.message()
		}
		start := time.Now()
		resp, err := h.Handle(ctx, batch(recs...))
		if err != nil || len(resp.BatchItemFailures) != 0 {
			b.Fatalf("Handle: %v, %d failures", err, len(resp.BatchItemFailures))
		}
		return time.Since(start)
	}
	var singles []time.Duration
	for range 5 {
		singles = append(singles, run(1))
	}
	one := slices.Min(singles)
	var total time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for b.Loop() {
		total += run(10)
		n++
	}
	b.ReportMetric(float64(total)/float64(n)/float64(one), "x-one-send")
	b.ReportMetric(float64(one.Microseconds())/1000, "ms-one-send")
}

// namedSender renames a provider, so the fixture's routing ("a", "b") applies.
type namedSender struct {
	dispatch.Sender
	name string
}

func (n namedSender) Name() string { return n.name }

// BenchmarkFailoverOverhead compares a message the primary sends with one
// that goes to the secondary because the primary's breaker is open (the
// fallback WARN and Failover metric included). The difference between the
// two ns/op is the overhead of failing over past an open breaker.
func BenchmarkFailoverOverhead(b *testing.B) {
	for _, bc := range []struct {
		name string
		open bool
	}{{"primary", false}, {"breaker-open", true}} {
		b.Run(bc.name, func(b *testing.B) {
			a, s := newSender("a"), newSender("b")
			f := newFixture(b, a, s)
			h := f.handler(realTime, func(_ *dispatch.Deps, o *dispatch.Options) {
				o.Breaker = breaker.Options{Threshold: 1, Cooldown: time.Hour}
				o.DedupCacheSize = 1 // so the two records below can be sent again and again
			})
			ctx := context.Background()
			if bc.open {
				a.SetFinal(unavailable("a"))
				r, _ := f.message()
				if _, err := h.Handle(ctx, batch(r)); err != nil {
					b.Fatal(err)
				}
				if st, _ := h.Breaker("a"); st != breaker.Open {
					b.Fatalf("a's breaker is %v", st)
				}
			}
			r1, _ := f.message()
			r2, _ := f.message()
			evs := []events.SQSEvent{batch(r1), batch(r2)}
			want := "a"
			if bc.open {
				want = "b"
			}
			calls := map[string]*sender{"a": a, "b": s}[want]
			before := calls.Calls()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := h.Handle(ctx, evs[i%2]); err != nil {
					b.Fatal(err)
				}
				i++
			}
			if calls.Calls()-before != i {
				b.Fatalf("%s sent %d of %d", want, calls.Calls()-before, i)
			}
		})
	}
}
