// Package lambdaruntime is a minimal Lambda Runtime API (the 2018-06-01
// interface a provided.al2023 `bootstrap` polls), so tests and benchmarks can
// run the real function binaries as Lambda would: one invocation at a time,
// with a request id, a deadline and the function error reported back.
package lambdaruntime

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Result is what the function answered to one invocation.
type Result struct {
	RequestID string
	Payload   json.RawMessage // the response, or the error document
	Err       *FunctionError  // set when the function reported an error
	Delivered time.Time       // when the function took the event (its GET .../invocation/next was answered)
	Received  time.Time       // when the answer arrived
}

// FunctionError is the error document a runtime posts.
type FunctionError struct {
	Message string `json:"errorMessage"`
	Type    string `json:"errorType"`
}

func (e *FunctionError) Error() string { return e.Type + ": " + e.Message }

type invocation struct {
	id       string
	event    []byte
	deadline time.Time
	done     chan Result

	delivered time.Time // under Server.mu
}

// Server serves the Runtime API on 127.0.0.1.
type Server struct {
	FunctionARN string
	Timeout     time.Duration // per invocation deadline given to the function (default 30s)

	srv     *http.Server
	ln      net.Listener
	pending chan *invocation

	mu       sync.Mutex
	inflight map[string]*invocation
	initErr  chan FunctionError
	seq      int
}

// Start listens on a free loopback port.
func Start() (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{
		FunctionARN: "arn:aws:lambda:us-east-1:111122223333:function:cogmail-local",
		Timeout:     30 * time.Second,
		ln:          ln,
		pending:     make(chan *invocation),
		inflight:    map[string]*invocation{},
		initErr:     make(chan FunctionError, 1),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", s.next)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", s.respond(false))
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", s.respond(true))
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", s.initError)
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// Addr is the host:port to put in AWS_LAMBDA_RUNTIME_API.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops the server.
func (s *Server) Close() error { return s.srv.Close() }

// Invoke hands event to the function and waits for its answer. It returns an
// error if the function failed to initialise or ctx ends first.
func (s *Server) Invoke(ctx context.Context, event []byte) (Result, error) {
	s.mu.Lock()
	s.seq++
	inv := &invocation{
		id:       fmt.Sprintf("00000000-0000-4000-8000-%012d", s.seq),
		event:    event,
		deadline: time.Now().Add(s.Timeout),
		done:     make(chan Result, 1),
	}
	s.mu.Unlock()
	select {
	case s.pending <- inv:
	case fe := <-s.initErr:
		return Result{}, fmt.Errorf("function init failed: %w", &fe)
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
	select {
	case r := <-inv.done:
		return r, nil
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
}

func (s *Server) next(w http.ResponseWriter, r *http.Request) {
	select {
	case inv := <-s.pending:
		s.mu.Lock()
		inv.delivered = time.Now()
		s.inflight[inv.id] = inv
		s.mu.Unlock()
		h := w.Header()
		h.Set("Lambda-Runtime-Aws-Request-Id", inv.id)
		h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(inv.deadline.UnixMilli(), 10))
		h.Set("Lambda-Runtime-Invoked-Function-Arn", s.FunctionARN)
		h.Set("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000;Sampled=0")
		h.Set("Content-Type", "application/json")
		_, _ = w.Write(inv.event)
	case <-r.Context().Done():
	}
}

func (s *Server) respond(isErr bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		body, _ := io.ReadAll(io.LimitReader(r.Body, 6<<20))
		s.mu.Lock()
		inv, ok := s.inflight[id]
		delete(s.inflight, id)
		var delivered time.Time
		if ok {
			delivered = inv.delivered
		}
		s.mu.Unlock()
		if !ok {
			http.Error(w, `{"errorMessage":"unknown request id","errorType":"InvalidRequestID"}`, http.StatusBadRequest)
			return
		}
		res := Result{RequestID: id, Payload: body, Delivered: delivered, Received: time.Now()}
		if isErr {
			fe := &FunctionError{}
			if json.Unmarshal(body, fe) != nil || fe.Type == "" {
				fe.Type = strings.TrimSpace(r.Header.Get("Lambda-Runtime-Function-Error-Type"))
				fe.Message = string(body)
			}
			res.Err = fe
		}
		inv.done <- res
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte(`{"status":"OK"}`))
	}
}

func (s *Server) initError(w http.ResponseWriter, r *http.Request) {
	var fe FunctionError
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if json.Unmarshal(body, &fe) != nil {
		fe = FunctionError{Type: "Runtime.InitError", Message: string(body)}
	}
	select {
	case s.initErr <- fe:
	default:
	}
	w.WriteHeader(http.StatusAccepted)
}
