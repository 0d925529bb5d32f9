package sendlimit

import (
	"context"
	"slices"
	"sync"
	"time"
)

// Memory is a Counter in one process. It is safe for concurrent use and
// forgets windows that have ended.
type Memory struct {
	mu  sync.Mutex
	now func() time.Time
	m   map[string]*bucket
	// sweepAt is the size at which ended windows are next swept: twice
	// what the last sweep left (at least 4096), so that sweeping stays
	// O(1) per Take however many addresses are in their window.
	sweepAt int
}

type bucket struct {
	start, end time.Time
	ids        []string
}

// NewMemory returns an empty counter; now defaults to time.Now.
func NewMemory(now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	return &Memory{now: now, m: map[string]*bucket{}, sweepAt: 4096}
}

// Take implements Counter.
func (c *Memory) Take(_ context.Context, address, id string, l Limit) (bool, error) {
	if address == "" || id == "" {
		return false, errEmpty
	}
	if l.Off() {
		return true, nil
	}
	now := c.now()
	start := window(now, l)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.sweepAt {
		for k, b := range c.m {
			if !now.Before(b.end) {
				delete(c.m, k)
			}
		}
		c.sweepAt = max(4096, 2*len(c.m))
	}
	b := c.m[address]
	if b == nil || !b.start.Equal(start) || !b.end.Equal(start.Add(l.Window)) {
		b = &bucket{start: start, end: start.Add(l.Window)}
		c.m[address] = b
	}
	if slices.Contains(b.ids, id) {
		return true, nil
	}
	if len(b.ids) >= l.N {
		return false, nil
	}
	b.ids = append(b.ids, id)
	return true, nil
}
