// Package awsclient builds the AWS SDK configuration and HTTP client that
// every AWS client in cogmail uses: the Lambdas, the cogmail command, the
// local stack and the tests. Its reason to exist is one workaround, for a
// lost-response bug between smithy-go and Go's net/http (see HTTPClient and
// docs/upstream/smithy-go-writeto-eof.md); build clients from Load, Config or
// HTTPClient, never from config.LoadDefaultConfig or a bare aws.Config, so
// no client is built without it. A test in this package checks the module
// for clients built another way.
package awsclient

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
)

// HTTPClient returns the SDK's default HTTP client (pooled connections, the
// SDK's dial and TLS settings), bounded by timeout when it is positive, with
// the workaround applied.
//
// The workaround: smithy-go (v1.28.8, still in v1.28.9) wraps each request
// body in a closer whose WriteTo returns io.EOF once closed, and closes it as
// soon as client.Do returns. Go 1.26's transport reads the body once more
// after sending Content-Length bytes; when the response has already arrived
// (loopback speed) that read goes through WriteTo, the EOF is taken for a
// write error and the connection is closed under the response being read.
// The SDK then retries the call: a ReceiveMessage's first answer is lost
// (its messages stay invisible for the visibility timeout) and a
// SendMessage can be enqueued twice. Handing the transport a copy of the
// body (or, for a large one, the body without its WriteTo method) makes that
// last read the normal end of a body that nobody closed under it. The copy
// also lets net/http send the headers and the body in one write.
func HTTPClient(timeout time.Duration) aws.HTTPClient {
	return Wrap(buildable(timeout))
}

func buildable(timeout time.Duration) *awshttp.BuildableClient {
	c := awshttp.NewBuildableClient()
	if timeout > 0 {
		c = c.WithTimeout(timeout)
	}
	return c
}

// Bounded returns c bounded by timeout when c is the SDK's client without a
// timeout (nil, or as Load and Config set it; a custom CA bundle is kept),
// and c itself, wrapped, when it is a caller's own client or already bounded.
func Bounded(c aws.HTTPClient, timeout time.Duration) aws.HTTPClient {
	if w, ok := c.(client); ok {
		c = w.next
	}
	switch b := c.(type) {
	case nil:
		return HTTPClient(timeout)
	case *awshttp.BuildableClient:
		if b.GetTimeout() == 0 {
			return Wrap(b.WithTimeout(timeout))
		}
	}
	return Wrap(c)
}

// Wrap applies the workaround to an HTTP client (nil means the SDK's
// default). Wrapping twice is harmless.
func Wrap(c aws.HTTPClient) aws.HTTPClient {
	switch c := c.(type) {
	case nil:
		return Wrap(awshttp.NewBuildableClient())
	case client:
		return c
	case *awshttp.BuildableClient:
		return client{next: c.WithTransportOptions(func(t *http.Transport) { t.WriteBufferSize = max(t.WriteBufferSize, writeBuffer) })}
	default:
		return client{next: c}
	}
}

// Wrapped reports whether c carries the workaround (for tests and checks).
func Wrapped(c aws.HTTPClient) bool {
	_, ok := c.(client)
	return ok
}

// WithTimeout is a Load option: the SDK's HTTP client bounded by timeout.
func WithTimeout(timeout time.Duration) func(*config.LoadOptions) error {
	// The SDK's own client type, so that load can still add a custom CA
	// bundle (AWS_CA_BUNDLE) to it; Load wraps it afterwards.
	return config.WithHTTPClient(buildable(timeout))
}

// Load is config.LoadDefaultConfig with the workaround on the HTTP client
// of every service client built from the result; an option that sets its own
// HTTP client is honoured and wrapped. The clients that load itself builds
// for credentials (STS, SSO) keep the SDK's client: config.LoadDefaultConfig
// adds a custom CA bundle only to the SDK's own client type, and a retried
// credentials call costs nothing but a second set of credentials.
func Load(ctx context.Context, opts ...func(*config.LoadOptions) error) (aws.Config, error) {
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, err
	}
	cfg.HTTPClient = Wrap(cfg.HTTPClient)
	return cfg, nil
}

// Config is a configuration with a fixed region and credentials provider,
// for local endpoints and tests, with the workaround applied. Endpoints are
// set per client (BaseEndpoint).
func Config(region string, creds aws.CredentialsProvider) aws.Config {
	return aws.Config{Region: region, Credentials: creds, HTTPClient: HTTPClient(0)}
}

// With returns cfg with the workaround applied to its HTTP client, for a
// configuration that came from elsewhere (a caller's aws.Config).
func With(cfg aws.Config) aws.Config {
	cfg.HTTPClient = Wrap(cfg.HTTPClient)
	return cfg
}

type client struct{ next aws.HTTPClient }

// maxCopied is the largest request body Do sends from its own copy: every
// AWS call cogmail makes is a JSON document well below it (an SQS message
// is at most 256 KiB).
const maxCopied = 1 << 20

// writeBuffer is the transport's write buffer for the SDK's own client:
// with net/http's default of 4 KiB, a request over 4 KiB (an SQS message
// carrying a sealed email) still went out in two writes.
const writeBuffer = 64 << 10

func (c client) Do(r *http.Request) (*http.Response, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return c.next.Do(r)
	}
	// A RoundTripper must not change the caller's request: send a shallow
	// copy that carries another body.
	out := r.WithContext(r.Context())
	if n := r.ContentLength; n > 0 && n <= maxCopied {
		// The transport gets a copy in memory that nobody else closes: its
		// last read of the body is then always the copy's clean end, and a
		// *bytes.Reader is a body net/http knows is in memory, so it sends
		// the headers and the body in one write instead of flushing the
		// headers first.
		b := make([]byte, n)
		_, err := io.ReadFull(r.Body, b)
		_ = r.Body.Close() // the transport would have closed it
		if err != nil {
			return nil, fmt.Errorf("awsclient: reading the %d byte request body: %w", n, err)
		}
		out.Body = io.NopCloser(bytes.NewReader(b))
		out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
		return c.next.Do(out)
	}
	if _, ok := r.Body.(io.WriterTo); !ok {
		return c.next.Do(r)
	}
	// A body of unknown or large size: the same body without its WriteTo.
	out.Body = readCloser{r.Body}
	return c.next.Do(out)
}

// readCloser hides every method of the body but Read and Close.
type readCloser struct{ io.ReadCloser }
