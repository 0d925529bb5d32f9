package smsguard_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cogmail/cogmail/pkg/sendlimit"
	"github.com/cogmail/cogmail/pkg/smsguard"
)

// BenchmarkCheck is the guard's cost per message in memory, every rule on
// (parse and region, number limit, prefix velocity, country cap and
// budget), each message to a new number so that no rule refuses early.
// The goal is ≤ 50 µs of CPU per message (docs/benchmarks.md).
func BenchmarkCheck(b *testing.B) {
	at := time.Date(2026, 12, 8, 12, 0, 0, 0, time.UTC)
	g, err := smsguard.New(smsguard.Options{
		Countries: []string{"GB", "US", "DE", "FR", "ES", "PT"}, CountryCap: 1 << 30, DailySegments: 1 << 30,
		PrefixVelocity: sendlimit.Limit{N: 1 << 30, Window: time.Hour},
	}, smsguard.Deps{
		Counter: sendlimit.NewMemory(func() time.Time { return at }),
		Ledger:  smsguard.NewMemoryLedger(),
		Now:     func() time.Time { return at },
	})
	if err != nil {
		b.Fatal(err)
	}
	msgs := make([]smsguard.Message, 4096)
	for i := range msgs {
		// 4,096 numbers over 41 blocks: a block's set stays near 100 numbers.
		msgs[i] = smsguard.Message{ID: fmt.Sprint("m", i), Number: fmt.Sprintf("+1415555%04d", i%10000), Segments: 1}
		if i%2 == 1 {
			msgs[i].Number = fmt.Sprintf("+4474%02d12%04d", i%41, i)
		}
	}
	ids := make([]string, 1<<16)
	for i := range ids {
		ids[i] = fmt.Sprint("m", i)
	}
	ctx := context.Background()
	b.ReportAllocs()
	cpu0 := cpuTime()
	n := 0
	for b.Loop() {
		m := msgs[n%len(msgs)]
		m.ID = ids[n%len(ids)] // a new message each time, up to 65,536
		v, err := g.Check(ctx, m)
		if err != nil || !v.Allowed() {
			b.Fatalf("%+v, %v", v, err)
		}
		n++
	}
	// The process's CPU time (user and system, GC included) per message:
	// unlike ns/op, it does not grow when other builds share the machine.
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(n)/1000, "cpu-µs/op")
}
