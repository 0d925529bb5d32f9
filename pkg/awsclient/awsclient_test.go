package awsclient_test

import (
	"context"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/cogmail/cogmail/pkg/awsclient"
)

type recordingClient struct{ got *http.Request }

func (c *recordingClient) Do(r *http.Request) (*http.Response, error) {
	c.got = r
	return &http.Response{StatusCode: 200, Body: http.NoBody}, nil
}

// The transport sees the body without WriteTo, and the caller's request is
// left as it was.
func TestDoHidesWriteTo(t *testing.T) {
	rec := &recordingClient{}
	body := io.NopCloser(strings.NewReader("{}")) // strings.Reader has WriteTo
	req, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:1/", body)
	if _, err := awsclient.Wrap(rec).Do(req); err != nil {
		t.Fatal(err)
	}
	if _, ok := rec.got.Body.(io.WriterTo); ok {
		t.Error("the transport's body still has WriteTo")
	}
	if req.Body != body {
		t.Error("the caller's request was changed")
	}
	b, _ := io.ReadAll(rec.got.Body)
	if string(b) != "{}" {
		t.Errorf("body %q, want {}", b)
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
