package suppression

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Memory is a Store in memory, for the local stack and tests. It is safe
// for concurrent use.
type Memory struct {
	mu  sync.RWMutex
	m   map[string]map[Reason]Entry
	now func() time.Time
}

// NewMemory returns an empty list; now defaults to time.Now.
func NewMemory(now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	return &Memory{m: map[string]map[Reason]Entry{}, now: now}
}

// Add implements Store.
func (s *Memory) Add(_ context.Context, e Entry) error {
	e, err := Check(e)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m[e.Address] == nil {
		s.m[e.Address] = map[Reason]Entry{}
	}
	s.m[e.Address][e.Reason] = e
	return nil
}

// Lookup implements Store.
func (s *Memory) Lookup(_ context.Context, address string) ([]Entry, error) {
	a := Canonical(address)
	if a == "" {
		return nil, errors.New("suppression: not an address")
	}
	now := s.now()
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []Entry
	for _, r := range Reasons {
		if e, ok := s.m[a][r]; ok && e.Live(now) {
			out = append(out, e)
		}
	}
	return out, nil
}

// Remove implements Store.
func (s *Memory) Remove(_ context.Context, address string) (int, error) {
	a := Canonical(address)
	if a == "" {
		return 0, errors.New("suppression: not an address")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.m[a])
	delete(s.m, a)
	return n, nil
}

// List implements Store.
func (s *Memory) List(context.Context) ([]Entry, error) {
	now := s.now()
	s.mu.RLock()
	var out []Entry
	for _, rs := range s.m {
		for _, e := range rs {
			if e.Live(now) {
				out = append(out, e)
			}
		}
	}
	s.mu.RUnlock()
	Sort(out)
	return out, nil
}
