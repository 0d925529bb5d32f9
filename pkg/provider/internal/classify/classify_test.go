package classify

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cogmail/cogmail/pkg/provider"
)

func TestHTTP(t *testing.T) {
	tests := []struct {
		status int
		want   provider.Class
	}{
		{400, provider.Permanent}, {413, provider.Permanent}, {422, provider.Permanent},
		{429, provider.RateLimited},
		{401, provider.Unavailable}, {402, provider.Unavailable}, {403, provider.Unavailable}, {404, provider.Unavailable},
		{408, provider.Unavailable}, {409, provider.Unavailable}, {418, provider.Unavailable},
		{500, provider.Unavailable}, {502, provider.Unavailable}, {503, provider.Unavailable}, {504, provider.Unavailable},
		{302, provider.Unavailable}, {0, provider.Unavailable},
	}
	for _, tt := range tests {
		if got := HTTP(tt.status); got != tt.want {
			t.Errorf("HTTP(%d) = %v, want %v", tt.status, got, tt.want)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name   string
		header http.Header
		want   time.Duration
	}{
		{"none", http.Header{}, 0},
		{"Retry-After seconds", http.Header{"Retry-After": {"30"}}, 30 * time.Second},
		{"Retry-After fraction", http.Header{"Retry-After": {"1.5"}}, 1500 * time.Millisecond},
		{"Retry-After zero", http.Header{"Retry-After": {"0"}}, 0},
		{"Retry-After negative", http.Header{"Retry-After": {"-5"}}, 0},
		{"Retry-After date", http.Header{"Retry-After": {now.Add(2 * time.Minute).Format(http.TimeFormat)}}, 2 * time.Minute},
		{"Retry-After past date", http.Header{"Retry-After": {now.Add(-time.Minute).Format(http.TimeFormat)}}, 0},
		{"Retry-After garbage falls through", http.Header{"Retry-After": {"soon"}, "X-Ratelimit-Reset": {"10"}}, 10 * time.Second},
		{"Retry-After wins", http.Header{"Retry-After": {"3"}, "X-Ratelimit-Reset": {"10"}}, 3 * time.Second},
		{"huge Retry-After", http.Header{"Retry-After": {"1e300"}}, MaxRetryAfter},
		{"reset epoch seconds", http.Header{"X-Ratelimit-Reset": {fmt.Sprint(now.Unix() + 45)}}, 45 * time.Second},
		{"reset epoch milliseconds", http.Header{"X-Ratelimit-Reset": {fmt.Sprint(now.UnixMilli() + 1500)}}, 1500 * time.Millisecond},
		{"reset delta", http.Header{"X-Ratelimit-Reset": {"60"}}, time.Minute},
		{"reset past", http.Header{"X-Ratelimit-Reset": {fmt.Sprint(now.Unix() - 5)}}, 0},
		{"reset far future", http.Header{"X-Ratelimit-Reset": {fmt.Sprint(now.Unix() + 10*86400)}}, MaxRetryAfter},
		{"reset garbage", http.Header{"X-Ratelimit-Reset": {"tomorrow"}}, 0},
		{"reset NaN", http.Header{"X-Ratelimit-Reset": {"NaN"}}, 0},
		{"reset huge", http.Header{"X-Ratelimit-Reset": {"9e99"}}, MaxRetryAfter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := RetryAfter(tt.header, now); got != tt.want {
				t.Errorf("RetryAfter = %v, want %v", got, tt.want)
			}
		})
	}
}

func FuzzRetryAfter(f *testing.F) {
	f.Add("30", "")
	f.Add("", "1893553475")
	f.Add("Wed, 21 Oct 2015 07:28:00 GMT", "1893553475000")
	f.Add("-Inf", "+Inf")
	f.Fuzz(func(t *testing.T, retryAfter, reset string) {
		h := http.Header{"Retry-After": {retryAfter}, "X-Ratelimit-Reset": {reset}}
		got := RetryAfter(h, time.Unix(1893553445, 0))
		if got < 0 || got > MaxRetryAfter || math.IsNaN(float64(got)) {
			t.Fatalf("RetryAfter(%q, %q) = %v", retryAfter, reset, got)
		}
	})
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestTransport(t *testing.T) {
	post := func(err error) error {
		return &url.Error{Op: "Post", URL: "https://api.example.com/v3/mail/send?key=SECRET", Err: err}
	}
	expired, cancel := context.WithDeadline(context.Background(), time.Unix(0, 0))
	defer cancel()
	canceled, cancel2 := context.WithCancel(context.Background())
	cancel2()
	tests := []struct {
		name   string
		ctx    context.Context
		err    error
		reason string
		is     error
	}{
		{"deadline", expired, post(errors.New("use of closed network connection")), "deadline exceeded before the provider answered", context.DeadlineExceeded},
		{"canceled", canceled, post(context.Canceled), "canceled before the provider answered", context.Canceled},
		{"client timeout", context.Background(), post(fmt.Errorf("%w (Client.Timeout exceeded)", context.DeadlineExceeded)), "timeout waiting for the provider", nil},
		{"net timeout", context.Background(), post(&net.OpError{Op: "read", Err: timeoutErr{}}), "timeout waiting for the provider", nil},
		{"reset", context.Background(), post(&net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ECONNRESET)}), "connection reset by the provider", syscall.ECONNRESET},
		{"refused", context.Background(), post(&net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}), "connection refused", nil},
		{"dns", context.Background(), post(&net.OpError{Op: "dial", Err: &net.DNSError{Err: "no such host", Name: "api.example.com"}}), "DNS lookup failed", nil},
		{"certificate", context.Background(), post(x509.UnknownAuthorityError{}), "TLS certificate verification failed", nil},
		{"eof", context.Background(), post(io.EOF), "connection closed by the provider before it answered", nil},
		{"other", context.Background(), post(errors.New("malformed HTTP response from ada@example.org")), "transport error: malformed HTTP response from [address]", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := Transport(tt.ctx, "p", tt.err)
			if e.Class != provider.Unavailable || e.Reason != tt.reason || e.Provider != "p" {
				t.Errorf("Transport = %+v, want unavailable with reason %q", e, tt.reason)
			}
			if tt.is != nil && !errors.Is(e, tt.is) {
				t.Errorf("errors.Is(%v, %v) = false", e, tt.is)
			}
			if strings.Contains(e.Error(), "SECRET") {
				t.Errorf("error %q quotes the URL", e)
			}
		})
	}
}

func TestInvalid(t *testing.T) {
	e := Invalid("p", errors.Join(errors.New("To is not a single valid address"), errors.New("Subject is empty")))
	if e.Class != provider.Permanent || e.Error() != "p: permanent: invalid message: To is not a single valid address; Subject is empty" {
		t.Errorf("Invalid = %q (%v)", e.Error(), e.Class)
	}
}
