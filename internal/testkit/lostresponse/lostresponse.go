// Package lostresponse forces, on every attempt of every AWS call, the
// interleaving in which smithy-go and Go's net/http lose a response
// (docs/upstream/smithy-go-writeto-eof.md), so that a test can show that the
// workaround in pkg/awsclient holds without waiting for the race to happen.
package lostresponse

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/cogmail/cogmail/pkg/awsclient"
)

// Apply returns cfg with every client built from it forced into the
// interleaving described below, through the HTTP client the project uses
// (awsclient.Wrap). Without the workaround, each attempt of a call loses its
// response and is retried; with it, each call is sent once.
func Apply(cfg aws.Config) aws.Config {
	iv := newInterleaver()
	cfg.HTTPClient = awsclient.Wrap(&http.Client{Transport: iv.transport()})
	cfg.APIOptions = append(append([]func(*middleware.Stack) error(nil), cfg.APIOptions...), iv.middleware)
	return cfg
}

// The interleaving that loses a response depends on timing: the SDK gets its
// response and closes the request body before the transport's writer has
// taken its last look at that body. At loopback speed it happens now and
// then; this harness makes it happen on every attempt, without sleeping,
// by holding each side at the right point until the other has arrived:
//
//  1. the connection lets the request body through, then holds the writer
//     until the SDK has its response and has closed its body (sdkDone, set
//     by a deserialize middleware placed next to the HTTP handler);
//  2. the connection holds the reader of the rest of the response until the
//     transport's writer has finished with the body (settled, seen as the
//     transport closing a body it read without error) or the transport has
//     closed the connection, whichever comes.
//
// With the bug, step 2 ends with the connection closed under the response;
// with the workaround, the writer finishes cleanly and the response is read
// in full.

// attempt is one HTTP attempt of one SDK call.
type attempt struct {
	sdkOnce, settleOnce sync.Once
	sdkDone             chan struct{}
	settled             chan struct{}
}

func (a *attempt) markSDKDone() { a.sdkOnce.Do(func() { close(a.sdkDone) }) }
func (a *attempt) markSettled() { a.settleOnce.Do(func() { close(a.settled) }) }

// interleaver forces the interleaving for every attempt it sees.
type interleaver struct {
	mu       sync.Mutex
	attempts map[string]*attempt
}

func newInterleaver() *interleaver { return &interleaver{attempts: map[string]*attempt{}} }

// attemptKey names an attempt by the SDK's invocation id and attempt number.
func attemptKey(h interface{ Get(string) string }) string {
	return h.Get("Amz-Sdk-Invocation-Id") + " " + h.Get("Amz-Sdk-Request")
}

func (iv *interleaver) attempt(key string) *attempt {
	iv.mu.Lock()
	defer iv.mu.Unlock()
	a, ok := iv.attempts[key]
	if !ok {
		a = &attempt{sdkDone: make(chan struct{}), settled: make(chan struct{})}
		iv.attempts[key] = a
	}
	return a
}

// middleware marks sdkDone when the HTTP handler returns: the SDK's HTTP
// client has its response and smithy has closed the request body.
func (iv *interleaver) middleware(st *middleware.Stack) error {
	return st.Deserialize.Add(middleware.DeserializeMiddlewareFunc("forceInterleaving",
		func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
			out, md, err := next.HandleDeserialize(ctx, in)
			if req, ok := in.Request.(*smithyhttp.Request); ok {
				iv.attempt(attemptKey(req.Header)).markSDKDone()
			}
			return out, md, err
		}), middleware.After)
}

// transport is an http.Transport dialling gated connections, behind a
// RoundTripper that watches how the transport finishes with each body.
func (iv *interleaver) transport() http.RoundTripper {
	d := &net.Dialer{}
	return watchBodies{iv: iv, next: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &gatedConn{Conn: c, iv: iv, closed: make(chan struct{})}, nil
		},
	}}
}

type watchBodies struct {
	iv   *interleaver
	next http.RoundTripper
}

func (w watchBodies) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return w.next.RoundTrip(r)
	}
	a := w.iv.attempt(attemptKey(r.Header))
	out := r.WithContext(r.Context())
	wb := &watchedBody{body: r.Body, a: a}
	// Keep the body's WriteTo visible exactly when it has one, so the
	// transport reads it as it would without this watcher.
	if _, ok := r.Body.(io.WriterTo); ok {
		out.Body = watchedWriterTo{wb}
	} else {
		out.Body = wb
	}
	return w.next.RoundTrip(out)
}

// watchedBody records whether reading the body failed, and marks the
// attempt settled when the transport closes a body it read cleanly.
type watchedBody struct {
	body   io.ReadCloser
	a      *attempt
	mu     sync.Mutex
	failed bool
}

func (b *watchedBody) fail(err error) {
	b.mu.Lock()
	b.failed = true
	b.mu.Unlock()
}

func (b *watchedBody) Read(p []byte) (int, error) {
	n, err := b.body.Read(p)
	if err != nil && err != io.EOF {
		b.fail(err)
	}
	return n, err
}

func (b *watchedBody) Close() error {
	b.mu.Lock()
	failed := b.failed
	b.mu.Unlock()
	if !failed {
		b.a.markSettled()
	}
	return b.body.Close()
}

type watchedWriterTo struct{ *watchedBody }

func (b watchedWriterTo) WriteTo(w io.Writer) (int64, error) {
	n, err := b.body.(io.WriterTo).WriteTo(w)
	if err != nil { // for WriteTo, io.EOF is an error too
		b.fail(err)
	}
	return n, err
}

// gatedConn holds the request writer and the response reader as described
// at the top of this file. One attempt at a time uses an HTTP/1.1
// connection; the request head names it.
type gatedConn struct {
	net.Conn
	iv        *interleaver
	mu        sync.Mutex
	cur       *attempt
	heldBody  bool
	closeOnce sync.Once
	closed    chan struct{}
}

func (c *gatedConn) Write(p []byte) (int, error) {
	if key, ok := requestHead(p); ok {
		c.mu.Lock()
		c.cur, c.heldBody = c.iv.attempt(key), false
		c.mu.Unlock()
		return c.Conn.Write(p)
	}
	n, err := c.Conn.Write(p)
	c.mu.Lock()
	a, hold := c.cur, c.cur != nil && !c.heldBody
	c.heldBody = true
	c.mu.Unlock()
	if hold {
		wait(a.sdkDone, c.closed)
	}
	return n, err
}

func (c *gatedConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	a := c.cur
	c.mu.Unlock()
	if a != nil && isClosed(a.sdkDone) {
		wait(a.settled, c.closed)
	}
	return c.Conn.Read(p)
}

func (c *gatedConn) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

// wait returns when either channel closes. The bound only turns a harness
// bug into a failed call instead of a hung test; no outcome depends on it.
func wait(a, b <-chan struct{}) {
	t := time.NewTimer(time.Minute)
	defer t.Stop()
	select {
	case <-a:
	case <-b:
	case <-t.C:
	}
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// requestHead parses p as an HTTP request head and returns its attempt key.
func requestHead(p []byte) (string, bool) {
	if !bytes.HasPrefix(p, []byte("POST ")) || !bytes.Contains(p, []byte("\r\n\r\n")) {
		return "", false
	}
	tp := textproto.NewReader(bufio.NewReader(bytes.NewReader(p)))
	if _, err := tp.ReadLine(); err != nil {
		return "", false
	}
	h, err := tp.ReadMIMEHeader()
	if err != nil && !errors.Is(err, io.EOF) {
		return "", false
	}
	return attemptKey(h), true
}
