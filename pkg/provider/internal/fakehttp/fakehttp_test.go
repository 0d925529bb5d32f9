package fakehttp

import (
	"net/http"
	"sync"
	"testing"
)

func TestSchedule(t *testing.T) {
	tests := []struct {
		name  string
		count int
		want  []bool // whether each of the next requests gets the fault
	}{
		{"once", 1, []bool{true, false, false}},
		{"twice", 2, []bool{true, true, false}},
		{"until cleared", 0, []bool{true, true, true, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s Schedule[int]
			s.Set(7, tt.count)
			for i, want := range tt.want {
				f, ok := s.Next()
				if ok != want || (ok && f != 7) {
					t.Errorf("request %d: (%d, %v), want fault %v", i, f, ok, want)
				}
			}
			s.Clear()
			if _, ok := s.Next(); ok {
				t.Error("fault after Clear")
			}
		})
	}
}

func TestStoreConcurrent(t *testing.T) {
	var s Store[int]
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.Add(i)
			_ = s.All()
		}()
	}
	wg.Wait()
	if n := len(s.All()); n != 50 {
		t.Fatalf("%d messages, want 50", n)
	}
	s.Clear()
	if n := len(s.All()); n != 0 {
		t.Fatalf("%d messages after Clear", n)
	}
}

func TestCloseEndsHangingHandlers(t *testing.T) {
	started := make(chan struct{})
	var s *Server
	s = Start(nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		Hang(r, s.Closed())
	}))
	errc := make(chan error, 1)
	go func() {
		resp, err := http.Get(s.URL())
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	<-started
	s.Close() // returns only once the hanging handler has returned
	if err := <-errc; err == nil {
		t.Fatal("the hanging request got an answer")
	}
	if _, err := http.Get(s.URL()); err == nil {
		t.Fatal("the closed server still answers")
	}
}
