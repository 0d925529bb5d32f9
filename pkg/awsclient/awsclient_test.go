package awsclient_test

import (
	"context"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/cogmail/cogmail/pkg/awsclient"
)

type recordingClient struct{ got *http.Request }

func (c *recordingClient) Do(r *http.Request) (*http.Response, error) {
	c.got = r
	return &http.Response{StatusCode: 200, Body: http.NoBody}, nil
}

// smithyBody is what smithy-go's Request.Build makes of an in-memory
// stream: once closed (as the SDK does as soon as Do returns), WriteTo
// returns io.EOF.
type smithyBody struct {
	mu     sync.Mutex
	r      *strings.Reader
	closed bool
}

func (b *smithyBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return 0, io.EOF
	}
	return b.r.Read(p)
}

func (b *smithyBody) WriteTo(w io.Writer) (int64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return 0, io.EOF
	}
	return b.r.WriteTo(w)
}

func (b *smithyBody) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	return nil
}

// The transport never gets the SDK's body: a body of known length is sent
// from a copy that the SDK's Close cannot end early, and any other body
// without its WriteTo. The caller's request is left as it was.
func TestDoNeverHandsOverTheSDKsBody(t *testing.T) {
	for _, length := range []int64{2, -1} {
		t.Run(fmt.Sprint("ContentLength ", length), func(t *testing.T) {
			rec := &recordingClient{}
			body := &smithyBody{r: strings.NewReader("{}")}
			req, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:1/", body)
			req.ContentLength = length
			if _, err := awsclient.Wrap(rec).Do(req); err != nil {
				t.Fatal(err)
			}
			if req.Body != body || req.ContentLength != length {
				t.Error("the caller's request was changed")
			}
			if rec.got.Body == io.ReadCloser(body) {
				t.Fatal("the transport got the SDK's body itself")
			}
			if length < 0 {
				if _, ok := rec.got.Body.(io.WriterTo); ok {
					t.Error("the transport's body still has the SDK's WriteTo")
				}
				return
			}
			_ = body.Close() // as the SDK does once Do returns
			var got strings.Builder
			if _, err := io.Copy(&got, rec.got.Body); err != nil || got.String() != "{}" {
				t.Errorf("the transport read (%q, %v) after the SDK closed its body, want (\"{}\", nil)", got.String(), err)
			}
			if _, err := io.Copy(io.Discard, rec.got.Body); err != nil {
				t.Errorf("the transport's last read of the body: %v, want nil (io.EOF here loses responses)", err)
			}
		})
	}
}

// countingConn counts the writes of a connection.
type countingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// A request's headers and body leave in one write (net/http flushes the
// headers first for a body it does not know is in memory), also for a body
// over net/http's default 4 KiB write buffer.
func TestOneWritePerRequest(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	defer srv.Close()
	var writes atomic.Int64
	sdk := awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			return countingConn{c, &writes}, err
		}
	})
	c := awsclient.Wrap(sdk)
	for _, size := range []int{1 << 10, 20 << 10} {
		t.Run(fmt.Sprint(size, " bytes"), func(t *testing.T) {
			payload := strings.Repeat("x", size)
			req, _ := http.NewRequest(http.MethodPost, srv.URL, &smithyBody{r: strings.NewReader(payload)})
			req.ContentLength = int64(size)
			before := writes.Load()
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if n := writes.Load() - before; n != 1 {
				t.Errorf("the request took %d writes, want 1", n)
			}
		})
	}
}

func TestWrapAndBounded(t *testing.T) {
	own := &recordingClient{}
	tests := []struct {
		name    string
		c       func() any
		wrapped bool
	}{
		{"Wrap(nil)", func() any { return awsclient.Wrap(nil) }, true},
		{"Wrap twice", func() any { return awsclient.Wrap(awsclient.Wrap(own)) }, true},
		{"HTTPClient", func() any { return awsclient.HTTPClient(time.Second) }, true},
		{"Bounded(nil)", func() any { return awsclient.Bounded(nil, time.Second) }, true},
		{"Bounded(own)", func() any { return awsclient.Bounded(own, time.Second) }, true},
		{"Config", func() any { return awsclient.Config("r", nil).HTTPClient }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.c()
			if got := awsclient.Wrapped(c.(interface {
				Do(*http.Request) (*http.Response, error)
			})); got != tt.wrapped {
				t.Errorf("Wrapped = %v, want %v", got, tt.wrapped)
			}
		})
	}
}

// Load wraps the client of every configuration it returns: the default, a
// caller's own, and the SDK's client to which AWS_CA_BUNDLE adds a bundle
// (which load refuses to do to any other client type).
func TestLoadWraps(t *testing.T) {
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	defer srv.Close()
	bundle := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(bundle, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		bundle string
		opts   []func(*config.LoadOptions) error
	}{
		{"default", "", nil},
		{"caller's client", "", []func(*config.LoadOptions) error{config.WithHTTPClient(&recordingClient{})}},
		{"with a timeout", "", []func(*config.LoadOptions) error{awsclient.WithTimeout(time.Second)}},
		{"CA bundle", bundle, nil},
		{"CA bundle and a timeout", bundle, []func(*config.LoadOptions) error{awsclient.WithTimeout(time.Second)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("AWS_REGION", "eu-west-1")
			t.Setenv("AWS_ACCESS_KEY_ID", "a")
			t.Setenv("AWS_SECRET_ACCESS_KEY", "b")
			t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
			t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
			t.Setenv("AWS_CA_BUNDLE", tt.bundle)
			cfg, err := awsclient.Load(context.Background(), tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if !awsclient.Wrapped(cfg.HTTPClient) {
				t.Fatal("Load's HTTP client is not wrapped")
			}
			if tt.bundle == "" {
				return
			}
			// The bundle made it through: the client trusts the test server.
			req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
			resp, err := cfg.HTTPClient.Do(req)
			if err != nil {
				t.Fatalf("TLS with the bundle: %v", err)
			}
			resp.Body.Close()
		})
	}
}
