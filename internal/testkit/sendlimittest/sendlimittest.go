// Package sendlimittest is the suite every sendlimit.Counter passes:
//
//	func TestCounter(t *testing.T) { sendlimittest.Run(t, newCounter) }
package sendlimittest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cogmail/cogmail/pkg/sendlimit"
)

// NewCounter returns an empty counter that reads time from now.
type NewCounter func(t *testing.T, now func() time.Time) sendlimit.Counter

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

// Run runs the suite; each subtest gets a new counter. Concurrent takes are
// checked on every backend: a DynamoDB-backed counter runs against a moto
// that applies one request at a time (motoserver.SharedSerial), as
// DynamoDB applies each conditional update to an item atomically.
func Run(t *testing.T, newCounter NewCounter) {
	ctx := context.Background()
	setup := func(t *testing.T) (sendlimit.Counter, *clock) {
		// On a window boundary, so the steps below stay in one window.
		c := &clock{t: time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)}
		return newCounter(t, c.now), c
	}
	three := sendlimit.Limit{N: 3, Window: time.Hour}
	take := func(t *testing.T, c sendlimit.Counter, addr, id string, l sendlimit.Limit) bool {
		t.Helper()
		ok, err := c.Take(ctx, addr, id, l)
		if err != nil {
			t.Fatalf("Take(%s): %v", id, err)
		}
		return ok
	}

	t.Run("N then refused", func(t *testing.T) {
		c, _ := setup(t)
		for i := range 3 {
			if !take(t, c, "a@example.com", fmt.Sprint("m", i), three) {
				t.Fatalf("message %d refused under the limit", i)
			}
		}
		if take(t, c, "a@example.com", "m3", three) {
			t.Fatal("the 4th message in the window was allowed")
		}
		if !take(t, c, "b@example.com", "m4", three) {
			t.Fatal("another address was refused")
		}
	})

	t.Run("the same message again is not counted twice", func(t *testing.T) {
		c, _ := setup(t)
		for range 5 {
			if !take(t, c, "a@example.com", "m0", three) {
				t.Fatal("a redelivered message was refused")
			}
		}
		for i := 1; i < 3; i++ {
			if !take(t, c, "a@example.com", fmt.Sprint("m", i), three) {
				t.Fatalf("message %d refused", i)
			}
		}
		if !take(t, c, "a@example.com", "m1", three) {
			t.Fatal("a counted message was refused when taken again at the limit")
		}
		if take(t, c, "a@example.com", "m3", three) {
			t.Fatal("a new message over the limit was allowed")
		}
	})

	t.Run("a new window starts again", func(t *testing.T) {
		c, clk := setup(t)
		for i := range 3 {
			take(t, c, "a@example.com", fmt.Sprint("m", i), three)
		}
		clk.advance(59 * time.Minute)
		if take(t, c, "a@example.com", "m3", three) {
			t.Fatal("allowed before the window ended")
		}
		clk.advance(time.Minute)
		if !take(t, c, "a@example.com", "m4", three) {
			t.Fatal("refused in a new window")
		}
	})

	t.Run("off allows everything", func(t *testing.T) {
		c, _ := setup(t)
		for i := range 10 {
			if !take(t, c, "a@example.com", fmt.Sprint("m", i), sendlimit.Limit{}) {
				t.Fatal("refused with the limit off")
			}
		}
	})

	t.Run("a changed limit applies at once", func(t *testing.T) {
		c, _ := setup(t)
		for i := range 3 {
			take(t, c, "a@example.com", fmt.Sprint("m", i), three)
		}
		if !take(t, c, "a@example.com", "m3", sendlimit.Limit{N: 5, Window: time.Hour}) {
			t.Fatal("a raised limit did not allow more")
		}
	})

	t.Run("empty input", func(t *testing.T) {
		c, _ := setup(t)
		if _, err := c.Take(ctx, "", "m", three); err == nil {
			t.Error("empty address accepted")
		}
		if _, err := c.Take(ctx, "a@example.com", "", three); err == nil {
			t.Error("empty id accepted")
		}
	})

	t.Run("concurrent takes allow exactly N", func(t *testing.T) {
		c, _ := setup(t)
		var allowed atomic.Int32
		var wg sync.WaitGroup
		for i := range 12 {
			wg.Go(func() {
				ok, err := c.Take(ctx, "bomb@example.com", fmt.Sprint("m", i), three)
				if err != nil {
					t.Error(err)
				}
				if ok {
					allowed.Add(1)
				}
			})
		}
		wg.Wait()
		if allowed.Load() != 3 {
			t.Fatalf("%d of 12 concurrent messages allowed, want 3", allowed.Load())
		}
	})
}
