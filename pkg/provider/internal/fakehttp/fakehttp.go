// Package fakehttp is the plumbing the HTTP provider fakes share: a loopback
// server whose Close also ends hanging handlers, the connection-level faults
// (reset, hang, latency, garbage), a fault schedule and a message store.
package fakehttp

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// Server serves a handler on a loopback listener.
type Server struct {
	srv    *http.Server
	ln     net.Listener
	url    string
	closed chan struct{}

	mu       sync.Mutex
	stopping bool
	handlers sync.WaitGroup
}

// Start serves h on ln, or on a new listener on 127.0.0.1:0 when ln is nil.
// It panics if it cannot listen, like httptest.NewServer; callers that need
// the error pass their own listener.
func Start(ln net.Listener, h http.Handler) *Server {
	if ln == nil {
		var err error
		ln, err = net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			panic(fmt.Sprintf("fakehttp: listen: %v", err))
		}
	}
	s := &Server{ln: ln, url: "http://" + ln.Addr().String(), closed: make(chan struct{})}
	s.srv = &http.Server{
		Handler:           s.track(h),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() { _ = s.srv.Serve(ln) }()
	return s
}

func (s *Server) track(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		if s.stopping {
			s.mu.Unlock()
			http.Error(w, "server closing", http.StatusServiceUnavailable)
			return
		}
		s.handlers.Add(1)
		s.mu.Unlock()
		defer s.handlers.Done()
		h.ServeHTTP(w, r)
	})
}

// URL is the base URL, "http://127.0.0.1:PORT".
func (s *Server) URL() string { return s.url }

// Closed is closed when Close starts: handlers that wait select on it.
func (s *Server) Closed() <-chan struct{} { return s.closed }

// Close stops the server, ends waiting handlers and waits for them to return.
func (s *Server) Close() {
	s.mu.Lock()
	if s.stopping {
		s.mu.Unlock()
		return
	}
	s.stopping = true
	close(s.closed)
	s.mu.Unlock()
	_ = s.srv.Close()
	// Serve may not have started yet, and then srv.Close does not know the
	// listener: close it here so the port refuses connections at once.
	_ = s.ln.Close()
	s.handlers.Wait()
}

// Reset drops the client's connection with a TCP RST instead of answering.
func Reset(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("fakehttp: ResponseWriter cannot be hijacked")
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// Wait sleeps for d. When the client goes away or the server closes first,
// it aborts the handler (no answer at all, the connection is dropped).
func Wait(r *http.Request, d time.Duration, closed <-chan struct{}) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
		panic(http.ErrAbortHandler)
	case <-closed:
		panic(http.ErrAbortHandler)
	}
}

// Hang never answers: when the client gives up or the server closes, it
// aborts the handler, so the connection drops without a response.
func Hang(r *http.Request, closed <-chan struct{}) {
	select {
	case <-r.Context().Done():
	case <-closed:
	}
	panic(http.ErrAbortHandler)
}

// Garbage answers 200 with an HTML page, as a captive portal or a
// misconfigured proxy would, echoing the start of the request (so a client
// that quotes answers in its errors would leak what it sent).
func Garbage(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 4096))
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = fmt.Fprintf(w, "<html><head><title>Proxy</title></head><body><h1>Request received</h1><pre>%s</pre></body></html>\n", html.EscapeString(string(body)))
}

// Schedule holds the current fault and how many more requests it applies
// to. It is safe for concurrent use.
type Schedule[F any] struct {
	mu     sync.Mutex
	f      F
	left   int // >0: that many more; -1: until cleared
	active bool
}

// Set installs f for the next count requests (count <= 0: until cleared).
func (s *Schedule[F]) Set(f F, count int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.f, s.active = f, true
	s.left = count
	if count <= 0 {
		s.left = -1
	}
}

// Clear removes the fault.
func (s *Schedule[F]) Clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	var zero F
	s.f, s.active, s.left = zero, false, 0
}

// Next returns the fault for this request, if any, and uses one count of it.
func (s *Schedule[F]) Next() (F, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var zero F
	if !s.active {
		return zero, false
	}
	f := s.f
	if s.left > 0 {
		s.left--
		if s.left == 0 {
			s.f, s.active = zero, false
		}
	}
	return f, true
}

// Store keeps captured messages. It is safe for concurrent use.
type Store[M any] struct {
	mu   sync.Mutex
	msgs []M
}

// Add appends m.
func (s *Store[M]) Add(m M) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, m)
}

// All returns a copy of the messages in arrival order.
func (s *Store[M]) All() []M {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]M(nil), s.msgs...)
}

// Clear forgets every message.
func (s *Store[M]) Clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = nil
}

// ID returns n random bytes in hex, for message ids.
func ID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
