package sendlimit

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// TestMemoryForgets: ended windows are swept once the map has grown, and
// the sweep is not repeated on every Take while the live keys stay (it
// was, past 4,096 keys: O(keys) per Take).
func TestMemoryForgets(t *testing.T) {
	now := time.Date(2026, 12, 8, 12, 0, 0, 0, time.UTC)
	c := NewMemory(func() time.Time { return now })
	l := Limit{N: 1, Window: time.Hour}
	ctx := context.Background()
	take := func(prefix string, n int) {
		for i := range n {
			if _, err := c.Take(ctx, fmt.Sprint(prefix, i), "m", l); err != nil {
				t.Fatal(err)
			}
		}
	}
	take("old", 4000)
	now = now.Add(time.Hour) // every window so far has ended
	take("new", 5000)
	if len(c.m) != 5000 {
		t.Fatalf("%d keys, want the 5,000 live ones (the 4,000 ended windows swept)", len(c.m))
	}
	// The sweep at 4,096 keys found nothing to drop: the next is at twice that.
	if c.sweepAt != 8192 {
		t.Fatalf("next sweep at %d keys with %d live: it would sweep on every Take", c.sweepAt, len(c.m))
	}
}
