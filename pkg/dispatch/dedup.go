package dispatch

import (
	"container/list"
	"sync"
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
