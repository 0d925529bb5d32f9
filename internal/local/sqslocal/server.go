// Package sqslocal is a small in-memory Amazon SQS endpoint that speaks the
// AWS JSON 1.0 protocol of the current SDK. The local stack and the tests
// point the real SQS client at it; it keeps standard queues only.
//
// It implements the queue, message, redrive (RedrivePolicy, dead-letter
// queues, StartMessageMoveTask and friends) and tag operations, and is
// checked against moto_server by a shared conformance suite. Where they
// differ it follows SQS: a delete with an outdated receipt handle succeeds
// without deleting; a second PurgeQueue within 60 s is PurgeQueueInProgress;
// messages and batches take up to 1 MiB; a message stays in flight at most
// 12 hours from its receive. What it deliberately does differently from SQS
// is listed, for users, in docs/operations.md ("The local SQS endpoint").
package sqslocal

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Defaults used when Options leaves a field empty.
const (
	DefaultAccountID = "000000000000"
	DefaultRegion    = "us-east-1"
)

const (
	targetPrefix = "AmazonSQS."
	contentType  = "application/x-amz-json-1.0"
	// maxRequestBytes bounds the request body: a 1 MiB batch can grow a
	// few times over when JSON escapes its characters (Go's encoder writes
	// "<" as six bytes) or base64 its binaries.
	maxRequestBytes = 8 << 20
)

// Options configures a Server. The zero value is usable.
type Options struct {
	// AccountID appears in queue URLs and ARNs (default DefaultAccountID).
	AccountID string
	// Region appears in queue ARNs (default DefaultRegion).
	Region string
	// Now is the clock for visibility, delays, retention and timestamps
	// (default time.Now). Long polls and move-task pacing wait in real time.
	Now func() time.Time
}

// Server is an in-memory SQS endpoint. It implements http.Handler and
// dispatches on the X-Amz-Target header only, so it can share a listener
// with other emulators. Queue URLs are built from each request's Host.
type Server struct {
	account string
	region  string
	now     func() time.Time

	mu     sync.Mutex
	queues map[string]*queue // by name
	tasks  []*moveTask       // newest last

	done      chan struct{} // closed by Close: ends long polls and move tasks
	closeOnce sync.Once
	workers   sync.WaitGroup

	httpMu  sync.Mutex
	servers []*http.Server
}

// New returns an empty Server.
func New(opts Options) *Server {
	s := &Server{
		account: opts.AccountID,
		region:  opts.Region,
		now:     opts.Now,
		queues:  make(map[string]*queue),
		done:    make(chan struct{}),
	}
	if s.account == "" {
		s.account = DefaultAccountID
	}
	if s.region == "" {
		s.region = DefaultRegion
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

// Listen serves s over HTTP on addr (for example "127.0.0.1:0") until Close
// and returns the base URL to use as the SQS client's BaseEndpoint.
func (s *Server) Listen(addr string) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("sqslocal: listen %s: %w", addr, err)
	}
	hs := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	s.httpMu.Lock()
	s.servers = append(s.servers, hs)
	s.httpMu.Unlock()
	go func() { _ = hs.Serve(ln) }()
	return "http://" + ln.Addr().String(), nil
}

// Close ends pending long polls and move tasks and stops every listener
// started by Listen. The queues stay readable through Stats.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		// Under mu, so a move task either starts its worker before this
		// (and Wait below waits for it) or sees done closed and starts none.
		s.mu.Lock()
		close(s.done)
		s.mu.Unlock()
	})
	s.httpMu.Lock()
	servers := s.servers
	s.servers = nil
	s.httpMu.Unlock()
	var errs []error
	for _, hs := range servers {
		errs = append(errs, hs.Close())
	}
	s.workers.Wait()
	return errors.Join(errs...)
}

// QueueStats is a snapshot of one queue, for status pages.
type QueueStats struct {
	Name     string
	ARN      string
	Visible  int // ready to be received
	InFlight int // received and not yet visible again
	Delayed  int // sent with a delay that has not passed
	// DeadLetterQueue names the queue this one redrives to ("" if none).
	DeadLetterQueue string
	// DeadLetterSources names the queues that redrive into this one.
	DeadLetterSources []string
}

// Stats returns a snapshot of every queue, sorted by name.
func (s *Server) Stats() []QueueStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	out := make([]QueueStats, 0, len(s.queues))
	for _, q := range s.queues {
		c := q.counts(now)
		st := QueueStats{Name: q.name, ARN: q.arn, Visible: c.visible, InFlight: c.inFlight, Delayed: c.delayed}
		if q.redrive != nil {
			if dlq := s.queueByARN(q.redrive.DeadLetterTargetArn); dlq != nil {
				st.DeadLetterQueue = dlq.name
			}
		}
		for _, src := range s.sourcesOf(q) {
			st.DeadLetterSources = append(st.DeadLetterSources, src.name)
		}
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b QueueStats) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Breakdown is what a queue holds, by one string message attribute: a
// status page's view that SQS itself does not give (it cannot show a
// message in flight), for local stacks and tests.
type Breakdown struct {
	Name string
	// Oldest is when the longest-held message was sent (zero when empty).
	Oldest time.Time
	// Visible and InFlight count the messages by the attribute's value
	// ("" for messages without it); delayed messages count as in flight.
	Visible, InFlight map[string]int
}

// BreakdownBy reports queue name's messages by the string attribute attr;
// ok is false for an unknown queue.
func (s *Server) BreakdownBy(name, attr string) (b Breakdown, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queues[name]
	if q == nil {
		return Breakdown{}, false
	}
	now := s.now()
	q.sweep(now)
	b = Breakdown{Name: name, Visible: map[string]int{}, InFlight: map[string]int{}}
	for _, m := range q.msgs {
		if b.Oldest.IsZero() || m.sent.Before(b.Oldest) {
			b.Oldest = m.sent
		}
		v := ""
		if a, ok := m.attrs[attr]; ok && a.StringValue != nil {
			v = *a.StringValue
		}
		if now.Before(m.visibleAt) {
			b.InFlight[v]++
		} else {
			b.Visible[v]++
		}
	}
	return b, true
}

// call carries what a handler needs from the HTTP request.
type call struct {
	ctx  context.Context
	base string // scheme://host, the prefix of queue URLs
}

type handler func(s *Server, c *call, body []byte) (any, error)

// decode adapts a typed operation to a handler. An empty body is "{}".
func decode[In any](fn func(*Server, *call, *In) (any, error)) handler {
	return func(s *Server, c *call, body []byte) (any, error) {
		var in In
		if len(bytes.TrimSpace(body)) > 0 {
			if err := json.Unmarshal(body, &in); err != nil {
				return nil, errSerialization(err)
			}
		}
		return fn(s, c, &in)
	}
}

var operations = map[string]handler{
	"CreateQueue":                  decode((*Server).createQueue),
	"GetQueueUrl":                  decode((*Server).getQueueURL),
	"ListQueues":                   decode((*Server).listQueues),
	"DeleteQueue":                  decode((*Server).deleteQueue),
	"GetQueueAttributes":           decode((*Server).getQueueAttributes),
	"SetQueueAttributes":           decode((*Server).setQueueAttributes),
	"PurgeQueue":                   decode((*Server).purgeQueue),
	"ListDeadLetterSourceQueues":   decode((*Server).listDeadLetterSourceQueues),
	"TagQueue":                     decode((*Server).tagQueue),
	"UntagQueue":                   decode((*Server).untagQueue),
	"ListQueueTags":                decode((*Server).listQueueTags),
	"SendMessage":                  decode((*Server).sendMessage),
	"SendMessageBatch":             decode((*Server).sendMessageBatch),
	"ReceiveMessage":               decode((*Server).receiveMessage),
	"DeleteMessage":                decode((*Server).deleteMessage),
	"DeleteMessageBatch":           decode((*Server).deleteMessageBatch),
	"ChangeMessageVisibility":      decode((*Server).changeMessageVisibility),
	"ChangeMessageVisibilityBatch": decode((*Server).changeMessageVisibilityBatch),
	"StartMessageMoveTask":         decode((*Server).startMessageMoveTask),
	"ListMessageMoveTasks":         decode((*Server).listMessageMoveTasks),
	"CancelMessageMoveTask":        decode((*Server).cancelMessageMoveTask),
}

// ServeHTTP answers one SQS JSON 1.0 request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		e := errUnsupported("sqslocal: SQS requests are POSTs, got %s", r.Method)
		e.status = http.StatusMethodNotAllowed
		writeError(w, e)
		return
	}
	target := r.Header.Get("X-Amz-Target")
	if target == "" {
		writeError(w, errUnsupported("sqslocal: missing X-Amz-Target header; this endpoint speaks only the AWS JSON 1.0 protocol (%s), not the query protocol", contentType))
		return
	}
	op, ok := strings.CutPrefix(target, targetPrefix)
	h := operations[op]
	if !ok || h == nil {
		writeError(w, errUnsupported("sqslocal: unsupported operation %q", target))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBytes))
	if err != nil {
		writeError(w, errInvalidParameter("sqslocal: read request body: %v", err))
		return
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	host := r.Host
	if host == "" {
		host = "localhost"
	}
	out, err := h(s, &call{ctx: r.Context(), base: scheme + "://" + host}, body)
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) {
			ae = &apiError{shape: "InternalError", query: "InternalError", message: err.Error(), status: http.StatusInternalServerError}
		}
		writeError(w, ae)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func writeError(w http.ResponseWriter, e *apiError) {
	fault := "Sender"
	if e.status >= 500 {
		fault = "Receiver"
	}
	w.Header().Set("x-amzn-query-error", e.query+";"+fault)
	writeJSON(w, e.status, map[string]string{
		"__type":  "com.amazonaws.sqs#" + e.shape,
		"message": e.message,
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	if v == nil {
		v = struct{}{}
	}
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"__type":"com.amazonaws.sqs#InternalError","message":"sqslocal: encode response"}`)
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("x-amzn-RequestId", newID())
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// newID returns a random UUID (version 4), the shape of SQS message ids.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}
